"""Bodies of POST /v1/projects and PATCH /v1/projects/{id}."""

from limits_svc.schemas import common

CREATE = {
    'type': 'object',
    'properties': {
        'id': common.ID,
        'name': common.NAME,
        'parent_id': common.NULLABLE_ID,
        'domain_id': common.ID,
    },
    'required': ['id'],
    'additionalProperties': False,
}

UPDATE = {
    'type': 'object',
    'properties': {
        'name': common.NAME,
        'parent_id': common.NULLABLE_ID,
    },
    'minProperties': 1,
    'additionalProperties': False,
}
