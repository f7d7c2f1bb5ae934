"""Where the OIDC provider answers (paths under the issuer URL).

The discovery document is at the path OpenID Connect Discovery 1.0
(section 4) fixes; the protocol endpoints are under ``/oidc``, outside
the versioned ``/v1`` REST API, since their shape is fixed by their RFCs
rather than by Arbiter's microversions.

``GET /oidc`` answers the discovery document too, and ``GET
/.well-known`` links to it.

Every path here but the authorization endpoint needs no Keystone token
(``ServiceSpec.public_paths``): a client authenticates itself with its
secret, a bearer with its access token.  The token, introspection and
revocation endpoints take form bodies (``ServiceSpec.form_paths``).
"""

WELL_KNOWN = '/.well-known'
DISCOVERY = WELL_KNOWN + '/openid-configuration'
OIDC = '/oidc'
JWKS = '/oidc/jwks'
AUTHORIZE = '/oidc/authorize'
TOKEN = '/oidc/token'
USERINFO = '/oidc/userinfo'
INTROSPECT = '/oidc/introspect'
REVOKE = '/oidc/revoke'

PUBLIC_PATHS = (WELL_KNOWN, DISCOVERY, OIDC, JWKS, TOKEN, USERINFO,
                INTROSPECT, REVOKE)
FORM_PATHS = (TOKEN, INTROSPECT, REVOKE)
