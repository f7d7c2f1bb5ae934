"""Schemas of the OIDC provider's requests (form fields) and answers.

Form fields are strings; the handlers check their meaning and answer an
RFC 6749 error, so these schemas only bound what a field can be.
"""

from svc_common.schemas import response_types as rt

_FIELD = {'type': 'string', 'maxLength': 4096}
#: A client's secret: never repeated in an error (see
#: svc_common.api.validation.validate).
_SECRET_FIELD = dict(_FIELD, writeOnly=True)
_TOKEN_FIELD = {'type': 'string', 'maxLength': 16384}

TOKEN_REQUEST = {
    'type': 'object',
    'properties': {
        'grant_type': {'type': 'string', 'enum': [
            'authorization_code', 'refresh_token', 'client_credentials',
            'urn:ietf:params:oauth:grant-type:device_code']},
        'code': _FIELD, 'redirect_uri': _FIELD, 'code_verifier': _FIELD,
        'device_code': _FIELD,
        'refresh_token': _FIELD, 'scope': _FIELD, 'client_id': _FIELD,
        'client_secret': _SECRET_FIELD,
    },
    'required': ['grant_type'],
}

TOKEN_HANDLE_REQUEST = {
    'type': 'object',
    'properties': {
        'token': _TOKEN_FIELD,
        'token_type_hint': {'type': 'string', 'enum': [
            'access_token', 'refresh_token']},
        'client_id': _FIELD, 'client_secret': _SECRET_FIELD,
    },
    'required': ['token'],
}

DEVICE_AUTHORIZATION_REQUEST = {
    'type': 'object',
    'properties': {'client_id': _FIELD, 'client_secret': _SECRET_FIELD,
                   'scope': _FIELD},
}

DEVICE_QUERY = {
    'type': 'object',
    'properties': {'user_code': {'type': 'string', 'maxLength': 32}},
}

DEVICE_DECISION_REQUEST = {
    'type': 'object',
    'properties': {
        'user_code': {'type': 'string', 'maxLength': 32},
        'action': {'type': 'string', 'enum': ['approve', 'deny']},
        'csrf_token': {'type': 'string', 'maxLength': 128},
    },
    'required': ['user_code', 'action', 'csrf_token'],
}

AUTHORIZE_QUERY = {
    'type': 'object',
    'properties': {
        'response_type': {'type': 'string', 'enum': ['code']},
        'client_id': _FIELD, 'redirect_uri': _FIELD, 'scope': _FIELD,
        'state': _FIELD, 'nonce': _FIELD, 'code_challenge': _FIELD,
        'code_challenge_method': {'type': 'string', 'enum': ['S256']},
        'response_mode': {'type': 'string', 'enum': ['query']},
        'max_age': _FIELD,
        # Without a proxy session: the upstream IdP to log in at.
        'idp_hint': _FIELD,
        'prompt': _FIELD,
    },
    'required': ['response_type', 'client_id', 'redirect_uri',
                 'code_challenge', 'code_challenge_method'],
}

_STRINGS = {'type': 'array', 'items': {'type': 'string'}}

RESPONSE_TOKEN = rt.obj({
    'access_token': {'type': 'string'},
    'token_type': {'const': 'Bearer'},
    'expires_in': {'type': 'integer'},
    'scope': {'type': 'string'},
    'refresh_token': {'type': 'string'},
    'id_token': {'type': 'string'},
}, optional=('refresh_token', 'id_token'))

RESPONSE_DEVICE_AUTHORIZATION = rt.obj({
    'device_code': {'type': 'string'},
    'user_code': {'type': 'string'},
    'verification_uri': {'type': 'string'},
    'verification_uri_complete': {'type': 'string'},
    'expires_in': {'type': 'integer'},
    'interval': {'type': 'integer'},
})

RESPONSE_DEVICE = rt.obj({
    'user_code': {'type': ['string', 'null']},
    'client_id': {'type': ['string', 'null']},
    'client_name': {'type': ['string', 'null']},
    'scope': {'type': ['string', 'null']},
    'user_id': {'type': 'string'},
    'csrf_token': {'type': 'string'},
    'decision_uri': {'type': 'string'},
})

RESPONSE_DEVICE_DECISION = rt.obj({
    'user_code': {'type': 'string'},
    'approved': {'type': 'boolean'},
})

RESPONSE_INTROSPECTION = {
    'type': 'object',
    'properties': {
        'active': {'type': 'boolean'},
        'scope': {'type': 'string'}, 'client_id': {'type': 'string'},
        'sub': {'type': 'string'},
        'aud': {'anyOf': [{'type': 'string'}, _STRINGS]},
        'iss': {'type': 'string'}, 'jti': {'type': 'string'},
        'exp': {'type': 'integer'}, 'iat': {'type': 'integer'},
        'nbf': {'type': 'integer'},
        'token_type': {'type': 'string'},
        'eduperson_entitlement': _STRINGS, 'groups': _STRINGS,
    },
    'required': ['active'],
}

RESPONSE_USERINFO = {
    'type': 'object',
    'properties': {
        'sub': {'type': 'string'}, 'name': {'type': 'string'},
        'email': {'type': 'string'},
        'eduperson_entitlement': _STRINGS, 'groups': _STRINGS,
    },
    'required': ['sub', 'eduperson_entitlement', 'groups'],
}

#: The form body of ``POST /oidc/userinfo``: the access token, when the
#: client sends it there rather than in the Authorization header (RFC
#: 6750 2.2).
USERINFO_REQUEST = {
    'type': 'object',
    'properties': {'access_token': _TOKEN_FIELD},
}

RESPONSE_REVOCATION = {'type': 'object', 'maxProperties': 0}

#: The parameters of the end_session_endpoint (RP-Initiated Logout 1.0):
#: the query of a GET, the form fields of a POST.
END_SESSION_REQUEST = {
    'type': 'object',
    'properties': {
        'id_token_hint': {'type': 'string', 'maxLength': 16384},
        'client_id': {'type': 'string', 'maxLength': 255},
        'post_logout_redirect_uri': {'type': 'string', 'maxLength': 1024},
        'state': {'type': 'string', 'maxLength': 512},
        'logout_hint': {'type': 'string', 'maxLength': 255},
        'ui_locales': {'type': 'string', 'maxLength': 255},
    },
}

RESPONSE_END_SESSION = {
    'type': 'object',
    'properties': {'logged_out': {'type': 'boolean'}},
}

RESPONSE_JWKS = rt.obj({'keys': {'type': 'array', 'items': {
    'type': 'object',
    'properties': {'kty': {'const': 'RSA'}, 'n': {'type': 'string'},
                   'e': {'type': 'string'}, 'kid': {'type': 'string'},
                   'alg': {'const': 'RS256'}, 'use': {'const': 'sig'}},
    'required': ['kty', 'n', 'e', 'kid', 'alg', 'use'],
    'additionalProperties': False}}})

RESPONSE_DISCOVERY = {
    'type': 'object',
    'properties': {
        'issuer': {'type': 'string'},
        'authorization_endpoint': {'type': 'string'},
        'token_endpoint': {'type': 'string'},
        'userinfo_endpoint': {'type': 'string'},
        'jwks_uri': {'type': 'string'},
        'introspection_endpoint': {'type': 'string'},
        'revocation_endpoint': {'type': 'string'},
        'device_authorization_endpoint': {'type': 'string'},
        'response_types_supported': _STRINGS,
        'subject_types_supported': _STRINGS,
        'id_token_signing_alg_values_supported': _STRINGS,
    },
    'required': ['issuer', 'authorization_endpoint', 'token_endpoint',
                 'jwks_uri', 'response_types_supported',
                 'subject_types_supported',
                 'id_token_signing_alg_values_supported'],
}

RESPONSE_WELL_KNOWN = rt.obj({'links': rt.LINKS})
