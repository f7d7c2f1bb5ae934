"""Schemas of /v1/pending: pending requests for servers."""

from reaper_svc.conf import preemption as preemption_conf
from reaper_svc.db import pending as pending_db
from reaper_svc.schemas import common
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

#: Most servers of one kind in a request, and most kinds.
MAX_COUNT = 1000
MAX_SERVER_SPECS = 16
#: Longest guaranteed minimum runtime: 30 days, in seconds (``[preemption]
#: max_guaranteed_runtime`` may lower it; see
#: :func:`reaper_svc.api.pending.check_min_runtime`).
MAX_MIN_RUNTIME = preemption_conf.MAX_GUARANTEED_RUNTIME

SERVER_SPEC = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string', 'minLength': 1, 'maxLength': 255,
                 'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]+$'},
        'flavor': common.FLAVOR,
        'image': parameter_types.ID,
        'networks': {'type': 'array', 'items': parameter_types.ID,
                     'maxItems': 16, 'uniqueItems': True},
        'count': parameter_types.amount(1, MAX_COUNT),
    },
    'required': ['name', 'flavor', 'image'],
    'additionalProperties': False,
}

CREATE = {
    'type': 'object',
    'properties': {
        'servers': {'type': 'array', 'items': SERVER_SPEC, 'minItems': 1,
                    'maxItems': MAX_SERVER_SPECS},
        'all_or_nothing': {'type': 'boolean'},
        'min_runtime': parameter_types.nullable(
            parameter_types.amount(1, MAX_MIN_RUNTIME)),
        'deadline': parameter_types.nullable(
            {'type': 'string', 'minLength': 1, 'maxLength': 64,
             'pattern': '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+'
                        '(Z|[+-][0-9]{2}:[0-9]{2})?$'}),
    },
    'required': ['servers'],
    'additionalProperties': False,
}

LIST_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'], **{
        'state': {'type': 'string', 'enum': list(pending_db.STATES)},
        'project_id': parameter_types.ID,
    }),
}

RESPONSE_SERVER_SPEC = response_types.obj({
    'name': {'type': 'string'},
    'flavor': {'type': 'string'},
    'image': {'type': 'string'},
    'networks': {'type': 'array', 'items': {'type': 'string'}},
    'count': {'type': 'integer'},
})

PENDING = response_types.obj({
    'id': {'type': 'string'},
    'project_id': {'type': 'string'},
    'user_id': response_types.NULLABLE_STRING,
    'servers': {'type': 'array', 'items': RESPONSE_SERVER_SPEC},
    'count': {'type': 'integer'},
    'all_or_nothing': {'type': 'boolean'},
    'min_runtime': {'type': ['integer', 'null']},
    'deadline': response_types.NULLABLE_TIMESTAMP,
    'state': {'type': 'string', 'enum': list(pending_db.STATES)},
    'reason': response_types.NULLABLE_STRING,
    'server_ids': {'type': 'array', 'items': {'type': 'string'}},
    'trusted': {'type': 'boolean'},
    'created_at': response_types.TIMESTAMP,
    'updated_at': response_types.TIMESTAMP,
})

RESPONSE_PENDING = response_types.member('pending', PENDING)
RESPONSE_PENDING_LIST = response_types.collection('pending', PENDING)
