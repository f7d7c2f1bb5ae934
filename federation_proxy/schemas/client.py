"""Bodies and answers of relying-party clients (``/v1/clients``).

A confidential client's secret is in the answer of its creation (and of
a ``rotate_secret`` update) only; the proxy keeps its SHA-256 hash.
"""

from federation_proxy import registration
from federation_proxy.schemas import community
from federation_proxy.schemas import idp
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

REDIRECT_URI = {'type': 'string', 'minLength': 1, 'maxLength': 1024,
                'pattern': '^[A-Za-z][A-Za-z0-9+.-]*://[\\x21-\\x7e]+$'}
REDIRECT_URIS = {'type': 'array', 'items': REDIRECT_URI, 'maxItems': 20,
                 'uniqueItems': True}
GRANT_TYPES = {'type': 'array', 'items': {'enum':
                                          list(registration.GRANT_TYPES)},
               'minItems': 1, 'uniqueItems': True}

CLIENT_CREATE = {
    'type': 'object',
    'properties': {
        'id': parameter_types.ID,
        'name': community.SUBJECT,
        'redirect_uris': REDIRECT_URIS,
        'grant_types': GRANT_TYPES,
        'scopes': idp.SCOPES,
        # A public client (a command-line tool, a browser application)
        # has no secret and must use PKCE or the device grant.
        'public': {'type': 'boolean'},
    },
    'required': ['name', 'grant_types'],
    'additionalProperties': False,
}

CLIENT_UPDATE = {
    'type': 'object',
    'properties': {
        'name': community.SUBJECT,
        'redirect_uris': REDIRECT_URIS,
        'grant_types': GRANT_TYPES,
        'scopes': idp.SCOPES,
        # A new secret, returned in this answer; the old one stops
        # working at once.
        'rotate_secret': {'enum': [True]},
    },
    'minProperties': 1,
    'additionalProperties': False,
}

_S = {'type': 'string'}
_STRINGS = {'type': 'array', 'items': _S}

CLIENT = response_types.obj({
    'id': _S, 'name': _S, 'redirect_uris': _STRINGS,
    'grant_types': _STRINGS, 'scopes': _STRINGS,
    'public': {'type': 'boolean'},
    'created_at': response_types.TIMESTAMP,
    'secret': _S}, optional=('secret',))

RESPONSE_CLIENT = response_types.member('client', CLIENT)
RESPONSE_CLIENTS = response_types.collection('clients', CLIENT)
