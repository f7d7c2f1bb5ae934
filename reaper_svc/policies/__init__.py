"""Policy defaults of reaper_svc, one module per resource."""

from svc_common import personas
from svc_common import policy

from reaper_svc.policies import action
from reaper_svc.policies import capacity
from reaper_svc.policies import pending
from reaper_svc.policies import plan
from reaper_svc import service


def list_rules():
    return (personas.base_rules() + personas.root_rules(service.SPEC.namespace)
            + action.list_rules() + plan.list_rules() + pending.list_rules()
            + capacity.list_rules())


def get_enforcer():
    """For the oslopolicy-* command-line tools."""
    return policy.enforcer_for_tools(service.SPEC)
