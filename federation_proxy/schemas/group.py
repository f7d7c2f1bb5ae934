"""Bodies and answers of a VO's groups and roles."""

from federation_proxy.schemas import community
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

GROUP_CREATE = {
    'type': 'object',
    'properties': {
        'name': community.GROUP_NAME,
        # The parent group; the VO's root group when absent or null.
        'parent_id': parameter_types.NULLABLE_ID,
        'description': community.DESCRIPTION,
    },
    'required': ['name'],
    'additionalProperties': False,
}

ROLE_CREATE = {
    'type': 'object',
    'properties': {
        'name': community.ROLE_NAME,
        'description': community.DESCRIPTION,
    },
    'required': ['name'],
    'additionalProperties': False,
}

LIST_QUERY = community.LIST_QUERY

_S = {'type': 'string'}
_NS = response_types.NULLABLE_STRING

GROUP = response_types.obj({
    'id': _S, 'vo_id': _S, 'parent_id': _NS, 'path': _S,
    'description': _NS, 'created_at': response_types.TIMESTAMP})
ROLE = response_types.obj({
    'id': _S, 'vo_id': _S, 'name': _S, 'description': _NS,
    'builtin': {'type': 'boolean'}})

RESPONSE_GROUP = response_types.member('group', GROUP)
RESPONSE_GROUPS = response_types.collection('groups', GROUP)
RESPONSE_ROLE = response_types.member('role', ROLE)
RESPONSE_ROLES = response_types.collection('roles', ROLE)
