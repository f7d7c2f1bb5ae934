"""/v1/allocations, /v1/enforce and /v1/usages: bodies, list query,
answers."""

from limits_svc.schemas import common
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

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

LIST_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'],
                       project_id=common.ID),
}

ALLOCATION = response_types.obj({
    'consumer_id': {'type': 'string'},
    'project_id': {'type': 'string'},
    'resources': response_types.AMOUNTS,
    'expires_at': response_types.NULLABLE_TIMESTAMP,
    # Changed by every write; the allocation's ETag is it in quotes.  Null
    # in the answer of a PUT that left nothing.
    'generation': {'type': ['integer', 'null']},
})

RESPONSE_ALLOCATION = response_types.member('allocation', ALLOCATION)
RESPONSE_ALLOCATIONS = response_types.collection('allocations', ALLOCATION)

#: A limit the allocation would exceed (also ``blocking`` of the
#: ``limits.over_limit`` error).
VIOLATION = response_types.obj({
    'project_id': {'type': 'string'},
    'resource': {'type': 'string'},
    'scope': {'enum': ['project', 'subtree']},
    'limit': {'type': 'integer'},
    'usage': {'type': 'integer'},
    'delta': {'type': 'integer'},
})

RESPONSE_ENFORCE = response_types.obj({
    'allowed': {'type': 'boolean'},
    'deltas': response_types.AMOUNTS,
    'blocking': {'type': 'array', 'items': VIOLATION},
})

RESPONSE_RECONCILE = response_types.obj({
    'project_id': {'type': 'string'},
    'adjusted': response_types.AMOUNTS,
})
