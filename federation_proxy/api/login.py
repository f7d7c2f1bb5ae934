"""Logging a person in through an upstream OIDC provider.

``GET /v1/login?idp=<id or name>`` starts the authorization code flow
at that IdP (``state``, ``nonce``, PKCE S256; the three are kept
server-side under the hash of ``state``, for
:data:`LOGIN_REQUEST_SECONDS`, and used once).  ``GET
/v1/login/callback`` is the redirect URI the proxy registers at every
IdP: it exchanges the code with the proxy's client secret (within
``[federation] discovery_timeout`` and a size bound: see
:mod:`federation_proxy.upstream`), validates the ID token
(:func:`federation_proxy.login.validate_id_token`), maps the upstream
``(issuer, sub)`` to the proxy's person (made at the first login, or
linked to the logged-in person with ``link=true``) and answers with a
session cookie (:data:`federation_proxy.login.SESSION_COOKIE`).

``GET /v1/login`` without ``idp`` uses the only enabled IdP, or sends
the browser to ``GET /v1/login/idps``, the IdP chooser (a JSON list of
the enabled IdPs with the URL that starts a login at each).  ``next``
names where the callback sends the person afterwards: only the proxy's
own authorization request (:func:`federation_proxy.login.continuation`),
kept server-side with the login state, so that a login cannot be turned
into an open redirect; the authorization endpoint sends a person without
a session here with ``next`` set to itself.

The three paths are public (``ServiceSpec.public_paths``): the person
has no Keystone token; what authenticates the callback is the
single-use state, the IdP's signed ID token, and the
:data:`federation_proxy.login.LOGIN_COOKIE` cookie that ``GET
/v1/login`` gave the browser (an HMAC of the state, HttpOnly,
SameSite=Lax, for :data:`LOGIN_REQUEST_SECONDS`, named and scoped as
:mod:`federation_proxy.api.cookies` says: ``__Host-`` under an https
issuer, so that a sibling subdomain cannot set it): a callback without
it, or with the cookie of another login, is refused (400
``federation.login_not_bound``) before the state is read, so that
nobody can make someone else's
browser finish a login they started (login CSRF, or linking the
victim's identity to the attacker's person with ``link=true``).  A
browser has one login under way at a time: starting another one makes
the earlier one's callback refused.  The IdP is named by a
query parameter rather than in the path because public paths are exact
paths.
"""

import datetime
import threading
import time
import urllib.parse

import pecan
import requests

from federation_proxy.api import cookies
from federation_proxy.api import settings
from federation_proxy.db import idps
from federation_proxy.db import logins
from federation_proxy.db import oidc as oidc_db
from federation_proxy import login
from federation_proxy.schemas import login as schema
from federation_proxy import upstream
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import errors

#: Seconds a started login may take before its state is refused.
LOGIN_REQUEST_SECONDS = 600
#: Seconds a proxy session lasts.
SESSION_SECONDS = 3600
#: Seconds an IdP's JWKS is used before it is fetched again (an unknown
#: ``kid``, or a signature the cached key set does not verify, fetches
#: it at once, once per login).
JWKS_CACHE_SECONDS = 300

_JWKS_LOCK = threading.Lock()
_JWKS = {}


def redirect_uri():
    """The redirect URI to register at every upstream IdP."""
    return settings.issuer() + login.CALLBACK_PATH


def session_user():
    """The person of the request's valid proxy session cookie, or None."""
    return session_login()[0]


def session_login():
    """``(person, login time)`` of the request's valid proxy session
    cookie (see :func:`session`), or ``(None, None)``."""
    found = session()
    return (None, None) if found is None else found[:2]


def _session_token():
    """The :class:`federation_proxy.login.SessionToken` of the request's
    cookie, read (signature, issuer, expiry) but not yet checked
    against the sessions kept, or None."""
    return login.read_session_token(
        settings.conf().secret_key, settings.issuer(),
        cookies.read_own(pecan.request.environ, login.SESSION_COOKIE,
                         settings.issuer()),
        int(time.time()))


def session():
    """The :class:`federation_proxy.login.SessionToken` of the request's
    proxy session cookie if the session is live (kept, not logged out,
    of a person the proxy knows), or None."""
    found = _session_token()
    if found is None or not logins.session_person(
            pecan.request.db, pecan.request.context, found.session_id,
            found.user_id, settings.now()):
        return None
    return found


def _find_idp(name):
    row = idps.find_enabled_idp(pecan.request.db, pecan.request.context,
                                name)
    if row is None:
        raise errors.NotFound('No enabled IdP %s.' % errors.quoted_id(name),
                              code='idp_not_found')
    return row


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
            document = upstream.get_json(uri, timeout)
        except upstream.Failed as error:
            raise login.Refused('The IdP\'s JWKS could not be read: %s.'
                                % error)
        with _JWKS_LOCK:
            _JWKS[uri] = (now, document)
        return document
    return load


def _set_login_cookie(state):
    """Bind the login of ``state`` to this browser
    (:func:`federation_proxy.login.login_binding`): a cookie for as long
    as the login may take, which the callback clears.  ``Path=/``, not
    the callback's path: the ``__Host-`` prefix requires it (see
    :mod:`federation_proxy.api.cookies`)."""
    pecan.response.set_cookie(
        cookies.cookie_name(login.LOGIN_COOKIE, settings.issuer()),
        login.login_binding(settings.conf().secret_key, state),
        max_age=LOGIN_REQUEST_SECONDS,
        **cookies.attributes(settings.issuer()))


def _clear_login_cookie():
    # An empty value with Max-Age=0: the browser drops it.
    pecan.response.set_cookie(
        cookies.cookie_name(login.LOGIN_COOKIE, settings.issuer()), None,
        **cookies.attributes(settings.issuer()))


def _refused(detail, code='login_refused'):
    return errors.BadRequest(detail, code=code)


class CallbackController(object):
    # It finishes a login: a HEAD (405) does not.
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_LOGIN, method='GET', head=False,
        query=schema.CALLBACK_QUERY, errors=(401, 404, 409, 502),
        summary='Redirect URI of the login through an upstream IdP: '
                'exchanges the code, validates the ID token, and sets '
                'the proxy session cookie; a login with ``link=true`` '
                'links the identity only while the session that asked '
                'for it is live (else 401 ``no_session``). Needs no '
                'token.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        pecan.response.headers['Cache-Control'] = 'no-store'
        params = pecan.request.GET
        db, ctx = pecan.request.db, pecan.request.context
        state = params.get('state')
        if not state:
            raise _refused('Unknown, used or expired login state.',
                           code='invalid_state')
        # Checked before the state is read, so a refused callback
        # neither uses the login up nor writes anything.
        if not login.login_bound(settings.conf().secret_key, state,
                                 cookies.read_own(pecan.request.environ,
                                                  login.LOGIN_COOKIE,
                                                  settings.issuer())):
            raise _refused('This login was not started in this browser '
                           '(or another login was started since); start '
                           'it again.', code='login_not_bound')
        _clear_login_cookie()
        pending = logins.finish(db, ctx, state, settings.now())
        if pending is None:
            raise _refused('Unknown, used or expired login state.',
                           code='invalid_state')
        row = idps.get_idp(db, ctx, pending.idp_id)
        if not row.enabled:
            # Disabled since the login started (an IdP the operator no
            # longer trusts): its answers log nobody in.
            raise errors.NotFound('No enabled IdP %s.'
                                  % errors.quoted_id(row.name),
                                  code='idp_not_found')
        # RFC 9207: an IdP that names itself must be the one asked; one
        # that says it always does (its discovery document) must have.
        # Error answers too (2.4): another IdP's error, sent back with
        # this login's state (a mix-up), is not this IdP's refusal.
        if params.get('iss') not in (None, row.issuer):
            raise _refused('The answer names another issuer.',
                           code='issuer_mismatch')
        if params.get('iss') is None and idps.sends_iss(row):
            raise _refused('The answer does not name its issuer (iss), '
                           'which this IdP names in each of its answers '
                           '(RFC 9207).', code='issuer_missing')
        if params.get('error'):
            raise _refused('The IdP refused the login: %s.'
                           % _oauth_error(params['error']),
                           code='idp_refused')
        if not params.get('code'):
            raise _refused('The IdP answered no code.')
        # The browser's session until now (if any): replaced by the new
        # one below; for a link, the session that asked for it.
        previous = _session_token()
        link_session_id = _link_session(pending, previous)
        endpoints = _idp_endpoints(row)
        claims = self._id_token(row, endpoints, pending, params['code'])
        try:
            auth_time = login.login_time(claims, pending.auth_after,
                                         int(time.time()))
        except login.Refused as exc:
            raise _refused(str(exc), code='login_not_fresh')
        found = login.mapped_claims(claims, idps.claim_mapping(row))
        person = logins.person_of(db, ctx, row.issuer, claims['sub'],
                                  link_user_id=pending.link_user_id,
                                  link_session_id=link_session_id,
                                  name=found.get('name'),
                                  email=found.get('email'))
        now = int(time.time())
        session_id = login.new_session_id()
        started = settings.now()
        logins.start_session(
            db, ctx, session_id, person.user_id, started,
            started + datetime.timedelta(seconds=SESSION_SECONDS),
            replaces=previous.session_id if previous else None,
            idp_id=row.id, subject=claims['sub'],
            host_prefixed=cookies.host_prefixed(settings.issuer()))
        token = login.sign_session(settings.conf().secret_key,
                                   settings.issuer(),
                                   person.user_id, now, SESSION_SECONDS,
                                   auth_time=auth_time,
                                   session_id=session_id)
        pecan.response.set_cookie(
            cookies.cookie_name(login.SESSION_COOKIE, settings.issuer()),
            token, max_age=SESSION_SECONDS,
            **cookies.attributes(settings.issuer()))
        cookies.expire_plain(pecan.response, login.SESSION_COOKIE,
                             settings.issuer())
        if pending.next_url:
            # The authorization request that sent the person to log in;
            # only ever the proxy's own (login.continuation).
            pecan.response.status = 302
            pecan.response.headers['Location'] = (settings.issuer() +
                                                  pending.next_url)
        return {'user_id': person.user_id, 'created': person.created,
                'linked': person.linked, 'issuer': row.issuer,
                'subject': claims['sub'], 'expires_in': SESSION_SECONDS,
                'claims': found}

    @staticmethod
    def _id_token(row, endpoints, pending, code):
        answer = _token_answer(row, endpoints['token_endpoint'], pending,
                               code)
        try:
            return login.validate_id_token(
                answer.get('id_token'), _jwks_loader(endpoints['jwks_uri']),
                row.issuer, row.client_id, pending.nonce, int(time.time()))
        except login.Refused as exc:
            raise _refused(str(exc), code='invalid_id_token')


def _link_session(pending, found):
    """The id of the session that asked for the link the login
    ``pending`` finishes (``found``: the browser's session token), or
    None for a login that links nothing.

    A link is made only while the person's session that asked for it
    is live (checked again when the link is written): a copy of the
    cookie of a session its person logged out, or a login finished
    after the session expired, links no identity.

    :raises errors.ApiError: 401 ``no_session``.
    """
    if pending.link_user_id is None:
        return None
    if (found is None or not found.session_id or
            found.user_id != pending.link_user_id or not logins.
            session_person(pecan.request.db, pecan.request.context,
                           found.session_id, found.user_id,
                           settings.now())):
        raise errors.ApiError('The session that asked for this link has '
                              'ended (logged out or expired); log in and '
                              'link again.', status=401, code='no_session')
    return found.session_id


def _token_answer(row, endpoint, pending, code):
    """The IdP's answer to the exchange of ``code`` at its token
    ``endpoint`` (RFC 6749 4.1.3; client_secret_basic, or the client id
    alone for a public client), bounded in time and size
    (:mod:`federation_proxy.upstream`).

    :raises errors.ApiError: 400 ``code_refused`` (an OAuth error
        answer), 502 ``idp_unreachable`` (no usable answer).
    """
    secret = idps.client_secret(pecan.request.db, pecan.request.context,
                                row.id, settings.conf().secret_key)
    form = {'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': redirect_uri(),
            'code_verifier': pending.code_verifier}
    auth = None
    if secret:
        auth = requests.auth.HTTPBasicAuth(row.client_id, secret)
    else:
        form['client_id'] = row.client_id
    try:
        status, body = upstream.exchange(
            'POST', endpoint, settings.conf().discovery_timeout, data=form,
            auth=auth, headers={'Accept': 'application/json'})
        answer = upstream.document(body)
    except upstream.Failed as error:
        raise errors.ApiError('The IdP\'s token endpoint failed: %s.'
                              % error, status=502, code='idp_unreachable')
    if isinstance(answer, dict) and answer.get('error'):
        raise _refused('The IdP refused the code: %s.'
                       % _oauth_error(answer['error']), code='code_refused')
    if status != 200 or not isinstance(answer, dict):
        raise errors.ApiError('The IdP\'s token endpoint failed: HTTP %d.'
                              % status, status=502, code='idp_unreachable')
    return answer


#: The characters of an OAuth error code (RFC 6749 4.1.2.1, 5.2).
_OAUTH_ERROR_CHARACTERS = frozenset(
    chr(c) for c in range(0x20, 0x7f) if chr(c) not in '"\\')


def _oauth_error(error):
    """The IdP's error code ``error`` as a refusal's detail quotes it:
    at most 100 characters, or ``error`` for one that is not an OAuth
    error code (another type, a control or bidirectional character, a
    character out of ASCII: the IdP's words would be shown as the
    proxy's)."""
    if not (isinstance(error, str) and set(error) <=
            _OAUTH_ERROR_CHARACTERS):
        return 'error'
    return error[:100]


def _flag_link(params):
    """The person to link a new identity to (``link=true``), or None."""
    if params.get('link') not in (None, 'true', 'false'):
        raise errors.BadRequest('link is true or false.', field='link')
    if params.get('link') != 'true':
        return None
    user_id = session_user()
    if user_id is None:
        raise errors.ApiError('Linking needs a login session.',
                              status=401, code='no_session')
    return user_id


def _check_link_origin(params):
    """A login with ``link=true`` must come from the person, not from
    another site (:func:`federation_proxy.login.link_requested_here`).

    :raises errors.Forbidden: 403 ``csrf_refused``.
    """
    if not login.link_requested_here(
            settings.conf().secret_key,
            cookies.read_own(pecan.request.environ, login.SESSION_COOKIE,
                             settings.issuer()),
            pecan.request.headers.get('Sec-Fetch-Site'),
            params.get('csrf_token')):
        raise errors.Forbidden(
            'A link is started at the proxy itself: open this URL in '
            'your browser, or use the login URL of the IdP chooser '
            '(%s?link=true).' % login.CHOOSER_PATH, code='csrf_refused')


def _link_token():
    """The ``csrf_token`` of the request's session for the chooser's
    ``link=true`` login URLs, or None without a session."""
    session = cookies.read_own(pecan.request.environ, login.SESSION_COOKIE,
                               settings.issuer())
    if session_user() is None or not settings.conf().secret_key:
        return None
    return login.link_token(settings.conf().secret_key, session)


def _next_url(params):
    """The continuation of the login (``next``), checked, or None."""
    if params.get('next') is None:
        return None
    try:
        return login.continuation(params['next'])
    except login.Refused as exc:
        raise errors.BadRequest(str(exc), field='next')


def _freshness(params):
    """``(prompt=login?, max_age or None)`` a login asks the upstream
    IdP for: a relying party wants a fresh authentication."""
    prompt = params.get('prompt')
    if prompt not in (None, 'login'):
        raise errors.BadRequest('prompt is login or absent.',
                                field='prompt')
    max_age = params.get('max_age')
    if max_age is not None:
        if not (max_age.isascii() and max_age.isdigit() and
                len(max_age) <= 10):
            raise errors.BadRequest('max_age is a number of seconds.',
                                    field='max_age')
        max_age = int(max_age)
    return prompt == 'login', max_age


def _enabled_idps(limit=None, marker=None):
    """The enabled IdPs by name: the first ``limit`` (every one by
    default), after the one named ``marker``."""
    return idps.enabled_idps(pecan.request.db, pecan.request.context,
                             limit, marker)


def _login_url(path, **params):
    query = {k: v for k, v in params.items() if v is not None}
    return '%s%s%s' % (settings.issuer(), path,
                       '?' + urllib.parse.urlencode(query) if query else '')


def login_url(next=None, idp=None, prompt_login=False, max_age=None):
    """The URL that starts a login (at IdP ``idp``, or the only or
    chosen one) and continues to ``next``; a fresh authentication at
    the IdP with ``prompt_login`` or ``max_age`` (seconds)."""
    return _login_url(login.LOGIN_PATH, idp=idp, next=next,
                      **_freshness_params(prompt_login, max_age))


def _freshness_params(prompt_login, max_age):
    return {'prompt': 'login' if prompt_login else None,
            'max_age': None if max_age is None else str(max_age)}


def _redirect(location):
    pecan.response.status = 302
    pecan.response.headers['Location'] = location
    pecan.response.headers['Cache-Control'] = 'no-store'
    return {}


def end_session(found):
    """End the session of :class:`federation_proxy.login.SessionToken`
    ``found`` server-side (every copy of its cookie stops working, and
    the grants it authorized are revoked) and clear the browser's
    cookie (and the plain-named one of an earlier release, see
    :func:`federation_proxy.api.cookies.expire_plain`)."""
    if found is not None and found.session_id:
        oidc_db.end_session(
            pecan.request.db, pecan.request.context, found.session_id,
            settings.now(), datetime.timedelta(
                seconds=settings.conf().access_token_lifetime))
    # An empty value with Max-Age=0: the browser drops it.
    pecan.response.set_cookie(
        cookies.cookie_name(login.SESSION_COOKIE, settings.issuer()), None,
        **cookies.attributes(settings.issuer()))
    cookies.expire_plain(pecan.response, login.SESSION_COOKIE,
                         settings.issuer())


class LogoutController(object):
    """``POST /v1/logout``: the browser's proxy session ends here: it is
    deleted server-side, so that a copy of the cookie no longer works
    either, the grants it authorized (refresh tokens, and the access
    tokens issued with them) are revoked, and the browser's cookie is
    cleared."""

    OPENAPI = {'index': openapi.Operation(
        None, None, status=204, method='POST', errors=(403,),
        body=schema.LOGOUT_REQUEST,
        summary='Log out of the proxy: ends the session server-side '
                '(every copy of its cookie stops working), revokes the '
                'refresh tokens of the grants it authorized and the '
                'access tokens issued with them, and clears the session '
                'cookie. Needs the header %s (no cross-site form can log '
                'a person out). Needs no token.' % login.CSRF_HEADER)}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='POST', template='json')
    def index_post(self):
        if not login.cookie_request_allowed('POST', pecan.request.headers):
            raise errors.Forbidden('Logging out needs the %s header.'
                                   % login.CSRF_HEADER,
                                   code='csrf_header_missing')
        end_session(_session_token())
        pecan.response.headers['Cache-Control'] = 'no-store'
        pecan.response.status = 204


class ChooserController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_CHOOSER, method='GET',
        query=schema.CHOOSER_QUERY,
        summary='The enabled upstream IdPs a person may log in with, '
                'by name, each with the URL that starts the login '
                '(carrying ``next`` and ``link`` on), a page at a time '
                '(``limit``, ``marker``: the name of the last IdP of the '
                'page before; ``[api] max_limit`` at most). Needs no '
                'token.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        params = pecan.request.GET
        next_url = _next_url(params)
        link = params.get('link')
        if link not in (None, 'true', 'false'):
            raise errors.BadRequest('link is true or false.', field='link')
        fresh = _freshness_params(*_freshness(params))
        # A link started from these URLs in a browser that does not say
        # where a request comes from carries the session's token.
        token = _link_token() if link == 'true' else None
        # A page: anyone may ask, and a federation has thousands of IdPs
        # (the whole list was ~870 kB and 0.1-0.2 s for 5,000).
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        items = [
            {'id': row.id, 'name': row.name, 'issuer': row.issuer,
             'login': _login_url(login.LOGIN_PATH, idp=row.name,
                                 link=link, next=next_url,
                                 csrf_token=token, **fresh)}
            for row in _enabled_idps(limit, marker)]
        return {'idps': items, 'links': validation.links_for_page(
            items, limit, 'name', login.CHOOSER_PATH, params)}


class LoginController(object):
    # It starts a login: a HEAD (405) does not.
    OPENAPI = {'index': openapi.Operation(
        None, None, status=302, method='GET', query=schema.LOGIN_QUERY,
        errors=(401, 403, 404, 409), head=False,
        summary='Start a login through upstream IdP ``idp`` (id or '
                'name; without it, the only enabled IdP, or a redirect '
                'to the IdP chooser ``/v1/login/idps`` when there are '
                'several): redirects to its authorization endpoint. '
                'With ``prompt=login`` or ``max_age`` (seconds) the IdP '
                'is asked for a fresh authentication and the callback '
                'refuses an ID token whose ``auth_time`` is older '
                '(``login_not_fresh``). '
                'With ``link=true`` the identity is linked to the '
                'person of the session cookie, when the request comes '
                'from the person (``Sec-Fetch-Site`` ``none`` or '
                '``same-origin``, or the chooser\'s ``csrf_token``; '
                'else 403 ``csrf_refused``); with ``next`` (only the '
                'proxy\'s own ``/oidc/authorize?...``) the callback '
                'redirects there. Needs no token.')}

    callback = CallbackController()
    idps = ChooserController()

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        params = pecan.request.GET
        link_user_id = _flag_link(params)
        next_url = _next_url(params)
        prompt_login, max_age = _freshness(params)
        if not settings.conf().secret_key:
            raise errors.Conflict('Logins need [federation] secret_key.',
                                  code='secret_key_unset')
        if params.get('idp'):
            row = _find_idp(params['idp'])
        else:
            # Only whether there are none, one or several.
            enabled = _enabled_idps(limit=2)
            if not enabled:
                raise errors.NotFound('No enabled IdP.',
                                      code='idp_not_found')
            if len(enabled) > 1:
                return _redirect(_login_url(
                    login.CHOOSER_PATH, link=params.get('link'),
                    next=next_url,
                    **_freshness_params(prompt_login, max_age)))
            row = enabled[0]
        if link_user_id is not None:
            _check_link_origin(params)
        endpoints = _idp_endpoints(row)
        state, nonce = login.new_secret(), login.new_secret()
        verifier = login.new_secret()
        now = settings.now()
        max_age, auth_after = login.freshness(prompt_login, max_age,
                                              time.time())
        logins.start(pecan.request.db, pecan.request.context, state, row.id,
                     nonce, verifier, link_user_id, now,
                     now + datetime.timedelta(seconds=LOGIN_REQUEST_SECONDS),
                     next_url=next_url, auth_after=auth_after)
        _set_login_cookie(state)
        return _redirect(login.authorization_url(
            endpoints['authorization_endpoint'], row.client_id,
            redirect_uri(), login.scopes(row.scopes), state, nonce,
            verifier, prompt_login=prompt_login, max_age=max_age))
