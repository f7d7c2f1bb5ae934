"""Policy defaults of image_family_svc, one module per resource."""

from svc_common import personas
from svc_common import policy

from image_family_svc.policies import family
from image_family_svc.policies import image
from image_family_svc import service


def list_rules():
    return (personas.base_rules() +
            personas.root_rules(service.SPEC.namespace) +
            family.list_rules() + image.list_rules())


def get_enforcer():
    """For the oslopolicy-* command-line tools."""
    return policy.enforcer_for_tools(service.SPEC)
