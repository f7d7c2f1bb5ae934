"""/v1/families: bodies of POST and PATCH, list query, answers."""

from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

#: A family name: what can sit in a URL path as it is.
NAME = parameter_types.id_string('A-Za-z0-9_.-', max_length=64)
VISIBILITY = {'type': 'string', 'enum': ['public', 'private']}
KEEP_SUPERSEDED = parameter_types.nullable(parameter_types.amount(0, 1000))
#: A JSON schema of the properties members must carry; checked as a
#: schema by the handler.
PROPERTIES_SCHEMA = {'type': 'object', 'maxProperties': 64}

CREATE = {
    'type': 'object',
    'properties': {
        'name': NAME,
        'project_id': parameter_types.NULLABLE_ID,
        'visibility': VISIBILITY,
        'properties_schema': PROPERTIES_SCHEMA,
        'keep_superseded': KEEP_SUPERSEDED,
        'description': parameter_types.DESCRIPTION,
    },
    'required': ['name'],
    'additionalProperties': False,
}

UPDATE = {
    'type': 'object',
    'properties': {
        'visibility': VISIBILITY,
        'properties_schema': PROPERTIES_SCHEMA,
        'keep_superseded': KEEP_SUPERSEDED,
        'description': parameter_types.DESCRIPTION,
    },
    'minProperties': 1,
    'additionalProperties': False,
}

LIST_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'],
                       project_id=parameter_types.ID,
                       visibility=VISIBILITY),
}

FAMILY = response_types.obj({
    'name': {'type': 'string'},
    'project_id': response_types.NULLABLE_STRING,
    'visibility': VISIBILITY,
    'properties_schema': {'type': 'object'},
    'keep_superseded': {'type': ['integer', 'null']},
    'description': response_types.NULLABLE_STRING,
    'latest_id': response_types.NULLABLE_STRING,
    'created_at': response_types.TIMESTAMP,
    'updated_at': response_types.NULLABLE_TIMESTAMP,
})

RESPONSE_FAMILY = response_types.member('family', FAMILY)
RESPONSE_FAMILIES = response_types.collection('families', FAMILY)
