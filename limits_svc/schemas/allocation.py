"""Bodies of PUT /v1/allocations/{consumer_id} and POST /v1/enforce."""

from limits_svc.schemas import common
from svc_common.schemas import parameter_types

PUT = {
    'type': 'object',
    'properties': {
        'project_id': common.ID,
        'resources': common.RESOURCES,
        'expires_in': parameter_types.amount(minimum=1,
                                             maximum=7 * 24 * 3600),
    },
    'required': ['project_id', 'resources'],
    'additionalProperties': False,
}

ENFORCE = {
    'type': 'object',
    'properties': {
        'project_id': common.ID,
        'resources': common.RESOURCES,
        'consumer_id': common.ID,
    },
    'required': ['project_id', 'resources'],
    'additionalProperties': False,
}

RECONCILE = {
    'type': 'object',
    'properties': {'resources': common.RESOURCES},
    'required': ['resources'],
    'additionalProperties': False,
}

# The consumer id in the URL.
PUT_CONSUMER = common.ID
