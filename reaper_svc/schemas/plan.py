"""Schemas of POST /v1/plans: a dry run of victim selection."""

from reaper_svc.schemas import common
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

#: Most servers one plan may ask room for.
MAX_COUNT = 1000

CREATE = {
    'type': 'object',
    'properties': {
        'flavor': common.FLAVOR,
        'resources': common.RESOURCES,
        'count': parameter_types.amount(1, MAX_COUNT),
        'aggregates': {'type': 'array', 'items': common.ZONE,
                       'minItems': 1, 'maxItems': 64, 'uniqueItems': True},
        'availability_zone': common.ZONE,
        'required_traits': {'type': 'array', 'items': common.TRAIT,
                            'maxItems': 64, 'uniqueItems': True},
    },
    # A flavor of the cloud, or the resources of one server: not both.
    'oneOf': [{'required': ['flavor']}, {'required': ['resources']}],
    'additionalProperties': False,
}

PLAN_VICTIM = response_types.obj({
    'server_id': {'type': 'string'},
    'host': {'type': 'string'},
    'project_id': response_types.NULLABLE_STRING,
    'resources': response_types.AMOUNTS,
})

PLAN = response_types.obj({
    'outcome': {'type': 'string', 'enum': ['victims', 'fits']},
    'strategy': {'type': 'string'},
    'request': common.RESPONSE_REQUEST,
    'victims': {'type': 'array', 'items': PLAN_VICTIM},
    'hosts': {'type': 'array', 'items': {'type': 'string'}},
    'wasted': {'type': 'number'},
})

RESPONSE_PLAN = response_types.member('plan', PLAN)
