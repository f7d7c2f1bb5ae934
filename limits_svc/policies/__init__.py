"""Policy defaults of limits_svc, one module per resource."""

from svc_common import personas
from svc_common import policy

from limits_svc.policies import allocation
from limits_svc.policies import limit
from limits_svc.policies import project
from limits_svc import service


def list_rules():
    return (personas.base_rules() +
            personas.root_rules(service.SPEC.namespace) +
            project.list_rules() + limit.list_rules() +
            allocation.list_rules())


def get_enforcer():
    """For the oslopolicy-* command-line tools."""
    return policy.enforcer_for_tools(service.SPEC)
