"""Schemas of /v1/actions: the list's query and the answers."""

from reaper_svc import action_states
from reaper_svc.schemas import common
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

LIST_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'], **{
        'state': {'type': 'string', 'enum': list(action_states.STATES)},
        'trigger': common.WORD,
        'project_id': parameter_types.ID,
    }),
}

VICTIM = response_types.obj({
    'server_id': {'type': 'string'},
    'host': {'type': 'string'},
    'project_id': response_types.NULLABLE_STRING,
    'resources': response_types.AMOUNTS,
    'state': {'type': 'string'},
})

ACTION = response_types.obj({
    'id': {'type': 'string'},
    'state': {'type': 'string', 'enum': list(action_states.STATES)},
    'trigger': {'type': 'string'},
    'trigger_id': response_types.NULLABLE_STRING,
    'project_id': response_types.NULLABLE_STRING,
    'strategy': {'type': 'string'},
    # null for a project's callers when another project triggered it.
    'request': {'anyOf': [common.RESPONSE_REQUEST, {'type': 'null'}]},
    'wasted': {'type': 'number'},
    'reason': response_types.NULLABLE_STRING,
    'victims': {'type': 'array', 'items': VICTIM},
    'created_at': response_types.TIMESTAMP,
    'updated_at': response_types.TIMESTAMP,
    'noticed_at': response_types.NULLABLE_TIMESTAMP,
    'delete_after': response_types.NULLABLE_TIMESTAMP,
    'finished_at': response_types.NULLABLE_TIMESTAMP,
})

RESPONSE_ACTION = response_types.member('action', ACTION)
RESPONSE_ACTIONS = response_types.collection('actions', ACTION)
