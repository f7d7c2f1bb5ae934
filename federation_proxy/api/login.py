"""Logging a person in through an upstream OIDC provider.

``GET /v1/login?idp=<id or name>`` starts the authorization code flow
at that IdP (``state``, ``nonce``, PKCE S256; the three are kept
server-side under the hash of ``state``, for
:data:`LOGIN_REQUEST_SECONDS`, and used once).  ``GET
/v1/login/callback`` is the redirect URI the proxy registers at every
IdP: it exchanges the code with the proxy's client secret (authlib's
OAuth 2.0 client), validates the ID token
(:func:`federation_proxy.login.validate_id_token`), maps the upstream
``(issuer, sub)`` to the proxy's person (made at the first login, or
linked to the logged-in person with ``link=true``) and answers with a
session cookie (:data:`federation_proxy.login.SESSION_COOKIE`).

Both paths are public (``ServiceSpec.public_paths``): the person has no
Keystone token; what authenticates the callback is the single-use state
and the IdP's signed ID token.  The IdP is named by a query parameter
rather than in the path because public paths are exact paths.
"""

import datetime
import threading
import time

from authlib.common import errors as authlib_errors
from authlib.integrations import requests_client
import pecan
import requests

from federation_proxy.api import settings
from federation_proxy.db import idps
from federation_proxy.db import logins
from federation_proxy.db import models
from federation_proxy import login
from federation_proxy.schemas import login as schema
from svc_common.api import openapi
from svc_common import errors

#: Seconds a started login may take before its state is refused.
LOGIN_REQUEST_SECONDS = 600
#: Seconds a proxy session lasts.
SESSION_SECONDS = 3600
#: Seconds an IdP's JWKS is used before it is fetched again (an unknown
#: ``kid`` fetches it at once).
JWKS_CACHE_SECONDS = 300

_JWKS_LOCK = threading.Lock()
_JWKS = {}


def redirect_uri():
    """The redirect URI to register at every upstream IdP."""
    return settings.issuer() + login.CALLBACK_PATH


def session_user():
    """The person of the request's valid proxy session cookie, or None."""
    token = pecan.request.cookies.get(login.SESSION_COOKIE)
    user_id = login.read_session(settings.conf().secret_key,
                                 settings.issuer(), token,
                                 int(time.time()))
    if user_id is None:
        return None
    with pecan.request.db.reader.using(pecan.request.context) as session:
        if session.get(models.User, user_id) is None:
            return None
    return user_id


def _find_idp(name):
    db, ctx = pecan.request.db, pecan.request.context
    for row in idps.list_idps(db, ctx, limit=1000):
        if name in (row.id, row.name) and row.enabled:
            return row
    raise errors.NotFound('No enabled IdP %s.' % name, code='idp_not_found')


def _idp_endpoints(row):
    found = idps.endpoints(row)
    missing = [name for name in idps.REQUIRED_DISCOVERED if not found[name]]
    if missing:
        raise errors.Conflict('IdP %s has no %s.' % (row.name,
                                                     ', '.join(missing)),
                              code='idp_incomplete')
    return found


def _jwks_loader(uri):
    timeout = settings.conf().discovery_timeout

    def load(refresh):
        now = time.monotonic()
        with _JWKS_LOCK:
            cached = _JWKS.get(uri)
        if cached and not refresh and now - cached[0] < JWKS_CACHE_SECONDS:
            return cached[1]
        try:
            resp = requests.get(uri, timeout=timeout, allow_redirects=False)
            resp.raise_for_status()
            document = resp.json()
        except (requests.RequestException, ValueError):
            raise login.Refused('The IdP\'s JWKS could not be read.')
        with _JWKS_LOCK:
            _JWKS[uri] = (now, document)
        return document
    return load


def _refused(detail, code='login_refused'):
    return errors.BadRequest(detail, code=code)


class CallbackController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_LOGIN, method='GET',
        query=schema.CALLBACK_QUERY, errors=(409, 502),
        summary='Redirect URI of the login through an upstream IdP: '
                'exchanges the code, validates the ID token, and sets '
                'the proxy session cookie. Needs no token.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        pecan.response.headers['Cache-Control'] = 'no-store'
        params = pecan.request.GET
        db, ctx = pecan.request.db, pecan.request.context
        state = params.get('state')
        pending = (logins.finish(db, ctx, state, settings.now())
                   if state else None)
        if pending is None:
            raise _refused('Unknown, used or expired login state.',
                           code='invalid_state')
        if params.get('error'):
            raise _refused('The IdP refused the login: %s.'
                           % params['error'][:100], code='idp_refused')
        row = idps.get_idp(db, ctx, pending.idp_id)
        # RFC 9207: an IdP that names itself must be the one asked.
        if params.get('iss') not in (None, row.issuer):
            raise _refused('The answer names another issuer.',
                           code='issuer_mismatch')
        if not params.get('code'):
            raise _refused('The IdP answered no code.')
        endpoints = _idp_endpoints(row)
        claims = self._id_token(row, endpoints, pending, params['code'])
        mapping = idps.claim_mapping(row)
        found = login.person_claims(claims, mapping)
        person = logins.person_of(db, ctx, row.issuer, claims['sub'],
                                  link_user_id=pending.link_user_id,
                                  **found)
        now = int(time.time())
        token = login.sign_session(settings.conf().secret_key,
                                   settings.issuer(),
                                   person.user_id, now, SESSION_SECONDS)
        pecan.response.set_cookie(
            login.SESSION_COOKIE, token, max_age=SESSION_SECONDS,
            path='/', httponly=True, samesite='Lax',
            secure=settings.issuer().startswith('https:'))
        return {'user_id': person.user_id, 'created': person.created,
                'linked': person.linked, 'issuer': row.issuer,
                'subject': claims['sub'], 'expires_in': SESSION_SECONDS}

    @staticmethod
    def _id_token(row, endpoints, pending, code):
        secret = idps.client_secret(pecan.request.db, pecan.request.context,
                                    row.id, settings.conf().secret_key)
        client = requests_client.OAuth2Session(
            row.client_id, secret, redirect_uri=redirect_uri(),
            token_endpoint_auth_method=('client_secret_basic' if secret
                                        else 'none'))
        try:
            answer = client.fetch_token(
                endpoints['token_endpoint'], grant_type='authorization_code',
                code=code, code_verifier=pending.code_verifier,
                timeout=settings.conf().discovery_timeout)
        except authlib_errors.AuthlibBaseError as exc:
            raise _refused('The IdP refused the code: %s.'
                           % (exc.error or 'error'), code='code_refused')
        except (requests.RequestException, ValueError) as exc:
            raise errors.ApiError('The IdP\'s token endpoint failed: %s.'
                                  % type(exc).__name__, status=502,
                                  code='idp_unreachable')
        finally:
            client.close()
        try:
            return login.validate_id_token(
                answer.get('id_token'), _jwks_loader(endpoints['jwks_uri']),
                row.issuer, row.client_id, pending.nonce, int(time.time()))
        except login.Refused as exc:
            raise _refused(str(exc), code='invalid_id_token')


class LoginController(object):
    OPENAPI = {'index': openapi.Operation(
        None, None, status=302, method='GET', query=schema.LOGIN_QUERY,
        errors=(401, 409),
        summary='Start a login through upstream IdP ``idp`` (id or '
                'name): redirects to its authorization endpoint. With '
                '``link=true`` the identity is linked to the person of '
                'the session cookie. Needs no token.')}

    callback = CallbackController()

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        params = pecan.request.GET
        name = params.get('idp')
        if not name:
            raise errors.BadRequest('idp is required.', field='idp')
        if params.get('link') not in (None, 'true', 'false'):
            raise errors.BadRequest('link is true or false.', field='link')
        link_user_id = None
        if params.get('link') == 'true':
            link_user_id = session_user()
            if link_user_id is None:
                raise errors.ApiError('Linking needs a login session.',
                                      status=401, code='no_session')
        if not settings.conf().secret_key:
            raise errors.Conflict('Logins need [federation] secret_key.',
                                  code='secret_key_unset')
        row = _find_idp(name)
        endpoints = _idp_endpoints(row)
        state, nonce = login.new_secret(), login.new_secret()
        verifier = login.new_secret()
        now = settings.now()
        logins.start(pecan.request.db, pecan.request.context, state, row.id,
                     nonce, verifier, link_user_id, now,
                     now + datetime.timedelta(seconds=LOGIN_REQUEST_SECONDS))
        pecan.response.status = 302
        pecan.response.headers['Location'] = login.authorization_url(
            endpoints['authorization_endpoint'], row.client_id,
            redirect_uri(), login.scopes(row.scopes), state, nonce,
            verifier)
        pecan.response.headers['Cache-Control'] = 'no-store'
        return {}
