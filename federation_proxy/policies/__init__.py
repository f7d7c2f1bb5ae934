"""Policy defaults of federation_proxy, one module per resource."""

from svc_common import personas
from svc_common import policy

from federation_proxy.policies import community
from federation_proxy.policies import oidc
from federation_proxy.policies import registry
from federation_proxy import service


def list_rules():
    return (personas.base_rules() +
            personas.root_rules(service.SPEC.namespace) +
            community.list_rules() + registry.list_rules() +
            oidc.list_rules())


def get_enforcer():
    """For the oslopolicy-* command-line tools."""
    return policy.enforcer_for_tools(service.SPEC)
