"""How people who hold no Keystone token authenticate to the proxy's API
(``ServiceSpec.session_auth``; see :mod:`svc_common.deploy`).

Operators use Keystone tokens as everywhere in Arbiter.  Community
managers and members, who logged in through an upstream IdP, have two
ways, tried only on a request without ``X-Auth-Token``:

* the proxy session cookie (:data:`federation_proxy.login.SESSION_COOKIE`)
  that the login callback sets, for a browser.  A request with an unsafe
  method (POST, PUT, PATCH, DELETE) must also carry
  :data:`~federation_proxy.login.CSRF_HEADER`, which a cross-site form
  cannot send; without it the request is refused (403
  ``csrf_header_missing``) rather than run as the person;
* ``Authorization: Bearer <access token>`` of the proxy's own OIDC
  provider, for command-line tools and scripts: a valid, unexpired,
  unrevoked token of a person the proxy knows, whose scope includes
  :data:`~federation_proxy.login.MANAGEMENT_SCOPE`, and never a
  client's own token (client_credentials: ``sub`` is the client id),
  even when a person has that id.  A relying party
  holds its users' ordinary access tokens; the dedicated scope, which
  only a client registered with it can obtain, keeps such a token from
  being replayed against the management API.

Either way the request reaches the API as the person (``user_id``) with
no project and no Keystone role: what they may do comes from their VO
roles (:mod:`federation_proxy.api.vo_access`).  Anything else (no
credentials, an invalid one) goes on to keystonemiddleware, which
answers 401.
"""

import datetime
import time

import webob

from federation_proxy.api import access_tokens
from federation_proxy.api import cookies
from federation_proxy.api import settings
from federation_proxy.db import logins
from federation_proxy import login
from federation_proxy.oidc import tokens
from svc_common import context
from svc_common import errors

#: How the OpenAPI document describes the two ways (beside a Keystone
#: token); see :mod:`svc_common.api.openapi`.  The session cookie's name
#: here is the plain one; the served document names the cookie of the
#: configured issuer (:func:`openapi_security_schemes`).
OPENAPI_SECURITY_SCHEMES = {
    'session': {
        'type': 'apiKey', 'in': 'cookie', 'name': login.SESSION_COOKIE,
        'description': 'The proxy session of a person who logged in '
                       'through an upstream identity provider (GET '
                       '/v1/login), named %s%s when the issuer is https. '
                       'POST, PUT, PATCH and DELETE also need the header '
                       '%s.' % (cookies.HOST_PREFIX, login.SESSION_COOKIE,
                                login.CSRF_HEADER)},
    'bearer': {
        'type': 'http', 'scheme': 'bearer', 'bearerFormat': 'JWT',
        'description': 'An access token of the proxy\'s own OIDC provider '
                       'whose scope includes %s.' % login.MANAGEMENT_SCOPE},
}


def openapi_security_schemes(issuer):
    """:data:`OPENAPI_SECURITY_SCHEMES` with the session cookie named as
    the proxy names it under ``issuer``
    (:func:`federation_proxy.api.cookies.cookie_name`, as the
    :class:`Authenticator` reads it): ``__Host-federation_session`` under
    an https issuer, so that a client generated from the served document
    sends the cookie the proxy reads."""
    schemes = dict(OPENAPI_SECURITY_SCHEMES)
    schemes['session'] = dict(
        schemes['session'],
        name=cookies.cookie_name(login.SESSION_COOKIE, issuer))
    return schemes


class Authenticator(object):
    """``authenticate(environ)`` for :mod:`svc_common.deploy`."""

    def __init__(self, conf, db):
        self.conf = conf
        self.db = db

    def __call__(self, environ):
        request = webob.Request(environ)
        bearer = login.bearer_token(request.headers.get('Authorization'))
        if bearer is not None:
            return self._bearer_person(bearer)
        token = cookies.read_own(environ, login.SESSION_COOKIE,
                                 self._issuer())
        if not token:
            return None
        found = login.read_session_token(self.conf.federation.secret_key,
                                         self._issuer(), token,
                                         int(time.time()))
        if found is None or not logins.session_person(
                self.db, context.RequestContext(), found.session_id,
                found.user_id, datetime.datetime.utcnow()):
            return None
        user_id = found.user_id
        if not login.cookie_request_allowed(request.method, request.headers):
            raise errors.Forbidden(
                'A request authenticated by the session cookie must carry '
                'the %s header when it changes something.'
                % login.CSRF_HEADER, code='csrf_header_missing')
        return user_id

    def _issuer(self):
        return settings.issuer(self.conf.federation)

    def _bearer_person(self, token):
        """The person of a proxy access token that grants the management
        scope, or None."""
        try:
            # Revocation is checked below, with the person, in one
            # transaction.
            claims = access_tokens.read_access_token(
                self.db, context.RequestContext(), self._issuer(),
                self.conf.federation.access_token_lifetime, token,
                check_revoked=False)
        except tokens.InvalidToken:
            return None
        if (not login.grants_management(claims) or
                login.is_client_token(claims)):
            return None
        jti, user_id = claims.get('jti'), claims['sub']
        if not jti or not logins.bearer_person(
                self.db, context.RequestContext(), jti, user_id):
            return None
        return user_id


def build_authenticator(conf, db):
    """The proxy's ``ServiceSpec.session_auth`` factory."""
    return Authenticator(conf, db)
