"""Registered limits and project limits: bodies, list queries, answers."""

from limits_svc.schemas import common
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

_SCOPE = {'enum': ['project', 'subtree']}

REGISTERED_CREATE = {
    'type': 'object',
    'properties': {
        'service_id': common.ID,
        'region_id': common.NULLABLE_ID,
        'resource_name': common.RESOURCE_NAME,
        'default_limit': common.LIMIT_VALUE,
        'description': common.DESCRIPTION,
    },
    'required': ['service_id', 'resource_name', 'default_limit'],
    'additionalProperties': False,
}

REGISTERED_UPDATE = {
    'type': 'object',
    'properties': {
        'default_limit': common.LIMIT_VALUE,
        'description': common.DESCRIPTION,
    },
    'minProperties': 1,
    'additionalProperties': False,
}

LIMIT_CREATE = {
    'type': 'object',
    'properties': {
        'project_id': common.ID,
        'service_id': common.ID,
        'region_id': common.NULLABLE_ID,
        'resource_name': common.RESOURCE_NAME,
        'resource_limit': common.LIMIT_VALUE,
        'scope': _SCOPE,
        'description': common.DESCRIPTION,
    },
    'required': ['project_id', 'service_id', 'resource_name',
                 'resource_limit'],
    'additionalProperties': False,
}

LIMIT_UPDATE = {
    'type': 'object',
    'properties': {
        'resource_limit': common.LIMIT_VALUE,
        'description': common.DESCRIPTION,
    },
    'minProperties': 1,
    'additionalProperties': False,
}


REGISTERED_LIST_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'],
                       service_id=common.ID, region_id=common.ID,
                       resource_name=common.RESOURCE_NAME),
}

LIMIT_LIST_QUERY = {
    'type': 'object',
    'properties': dict(REGISTERED_LIST_QUERY['properties'],
                       project_id=common.ID, scope=_SCOPE),
}

_STRING = {'type': 'string'}

REGISTERED_LIMIT = response_types.obj({
    'id': _STRING,
    'service_id': _STRING,
    'region_id': response_types.NULLABLE_STRING,
    'resource_name': _STRING,
    'default_limit': {'type': 'integer', 'minimum': -1},
    'description': response_types.NULLABLE_STRING,
})

PROJECT_LIMIT = response_types.obj({
    'id': _STRING,
    'project_id': response_types.NULLABLE_STRING,
    'domain_id': response_types.NULLABLE_STRING,
    'service_id': _STRING,
    'region_id': response_types.NULLABLE_STRING,
    'resource_name': _STRING,
    'resource_limit': {'type': 'integer', 'minimum': -1},
    'scope': _SCOPE,
    'description': response_types.NULLABLE_STRING,
})

RESPONSE_REGISTERED_LIMIT = response_types.member('registered_limit',
                                                  REGISTERED_LIMIT)
RESPONSE_REGISTERED_LIMITS = response_types.collection('registered_limits',
                                                       REGISTERED_LIMIT)
RESPONSE_LIMIT = response_types.member('limit', PROJECT_LIMIT)
RESPONSE_LIMITS = response_types.collection('limits', PROJECT_LIMIT)
