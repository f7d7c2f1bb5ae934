"""Schemas of GET /v1/capacity."""

from reaper_svc.schemas import common
from svc_common.schemas import response_types

QUERY = {'type': 'object', 'properties': {'aggregate': common.ZONE}}

FIGURES = response_types.obj({
    'total': {'type': 'integer'},
    'used': {'type': 'integer'},
    'preemptible': {'type': 'integer'},
    'free': {'type': 'integer'},
})

AGGREGATE = response_types.obj({
    'aggregate': {'type': 'string'},
    'hosts': {'type': 'integer'},
    'resources': {'type': 'object', 'additionalProperties': FIGURES},
})

RESPONSE_CAPACITY = response_types.obj({
    'capacity': {'type': 'array', 'items': AGGREGATE}})
