"""Bodies and answers of upstream identity providers (``/v1/idps``).

``client_secret`` is write-only: an answer says only whether one is set
(``has_client_secret``).  It is kept encrypted (see
:mod:`federation_proxy.db.idps`), since the proxy must send it in clear
to the IdP's token endpoint.
"""

from federation_proxy import registration
from federation_proxy.schemas import community
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

URL = {'type': 'string', 'minLength': 1, 'maxLength': 255,
       'pattern': '^https?://[\\x21-\\x7e]+$'}
CLIENT_ID = {'type': 'string', 'minLength': 1, 'maxLength': 255,
             'pattern': '^[\\x21-\\x7e]+$'}
# A Fernet token of 100 characters stays within the 255 of the column.
CLIENT_SECRET = {'type': 'string', 'minLength': 1, 'maxLength': 100,
                 'pattern': '^[\\x21-\\x7e]+$'}
SCOPE = {'type': 'string', 'minLength': 1, 'maxLength': 64,
         'pattern': '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$'}
SCOPES = {'type': 'array', 'items': SCOPE, 'minItems': 1, 'maxItems': 16,
          'uniqueItems': True}
CLAIM = {'type': 'string', 'minLength': 1, 'maxLength': 64,
         'pattern': '^[A-Za-z0-9_.:/-]+$'}
CLAIM_MAPPING = {
    'type': 'object',
    'properties': {name: CLAIM
                   for name in registration.DEFAULT_CLAIM_MAPPING},
    'additionalProperties': False,
}
ENDPOINTS = ('authorization_endpoint', 'token_endpoint', 'jwks_uri',
             'userinfo_endpoint')

_COMMON = dict({
    'name': community.GROUP_NAME,
    'client_id': CLIENT_ID,
    'client_secret': dict(parameter_types.nullable(CLIENT_SECRET),
                          writeOnly=True),
    'scopes': SCOPES,
    'claim_mapping': CLAIM_MAPPING,
    'enabled': {'type': 'boolean'},
    # Fetch <issuer>/.well-known/openid-configuration and take the
    # endpoints from it.
    'discover': {'type': 'boolean'},
}, **{name: parameter_types.nullable(URL) for name in ENDPOINTS})

IDP_CREATE = {
    'type': 'object',
    'properties': dict(_COMMON, issuer=URL),
    'required': ['name', 'issuer', 'client_id'],
    'additionalProperties': False,
}

IDP_UPDATE = {
    'type': 'object',
    'properties': dict(_COMMON),
    'minProperties': 1,
    'additionalProperties': False,
}

_S = {'type': 'string'}
_NS = response_types.NULLABLE_STRING

IDP = response_types.obj(dict({
    'id': _S, 'name': _S, 'issuer': _S, 'client_id': _S,
    'has_client_secret': {'type': 'boolean'},
    'scopes': {'type': 'array', 'items': _S},
    'claim_mapping': {'type': 'object',
                      'additionalProperties': {'type': 'string'}},
    'enabled': {'type': 'boolean'},
    'created_at': response_types.TIMESTAMP,
}, **{name: _NS for name in ENDPOINTS}))

RESPONSE_IDP = response_types.member('idp', IDP)
RESPONSE_IDPS = response_types.collection('idps', IDP)
