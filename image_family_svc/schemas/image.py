"""/v1/images and /v1/families/{name}/images: bodies, queries, answers."""

from image_family_svc import lifecycle
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

#: Glance image IDs are UUIDs; any ID of the common characters is taken.
IMAGE_ID = parameter_types.ID
STATE = {'type': 'string', 'enum': list(lifecycle.STATES)}
REQUESTABLE_STATE = {'type': 'string', 'enum': list(lifecycle.REQUESTABLE)}
VERSION = {'type': 'string', 'minLength': 1, 'maxLength': 255,
           'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]*$'}
#: Image properties as Glance carries them: string values mostly.
PROPERTIES = {
    'type': 'object',
    'maxProperties': 128,
    # Names and values are one line: no control characters (a value's
    # pattern applies to strings only).
    'propertyNames': {'type': 'string', 'minLength': 1, 'maxLength': 255,
                      'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]*$'},
    'additionalProperties': {'type': ['string', 'integer', 'boolean',
                                      'null'], 'maxLength': 255,
                             'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]*$'},
}

ADD = {
    'type': 'object',
    'properties': {
        'image_id': IMAGE_ID,
        'version': VERSION,
        'properties': PROPERTIES,
        'state': {'type': 'string',
                  'enum': [lifecycle.TESTING, lifecycle.BETA,
                           lifecycle.ACTIVE]},
    },
    'required': ['image_id'],
    'additionalProperties': False,
}

TRANSITION = {
    'type': 'object',
    'properties': {
        'to': REQUESTABLE_STATE,
        'at': {'type': 'string', 'minLength': 1, 'maxLength': 64},
        # One line of text, as it is shown in the history.
        'reason': parameter_types.nullable({
            'type': 'string', 'maxLength': 2048,
            'pattern': '^[^\\x00-\\x1f\\x7f-\\x9f]*$'}),
    },
    'required': ['to'],
    'additionalProperties': False,
}

_BOOL = {'type': 'string', 'enum': ['true', 'false', '1', '0', 'yes', 'no',
                                    'on', 'off']}

LIST_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'],
                       latest=_BOOL, family=parameter_types.ID,
                       state=STATE),
}

FAMILY_IMAGES_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'],
                       state=STATE),
}

#: The history of an image: ``marker`` is the ``id`` of the last entry
#: of the previous page (history ids are numbers).
TRANSITIONS_QUERY = {
    'type': 'object',
    'properties': dict(parameter_types.PAGINATION['properties'],
                       marker={'type': 'string',
                               'pattern': '^[0-9]{1,18}$'}),
}

LATEST_QUERY = {
    'type': 'object',
    'properties': {'channel': {'type': 'string',
                               'enum': list(lifecycle.CHANNELS)}},
}

SCHEDULED = response_types.obj({
    'id': {'type': 'string'},
    'to': {'type': 'string'},
    'at': response_types.TIMESTAMP,
    'reason': response_types.NULLABLE_STRING,
    'user_id': response_types.NULLABLE_STRING,
    'status': {'type': 'string'},
    'detail': response_types.NULLABLE_STRING,
})

IMAGE = response_types.obj({
    'image_id': {'type': 'string'},
    'family': {'type': 'string'},
    # The project that owns the family (null: the cloud's).
    'family_project_id': response_types.NULLABLE_STRING,
    'version': response_types.NULLABLE_STRING,
    'state': STATE,
    'joined_at': response_types.TIMESTAMP,
    'state_changed_at': response_types.TIMESTAMP,
    'successor_id': response_types.NULLABLE_STRING,
    'latest_id': response_types.NULLABLE_STRING,
    'scheduled': {'type': 'array', 'items': SCHEDULED},
    'may_boot': {'type': 'boolean'},
    'usage': response_types.obj({'servers': {'type': 'integer'}}),
    'properties': {'type': 'object'},
})

RESPONSE_IMAGE = response_types.member('image', IMAGE)
RESPONSE_IMAGES = response_types.collection('images', IMAGE)
RESPONSE_LATEST = response_types.obj({
    'family': {'type': 'string'},
    'channel': {'type': 'string'},
    'image': {'anyOf': [IMAGE, {'type': 'null'}]},
})

HISTORY = response_types.obj({
    'id': {'type': 'string'},
    'from': response_types.NULLABLE_STRING,
    'to': response_types.NULLABLE_STRING,
    'at': response_types.TIMESTAMP,
    'user_id': response_types.NULLABLE_STRING,
    'reason': response_types.NULLABLE_STRING,
    'cause': {'type': 'string'},
})

RESPONSE_TRANSITION = response_types.obj({
    'image': IMAGE,
    'scheduled': {'anyOf': [SCHEDULED, {'type': 'null'}]},
})
RESPONSE_TRANSITIONS = response_types.obj({
    'image_id': {'type': 'string'},
    'transitions': {'type': 'array', 'items': HISTORY},
    'scheduled': {'type': 'array', 'items': SCHEDULED},
    'links': response_types.LINKS,
})

RESPONSE_USAGE = response_types.obj({
    'image_id': {'type': 'string'},
    'servers': {'type': 'integer'},
    'updated_at': response_types.NULLABLE_TIMESTAMP,
})
