"""Schemas of the login endpoints' query parameters and answers."""

from svc_common.schemas import parameter_types
from svc_common.schemas import response_types as rt

_FIELD = {'type': 'string', 'maxLength': 4096}

_NEXT = {'type': 'string', 'maxLength': 4096,
         'description': 'Where to continue once logged in: only the '
                        'proxy\'s own /oidc/authorize?... request.'}

_PROMPT = {'type': 'string', 'enum': ['login'],
           'description': 'Ask the IdP to authenticate the person again.'}
_MAX_AGE = {'type': 'string', 'pattern': '^[0-9]{1,10}$',
            'description': 'Ask the IdP for an authentication at most '
                           'this many seconds old.'}

LOGIN_QUERY = {
    'type': 'object',
    'properties': {
        'idp': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'link': {'type': 'string', 'enum': ['true', 'false']},
        'next': _NEXT, 'prompt': _PROMPT, 'max_age': _MAX_AGE,
        'csrf_token': {
            'type': 'string', 'maxLength': 128,
            'description': 'With link=true, from a browser that sends no '
                           'Sec-Fetch-Site: the token the IdP chooser\'s '
                           'login URLs carry for the session.'},
    },
}

#: ``POST /v1/logout`` takes no body (or an empty object).
LOGOUT_REQUEST = {'type': 'object', 'additionalProperties': False}

CHOOSER_QUERY = {
    'type': 'object',
    'properties': dict(
        parameter_types.PAGINATION['properties'],
        link={'type': 'string', 'enum': ['true', 'false']},
        next=_NEXT, prompt=_PROMPT, max_age=_MAX_AGE),
}

RESPONSE_CHOOSER = rt.obj({
    'idps': {'type': 'array', 'items': rt.obj({
        'id': {'type': 'string'},
        'name': {'type': 'string'},
        'issuer': {'type': 'string'},
        'login': {'type': 'string'},
    })},
    'links': rt.LINKS,
})

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
    # What this IdP said of the person, through its claim mapping.
    'claims': {'type': 'object', 'properties': {
        name: {'type': ['string', 'array']}
        for name in ('name', 'email', 'affiliation', 'assurance')},
        'additionalProperties': False},
})
