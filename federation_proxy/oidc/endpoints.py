"""Where the OIDC provider answers (paths under the issuer URL).

The discovery document is at the path OpenID Connect Discovery 1.0
(section 4) fixes; the protocol endpoints are under ``/oidc``, outside
the versioned ``/v1`` REST API, since their shape is fixed by their RFCs
rather than by Arbiter's microversions.

``GET /oidc`` answers the discovery document too, and ``GET
/.well-known`` links to it.

Every path here needs no Keystone token (``ServiceSpec.public_paths``):
a client authenticates itself with its secret, a bearer with its access
token, and the person at the authorization endpoint with the proxy
session (see :mod:`federation_proxy.api.oidc`).  The token, introspection and
revocation endpoints take form bodies (``ServiceSpec.form_paths``), and
so do the three that answer POST as well as GET: the authorization
endpoint (its request as form fields, OIDC Core 3.1.2.1), userinfo (the
access token as a form field, RFC 6750 2.2) and the end_session_endpoint
(its parameters as form fields, RP-Initiated Logout 1.0 section 2).

The device authorization grant (RFC 8628) adds the device authorization
endpoint (form, authenticated client), the verification page ``GET
/oidc/device`` and its form ``POST /oidc/device/decision``: those two
authenticate the person with the proxy's session cookie (a login through
an upstream IdP), not with a Keystone token.
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
DEVICE_AUTHORIZATION = '/oidc/device_authorization'
DEVICE = '/oidc/device'
DEVICE_DECISION = '/oidc/device/decision'
#: RP-Initiated Logout 1.0's end_session_endpoint.
END_SESSION = '/oidc/logout'

PUBLIC_PATHS = (WELL_KNOWN, DISCOVERY, OIDC, JWKS, AUTHORIZE, TOKEN,
                USERINFO, INTROSPECT, REVOKE, DEVICE_AUTHORIZATION, DEVICE,
                DEVICE_DECISION, END_SESSION)
FORM_PATHS = (AUTHORIZE, TOKEN, USERINFO, INTROSPECT, REVOKE,
              DEVICE_AUTHORIZATION, DEVICE_DECISION, END_SESSION)
