"""Bodies of the registered-limit and project-limit requests."""

from limits_svc.schemas import common

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
        'scope': {'enum': ['project', 'subtree']},
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
