"""Schemas of the login endpoints' query parameters and answers."""

from svc_common.schemas import response_types as rt

_FIELD = {'type': 'string', 'maxLength': 4096}

LOGIN_QUERY = {
    'type': 'object',
    'properties': {
        'idp': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'link': {'type': 'string', 'enum': ['true', 'false']},
    },
    'required': ['idp'],
}

CALLBACK_QUERY = {
    'type': 'object',
    'properties': {
        'state': _FIELD, 'code': _FIELD, 'iss': _FIELD,
        'error': _FIELD, 'error_description': _FIELD,
        'session_state': _FIELD,
    },
    'required': ['state'],
}

RESPONSE_LOGIN = rt.obj({
    'user_id': {'type': 'string'},
    'created': {'type': 'boolean'},
    'linked': {'type': 'boolean'},
    'issuer': {'type': 'string'},
    'subject': {'type': 'string'},
    'expires_in': {'type': 'integer'},
})
