"""The OIDC provider's endpoints: discovery, JWKS, authorization, token,
userinfo, introspection (RFC 7662) and revocation (RFC 7009).

Each handler reads the request, calls the pure rules of
:mod:`federation_proxy.oidc` and the state kept by
:mod:`federation_proxy.db.oidc`, and answers in the protocol's terms: a
refusal is an RFC 6749 error object (``error``, ``error_description``)
that also carries Arbiter's ``errors`` list, so that OAuth clients and
Arbiter's tools both read it.

Who the person is, at the authorization endpoint (a public path): the
person of the proxy session cookie that a login through an upstream IdP
sets.  Without a session the browser is sent to that login
(``/v1/login``, at the IdP ``idp_hint`` names, or the only or chosen
one), which brings it back to the same authorization request.  With
``noauth`` (local runs and tests) the ``X-User-Id`` of a person the
proxy knows is accepted too; a Keystone token is not: operators do not
authorize relying parties as themselves.
"""

import base64
import binascii
import datetime
import functools
import hmac
import threading
import time
import urllib.parse
import uuid
import weakref

from oslo_db import exception as db_exc
import pecan

from federation_proxy.api import access_tokens
from federation_proxy.api import cookies
from federation_proxy.api import login
from federation_proxy.api import settings
from federation_proxy.api import vo_access
from federation_proxy.db import communities
from federation_proxy.db import oidc as oidc_db
from federation_proxy import entitlements
from federation_proxy import login as login_flow
from federation_proxy.oidc import device
from federation_proxy.oidc import endpoints
from federation_proxy.oidc import keys
from federation_proxy.oidc import protocol
from federation_proxy.oidc import tokens
from federation_proxy.schemas import oidc as schema
from svc_common.api import openapi
from svc_common.api import request_guard
from svc_common import errors

FORM = request_guard.FORM_TYPE

_CACHE_LOCK = threading.Lock()

#: Seconds a client read from the database is used before it is read
#: again: a client deleted, or given a new secret or other grants, is
#: seen so by every API process after at most this long.  It spares the
#: token and introspection endpoints a transaction per request.
CLIENT_CACHE_SECONDS = 5
#: Clients kept per process (the oldest are forgotten first).
CLIENT_CACHE_SIZE = 1024

_CLIENT_CACHE = weakref.WeakKeyDictionary()


# -- helpers -----------------------------------------------------------------

def _lifetime():
    return settings.conf().access_token_lifetime


def _client(client_id, fresh=False):
    """The client ``client_id`` (a :class:`oidc_db.ClientRecord`) from a
    short per-process cache (read afresh if ``fresh``), or None; unknown
    ids are not cached, so a new client works at once."""
    if not client_id:
        return None
    db, now = pecan.request.db, time.monotonic()
    with _CACHE_LOCK:
        clients = _CLIENT_CACHE.setdefault(db, {})
        loaded_at, record = clients.get(client_id, (None, None))
    if (not fresh and loaded_at is not None and
            now - loaded_at <= CLIENT_CACHE_SECONDS):
        return record
    record = oidc_db.find_client(db, pecan.request.context, client_id)
    with _CACHE_LOCK:
        clients.pop(client_id, None)
        if record is not None:
            clients[client_id] = (now, record)
            while len(clients) > CLIENT_CACHE_SIZE:
                clients.pop(next(iter(clients)))
    return record


def _records():
    """The signing keys, from the per-process cache shared with the API's
    bearer authentication (:mod:`federation_proxy.api.access_tokens`)."""
    return access_tokens.signing_records(pecan.request.db,
                                         pecan.request.context)


def _token_lifetime():
    """How long an access token lives, as a timedelta: also how long a
    retired key and a revocation record must be kept."""
    return datetime.timedelta(seconds=_lifetime())


def _published(records):
    return access_tokens.published(records, _lifetime())


def _oauth_answer(exc):
    """The body of an :class:`protocol.OAuthError`, status and headers
    set on the response."""
    pecan.response.status = exc.status
    pecan.response.headers['Cache-Control'] = 'no-store'
    if exc.status == 401:
        challenge = ('Bearer error="%s"' % exc.error
                     if exc.error == 'invalid_token' else
                     'Basic realm="%s"' % settings.issuer())
        pecan.response.headers['WWW-Authenticate'] = challenge
    return {'error': exc.error, 'error_description': exc.description,
            'errors': [errors.error_object(
                pecan.request.spec.namespace, exc.status, exc.description,
                pecan.request.environ.get('openstack.request_id'),
                code=exc.error)]}


def _oauth_errors(handler):
    """Decorate an endpoint so that a :class:`protocol.OAuthError` it
    raises is answered as :func:`_oauth_answer` says."""
    @functools.wraps(handler)
    def answer(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except protocol.OAuthError as exc:
            return _oauth_answer(exc)
    return answer


def _form():
    form = pecan.request.environ.get(request_guard.FORM_BODY_KEY)
    if form is None:
        raise protocol.invalid_request(
            'The body must be %s form fields.' % FORM)
    return form


def _required(form, name):
    """The value of a form field the request must carry."""
    value = form.get(name)
    if not value:
        raise protocol.invalid_request('%s is required.' % name)
    return value


def _authorization(scheme):
    """The credentials of the Authorization header if it uses
    ``scheme`` (case-insensitive), else None."""
    header = pecan.request.headers.get('Authorization', '')
    found, _sep, value = header.partition(' ')
    if found.lower() != scheme:
        return None
    return value.strip()


def _basic_credentials():
    value = _authorization('basic')
    if value is None:
        return None
    try:
        text = base64.b64decode(value, validate=True).decode('utf-8')
    except (binascii.Error, ValueError):
        raise protocol.OAuthError('invalid_client', 'Malformed Basic '
                                  'credentials.', 401)
    client_id, sep, secret = text.partition(':')
    if not sep:
        raise protocol.OAuthError('invalid_client', 'Malformed Basic '
                                  'credentials.', 401)
    # RFC 6749 2.3.1: both are form-encoded before they are joined.
    client_id = urllib.parse.unquote_plus(client_id)
    secret = urllib.parse.unquote_plus(secret)
    # No client id or secret has a control character (a NUL would reach
    # the database, which refuses it in text).
    if not (client_id + secret).isprintable():
        raise protocol.OAuthError('invalid_client', 'Malformed Basic '
                                  'credentials.', 401)
    return client_id, secret


def _authenticate_client(form, confidential=False):
    """The client the request authenticates as (client_secret_basic,
    client_secret_post, or ``none`` for a public client).

    :raises OAuthError: ``invalid_client`` (401).
    """
    basic = _basic_credentials()
    if basic is not None and ('client_secret' in form):
        raise protocol.invalid_request('Use one client authentication '
                                       'method, not two.')
    client_id, secret = basic or (form.get('client_id'),
                                  form.get('client_secret'))
    if basic is not None and form.get('client_id') not in (None,
                                                           client_id):
        raise protocol.invalid_request('client_id differs from the '
                                       'authenticated client.')
    client = _client(client_id)
    if client is not None and not _client_accepts(client, secret,
                                                  confidential):
        # Maybe a secret set since the cache was filled: the new secret
        # works at once, the old one for CLIENT_CACHE_SECONDS at most.
        client = _client(client_id, fresh=True)
    if client is None or not _client_accepts(client, secret, confidential):
        raise protocol.OAuthError('invalid_client', 'Client '
                                  'authentication failed.', 401)
    return client


def _client_accepts(client, secret, confidential):
    """Whether ``secret`` authenticates ``client`` (a public client: no
    secret, and only where public clients may come)."""
    if client.secret_hash is None:
        return not secret and not confidential
    return bool(secret) and _same_secret(client.secret_hash, secret)


def _same_secret(secret_hash, secret):
    return hmac.compare_digest(secret_hash, communities.token_hash(secret))


def _authenticated_form(confidential=False):
    """The request's form fields and the client they authenticate."""
    form = _form()
    return form, _authenticate_client(form, confidential)


def _bearer():
    value = _authorization('bearer')
    if not value:
        raise protocol.OAuthError('invalid_token', 'An access token is '
                                  'required (Authorization: Bearer).', 401)
    return value


def _read_access_token(token, audience=None):
    """The claims of a valid, unrevoked access token of this provider
    (:func:`federation_proxy.api.access_tokens.read_access_token`).

    :raises tokens.InvalidToken: saying why not.
    """
    return access_tokens.read_access_token(
        pecan.request.db, pecan.request.context, settings.issuer(),
        _lifetime(), token, audience=audience)


def _find_person(user_id):
    """The :class:`oidc_db.Person` ``user_id``, or None."""
    return oidc_db.find_person(pecan.request.db, pecan.request.context,
                               user_id)


def _person_claims(person, scope):
    """Entitlements, groups and profile claims of a
    :class:`oidc_db.Person`, as of now."""
    conf = settings.conf()
    authority = (conf.entitlement_authority or
                 urllib.parse.urlsplit(conf.issuer).hostname)
    issuer = entitlements.Issuer(conf.entitlement_nid,
                                 conf.entitlement_namespace, authority)
    now = settings.now()
    profile = {}
    if 'profile' in scope and person.name:
        profile['name'] = person.name
    if 'email' in scope and person.email:
        profile['email'] = person.email
    return (issuer.entitlements(person.memberships, now),
            entitlements.groups(person.memberships, now), profile)


# -- discovery and keys ------------------------------------------------------

def discovery_document(issuer):
    """The OpenID Provider Metadata (OIDC Discovery 1.0, 3)."""
    return {
        'issuer': issuer,
        'authorization_endpoint': issuer + endpoints.AUTHORIZE,
        'token_endpoint': issuer + endpoints.TOKEN,
        'userinfo_endpoint': issuer + endpoints.USERINFO,
        'jwks_uri': issuer + endpoints.JWKS,
        'introspection_endpoint': issuer + endpoints.INTROSPECT,
        'revocation_endpoint': issuer + endpoints.REVOKE,
        'device_authorization_endpoint':
            issuer + endpoints.DEVICE_AUTHORIZATION,
        'end_session_endpoint': issuer + endpoints.END_SESSION,
        'response_types_supported': ['code'],
        'response_modes_supported': ['query'],
        'grant_types_supported': list(protocol.GRANT_TYPES),
        'subject_types_supported': ['public'],
        'id_token_signing_alg_values_supported': [keys.ALGORITHM],
        'token_endpoint_auth_methods_supported': [
            'client_secret_basic', 'client_secret_post', 'none'],
        'introspection_endpoint_auth_methods_supported': [
            'client_secret_basic', 'client_secret_post'],
        'revocation_endpoint_auth_methods_supported': [
            'client_secret_basic', 'client_secret_post', 'none'],
        'code_challenge_methods_supported': [protocol.S256],
        'scopes_supported': ['openid', 'profile', 'email'],
        'claims_supported': ['sub', 'iss', 'aud', 'exp', 'iat',
                             'auth_time', 'nonce', 'name', 'email',
                             'eduperson_entitlement', 'groups'],
        # A person in many groups: their access token names userinfo
        # as the source of their memberships.
        'claim_types_supported': ['normal', 'distributed'],
        # Unsaid, OIDC Discovery takes request_uri as supported.
        'request_uri_parameter_supported': False,
        'authorization_response_iss_parameter_supported': True,
    }


class DiscoveryController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_DISCOVERY, method='GET',
        summary='OpenID Provider metadata (OIDC Discovery). Needs no '
                'token.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        return discovery_document(settings.issuer())


class WellKnownController(object):
    """``/.well-known`` (RFC 8615): only the discovery document."""

    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_WELL_KNOWN, method='GET',
        summary='The well-known documents this service has (links). '
                'Needs no token.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        return {'links': [{'rel': 'openid-configuration',
                           'href': settings.issuer() + endpoints.DISCOVERY}]}


pecan.route(WellKnownController, 'openid-configuration',
            DiscoveryController())


class JwksController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_JWKS, method='GET',
        summary='The public signing keys (JWKS): the current key, the '
                'next one and retired ones whose tokens may still be '
                'valid. Needs no token. A read only: a provider whose '
                'keys were not made (they are made when the API starts) '
                'answers 503 no_signing_keys.', errors=(503,))}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        # Read afresh, not from the cache: a rotation shows at once.  A
        # read only: the keys are made when the API starts.
        records = _published(oidc_db.load_keys(pecan.request.db,
                                               pecan.request.context))
        if not records:
            raise errors.ApiError(
                'The OIDC provider has no signing keys yet: they are made '
                'when the API starts with its database ready; restart it '
                'or run "federation-manage keys rotate".',
                code='no_signing_keys', status=503)
        return keys.public_jwks(records)


# -- authorization -----------------------------------------------------------

def _redirect(uri, params):
    """A 302 to the client's redirect URI with ``params`` added to its
    query."""
    query = urllib.parse.urlencode(params)
    pecan.response.status = 302
    pecan.response.headers['Location'] = (
        uri + ('&' if '?' in uri else '?') + query)
    pecan.response.headers['Cache-Control'] = 'no-store'
    return {}


class AuthorizeController(object):
    """``/oidc/authorize``: GET with the request in the query, POST with
    it as form fields (OIDC Core 3.1.2.1: every provider supports
    both)."""

    _SUMMARY = ('Authorization endpoint (code flow with PKCE S256) for '
                'the person of the proxy session: redirects to the '
                'client with a code, or with an error once the client '
                'and its redirect URI are known. Without a session, '
                'redirects to the login (/v1/login, IdP ``idp_hint``), '
                'which comes back here. Needs no Keystone token.')
    # A GET issues a code: a HEAD (405) does not.
    OPENAPI = {'index': (
        openapi.Operation(None, None, status=302, method='GET',
                          query=schema.AUTHORIZE_QUERY, errors=(403,),
                          summary=_SUMMARY, head=False),
        openapi.Operation(None, None, status=302, method='POST',
                          body=schema.AUTHORIZE_QUERY, media_type=FORM,
                          errors=(403,),
                          summary=_SUMMARY + ' The parameters are form '
                          'fields; the query is not read.'))}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    @_oauth_errors
    def index_get(self):
        return self._authorize(pecan.request.GET)

    @index.when(method='POST', template='json')
    @_oauth_errors
    def index_post(self):
        return self._authorize(_optional_form())

    def _authorize(self, params):
        person, auth_time, session_id = self._person()
        client, redirect_uri = self._client(params)
        state = None
        try:
            # Checked first, before a login: a state refused is not sent
            # back (the redirect carried it whole, thousands of
            # characters and line breaks included).
            state = protocol.check_opaque('state', params.get('state'))
            prompt, max_age = protocol.login_prompt(params.get('prompt'),
                                                    params.get('max_age'))
            if protocol.must_log_in(person, auth_time, prompt, max_age,
                                    int(time.time())):
                if 'none' not in prompt:
                    return self._login(params, prompt, max_age)
                # prompt=none (OIDC Core 3.1.2.6): no login page.
                raise protocol.OAuthError(
                    'login_required', 'The person has no session at the '
                    'proxy, or not a recent enough one.')
            answer = self._code(client, redirect_uri, params, person,
                                auth_time, session_id)
        except oidc_db.SessionEnded:
            # Logged out since the session was read: log in again.
            return self._login(params, prompt, max_age)
        except protocol.OAuthError as exc:
            answer = {'error': exc.error,
                      'error_description': exc.description}
        if state is not None:
            answer['state'] = state
        answer['iss'] = settings.issuer()
        return _redirect(redirect_uri, answer)

    @staticmethod
    def _person():
        """``(person, login time, session id)`` of the request: the
        proxy session's (a login through an upstream IdP); with
        ``noauth`` (local runs and tests only), the ``X-User-Id`` of a
        person the proxy knows, whose login time is not known and who
        has no session.  ``(None, None, None)`` when the person must log
        in first.  The path is public, so a Keystone token is not read
        here."""
        found = login.session()
        if found is not None:
            return found
        if not vo_access.caller_id():
            return None, None, None
        if pecan.request.conf.api.auth_strategy != 'noauth':
            return None, None, None
        if not vo_access.is_user():
            raise errors.Forbidden('Only a person known to the proxy can '
                                   'authorize a client.', code='forbidden')
        return vo_access.caller_id(), None, None

    @staticmethod
    def _login(params, prompt, max_age):
        """Send the browser to log in (at the IdP ``idp_hint`` names,
        if any), and back to this very request once it has: without
        ``prompt=login`` and ``max_age``, which that login answers (the
        person has just authenticated; asked again, a ``max_age`` of 0
        would send them to log in for ever).  The login passes both on
        to the upstream IdP and checks its ``auth_time``, so that an
        IdP session does not count as a new login."""
        kept = [(name, value) for name, value in params.items()
                if name not in ('prompt', 'max_age')]
        others = [value for value in (params.get('prompt') or '').split()
                  if value != 'login']
        if others:
            kept.append(('prompt', ' '.join(others)))
        here = '%s?%s' % (endpoints.AUTHORIZE, urllib.parse.urlencode(kept))
        pecan.response.status = 302
        pecan.response.headers['Location'] = login.login_url(
            next=here, idp=params.get('idp_hint') or None,
            prompt_login='login' in prompt, max_age=max_age)
        pecan.response.headers['Cache-Control'] = 'no-store'
        return {}

    @staticmethod
    def _client(params):
        """Errors here are answered, not redirected: the redirect URI is
        not known to be the client's (RFC 6749 4.1.2.1).

        The client is read afresh, never from the cache: a redirect URI
        the operator removed (or a client deleted) must stop receiving
        codes at once, not up to :data:`CLIENT_CACHE_SECONDS` later."""
        client = _client(params.get('client_id'), fresh=True)
        if client is None:
            raise protocol.invalid_request('Unknown client_id.')
        uri = protocol.check_redirect_uri(params.get('redirect_uri'),
                                          client.redirect_uris)
        return client, uri

    @staticmethod
    def _code(client, redirect_uri, params, person, auth_time,
              session_id):
        # OIDC Core 6.1, 6.2: a request object the provider does not read
        # is refused, not ignored (the client meant what it holds).
        for name in ('request', 'request_uri'):
            if name in params:
                raise protocol.OAuthError('%s_not_supported' % name,
                                          'The provider takes no %s.'
                                          % name)
        if params.get('response_type') != 'code':
            raise protocol.OAuthError('unsupported_response_type',
                                      'Only response_type=code.')
        # The only mode discovery names: a client that asked for another
        # one (form_post, to keep codes out of URLs) is told so rather
        # than sent its code in the query after all.
        if params.get('response_mode') not in (None, 'query'):
            raise protocol.invalid_request('Only response_mode=query.')
        if protocol.AUTHORIZATION_CODE not in client.grant_types:
            raise protocol.OAuthError('unauthorized_client', 'The client '
                                      'may not use the code flow.')
        nonce = protocol.check_opaque('nonce', params.get('nonce'),
                                      protocol.MAX_NONCE)
        protocol.check_challenge(params.get('code_challenge'),
                                 params.get('code_challenge_method'))
        scope = protocol.granted_scope(params.get('scope'), client.scopes,
                                       default=client.scopes)
        code = protocol.new_secret()
        expires = settings.now() + datetime.timedelta(
            seconds=settings.conf().authorization_code_lifetime)
        oidc_db.create_code(pecan.request.db, pecan.request.context, code,
                            client.id, person, redirect_uri,
                            ' '.join(scope), nonce,
                            params['code_challenge'], expires,
                            auth_time=auth_time, session_id=session_id)
        return {'code': code}


# -- token -------------------------------------------------------------------

def _refresh_expiry():
    return settings.now() + datetime.timedelta(
        seconds=settings.conf().refresh_token_lifetime)


def _issue(client, person, scope, nonce=None, refresh=False,
           grant_hash=None, auth_time=None, session_id=None,
           identity_id=None):
    """The token response for ``person`` (an :class:`oidc_db.Person`;
    None: the client itself), with a new refresh token, stored here, if
    ``refresh``; ``auth_time``: when the person logged in, kept with the
    refresh token for the ID tokens of later refreshes; ``session_id``:
    the proxy session that authorized the grant, whose logout revokes
    the refresh token; ``identity_id``: the identity of that session's
    login when the code was issued, whose unlinking revokes it (see
    :func:`oidc_db.store_refresh`)."""
    refresh_token = protocol.new_secret() if refresh else None
    if refresh_token:
        try:
            oidc_db.store_refresh(pecan.request.db, pecan.request.context,
                                  refresh_token, client.id, person.user_id,
                                  ' '.join(scope), _refresh_expiry(),
                                  auth_time=auth_time,
                                  session_id=session_id,
                                  identity_id=identity_id)
        except oidc_db.SessionEnded as exc:
            # Shown again, the code is unknown, not replayed.
            if grant_hash is not None:
                oidc_db.forget_refused_code(pecan.request.db,
                                            pecan.request.context,
                                            grant_hash)
            raise _ended_refusal(exc)
    return _signed(client, person, scope, nonce, refresh_token, grant_hash,
                   auth_time)


def _ended_refusal(exc):
    """The refusal of a grant whose authorizing login ended
    (:class:`oidc_db.SessionEnded` ``exc``), saying how."""
    if isinstance(exc, oidc_db.IdpDisabled):
        return _refused_grant('The IdP the person logged in through to '
                              'authorize this grant was disabled or '
                              'deleted.')
    if isinstance(exc, oidc_db.IdentityUnlinked):
        return _refused_grant('The identity the person logged in through '
                              'to authorize this grant was unlinked from '
                              'them.')
    # Its row is gone: a logout, or a login of another person in the
    # same browser that replaced it (logins.start_session).
    return _refused_grant('The session that authorized this grant ended: '
                          'the person logged out, or another person '
                          'logged in in the same browser.')


def _signed(client, person, scope, nonce=None, refresh_token=None,
            grant_hash=None, auth_time=None):
    """The token response: an access token, and an ID token for a person
    with ``openid``, signed; ``refresh_token`` (stored already) is
    handed out with them and names the access token's ``jti``."""
    lifetime = _lifetime()
    issued_at = int(time.time())
    if refresh_token:
        jti = tokens.linked_jti(communities.token_hash(refresh_token))
    elif grant_hash:
        jti = tokens.linked_jti(grant_hash)
    else:
        jti = uuid.uuid4().hex
    if person is None:
        subject, (found, groups, profile) = client.id, ([], [], {})
    else:
        subject = person.user_id
        found, groups, profile = _person_claims(person, scope)
    key = access_tokens.current_key(pecan.request.db, pecan.request.context)
    claims = tokens.access_claims(settings.issuer(), subject, client.id,
                                  scope, issued_at, lifetime, jti, found,
                                  groups)
    access = tokens.sign(key, claims, tokens.ACCESS_TOKEN_TYPE)
    if len(access) > settings.conf().access_token_max_size:
        # Too long for a request header: the memberships are left to
        # userinfo (and introspection).
        access = tokens.sign(key, tokens.memberships_elsewhere(
            claims, settings.issuer() + endpoints.USERINFO),
            tokens.ACCESS_TOKEN_TYPE)
    body = {'access_token': access, 'token_type': 'Bearer',
            'expires_in': lifetime, 'scope': ' '.join(scope)}
    if refresh_token:
        body['refresh_token'] = refresh_token
    if person is not None and 'openid' in scope:
        body['id_token'] = tokens.sign(key, tokens.id_claims(
            settings.issuer(), subject, client.id, issued_at, lifetime,
            nonce, access, profile, auth_time), tokens.ID_TOKEN_TYPE)
    return body


def _refused_grant(description):
    return protocol.OAuthError('invalid_grant', description)


def _revoke_grant(client_id, user_id, code_hash=None):
    oidc_db.revoke_grant(pecan.request.db, pecan.request.context, client_id,
                         user_id, settings.now(), _token_lifetime(), code_hash)


def _replayed(client, user_id, grant_hash, what):
    """The refusal of a single-use code used again, after revoking what
    its first use obtained: whoever replays a code may have stolen it
    (OAuth 2.0 Security BCP 4.5)."""
    _revoke_grant(client.id, user_id, grant_hash)
    return _refused_grant('The %s was used already; the tokens issued '
                          'for it are revoked.' % what)


def _require_grant(client, grant):
    if grant not in client.grant_types:
        raise protocol.OAuthError('unauthorized_client', 'The client may '
                                  'not use grant %s.' % grant)


def _authorization_code(client, form):
    _require_grant(client, protocol.AUTHORIZATION_CODE)
    code = _required(form, 'code')

    def check(record):
        # Before the code is used up: a request without its verifier
        # (someone who saw the code only) leaves it to its client.
        if form.get('redirect_uri') != record.redirect_uri:
            raise _refused_grant('redirect_uri differs from the '
                                 'authorization request\'s.')
        protocol.check_verifier(form.get('code_verifier'),
                                record.code_challenge)

    status, record = oidc_db.redeem_code(
        pecan.request.db, pecan.request.context, code, client.id,
        settings.now(), check=check)
    if status == oidc_db.REUSED:
        raise _replayed(client, record.user_id, record.code_hash,
                        'authorization code')
    if status != oidc_db.OK:
        raise _refused_grant('Unknown, expired or foreign authorization '
                             'code.')
    person = _find_person(record.user_id)
    if person is None:
        raise _refused_grant('The person no longer exists.')
    return _issue(client, person,
                  protocol.still_allowed(record.scope.split(),
                                         client.scopes),
                  record.nonce,
                  protocol.REFRESH_TOKEN in client.grant_types,
                  record.code_hash, record.auth_time, record.session_id,
                  record.identity_id)


def _refresh_token(client, form):
    _require_grant(client, protocol.REFRESH_TOKEN)
    token = _required(form, 'refresh_token')
    refresh_token = protocol.new_secret()

    def narrow(granted):
        # The new tokens' scope: asked for, or as granted, less what the
        # client lost since; and the grant's, which the new refresh
        # token keeps (RFC 6749 6: a narrower access token asked for
        # once does not narrow the grant).
        kept = protocol.still_allowed(granted, client.scopes)
        return protocol.still_allowed(
            protocol.narrowed_scope(form.get('scope'), granted),
            client.scopes), kept

    status, values = oidc_db.use_refresh(
        pecan.request.db, pecan.request.context, token, client.id,
        settings.now(), narrow, refresh_token, _refresh_expiry())
    if status == oidc_db.REUSED:
        # A rotated refresh token used again: one of the two users of it
        # is not the client (Security BCP 4.14.2); the grant ends.
        _revoke_grant(client.id, values[0])
        raise _refused_grant('The refresh token was used already; the '
                             'grant is revoked.')
    if status != oidc_db.OK:
        raise _refused_grant('Unknown, expired or foreign refresh token.')
    scope, person, auth_time = values
    if person is None:
        raise _refused_grant('The person no longer exists.')
    return _signed(client, person, scope, refresh_token=refresh_token,
                   auth_time=auth_time)


def _client_credentials(client, form):
    _require_grant(client, protocol.CLIENT_CREDENTIALS)
    if client.secret_hash is None:
        raise protocol.OAuthError('unauthorized_client', 'A public client '
                                  'cannot use client_credentials.')
    # No person is behind this grant: neither an ID token (openid) nor
    # the management scope, which makes a token a person at /v1.
    default = [s for s in client.scopes
               if s not in ('openid', login_flow.MANAGEMENT_SCOPE)]
    allowed = default
    scope = protocol.granted_scope(form.get('scope'), allowed, default)
    return _issue(client, None, scope)


#: The descriptions of the token endpoint's device-grant refusals
#: (RFC 8628 3.5); the outcome is the error code.
_DEVICE_REFUSALS = {
    device.AUTHORIZATION_PENDING: 'The person has not approved the '
                                  'request yet; poll again after the '
                                  'interval.',
    device.SLOW_DOWN: 'Polled too soon; wait 5 seconds more between '
                      'polls from now on.',
    device.ACCESS_DENIED: 'The person denied the request.',
    device.EXPIRED_TOKEN: 'The device code has expired; start again.',
}


def _device_code(client, form):
    _require_grant(client, protocol.DEVICE_CODE)
    code = _required(form, 'device_code')
    outcome, record = oidc_db.poll_device_code(
        pecan.request.db, pecan.request.context, code, client.id,
        settings.now())
    if outcome == device.REPLAYED:
        raise _replayed(client, record.user_id, record.device_code_hash,
                        'device code')
    if outcome in _DEVICE_REFUSALS:
        raise protocol.OAuthError(outcome, _DEVICE_REFUSALS[outcome])
    if outcome != device.ISSUE:
        raise _refused_grant('Unknown or foreign device code.')
    person = _find_person(record.user_id)
    if person is None:
        raise _refused_grant('The person no longer exists.')
    return _issue(client, person,
                  protocol.still_allowed(record.scope.split(),
                                         client.scopes),
                  refresh=protocol.REFRESH_TOKEN in client.grant_types,
                  grant_hash=record.device_code_hash,
                  auth_time=record.auth_time,
                  session_id=record.session_id,
                  identity_id=record.identity_id)


_GRANTS = {protocol.AUTHORIZATION_CODE: _authorization_code,
           protocol.REFRESH_TOKEN: _refresh_token,
           protocol.CLIENT_CREDENTIALS: _client_credentials,
           protocol.DEVICE_CODE: _device_code}


class TokenController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_TOKEN, method='POST',
        body=schema.TOKEN_REQUEST, media_type=FORM, errors=(401,),
        summary='Token endpoint (RFC 6749): authorization_code with PKCE, '
                'refresh_token (rotated on each use), client_credentials. '
                'The client authenticates with client_secret_basic or '
                'client_secret_post.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='POST', template='json')
    @_oauth_errors
    def index_post(self):
        pecan.response.headers['Cache-Control'] = 'no-store'
        pecan.response.headers['Pragma'] = 'no-cache'
        form, client = _authenticated_form()
        grant = _GRANTS.get(form.get('grant_type'))
        if grant is None:
            raise protocol.OAuthError('unsupported_grant_type',
                                      'Unsupported grant_type.')
        return grant(client, form)


# -- userinfo, introspection, revocation -------------------------------------

def _optional_form():
    """The form fields of a request whose parameters may all be absent:
    ``{}`` without a body.

    :raises OAuthError: ``invalid_request`` for a body that is not
        form fields.
    """
    form = pecan.request.environ.get(request_guard.FORM_BODY_KEY)
    if form is None:
        if pecan.request.body:
            raise protocol.invalid_request(
                'The body must be %s form fields.' % FORM)
        return {}
    return form


def _userinfo_token():
    """The access token of a ``POST`` to userinfo: in the Authorization
    header, or in the ``access_token`` form field (RFC 6750 2.2).

    :raises OAuthError: ``invalid_request`` when both carry one (RFC
        6750 2: one method per request); ``invalid_token`` (401) when
        neither does.
    """
    in_form = _optional_form().get('access_token')
    if not in_form:
        return _bearer()
    if _authorization('bearer') is not None:
        raise protocol.invalid_request(
            'The access token is sent either in the Authorization header '
            'or in the access_token form field, not both.')
    return in_form


class UserinfoController(object):
    """``/oidc/userinfo`` (OIDC Core 5.3): GET and POST, as 5.3.1 asks
    of every provider."""

    _SUMMARY = ('UserInfo endpoint (OIDC Core 5.3): the person of the '
                'bearer access token, with entitlements as of now.')
    OPENAPI = {'index': (
        openapi.Operation(None, schema.RESPONSE_USERINFO, method='GET',
                          errors=(401,), summary=_SUMMARY),
        openapi.Operation(
            None, schema.RESPONSE_USERINFO, method='POST',
            body=schema.USERINFO_REQUEST, media_type=FORM,
            body_required=False, errors=(401,),
            summary=_SUMMARY + ' The access token is in the Authorization '
            'header (Bearer) or in the access_token form field (RFC 6750 '
            '2.2), not both.'))}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    @_oauth_errors
    def index_get(self):
        return self._claims(_bearer())

    @index.when(method='POST', template='json')
    @_oauth_errors
    def index_post(self):
        return self._claims(_userinfo_token())

    @staticmethod
    def _claims(token):
        try:
            claims = _read_access_token(token)
        except tokens.InvalidToken as exc:
            raise protocol.OAuthError('invalid_token', str(exc), 401)
        # A client's own token (client_credentials) names the client,
        # never the person who may have the same id.
        person = (None if login_flow.is_client_token(claims) else
                  _find_person(claims['sub']))
        if person is None:
            raise protocol.OAuthError('invalid_token', 'The token '
                                      'names no person.', 401)
        scope = protocol.parse_scope(claims.get('scope'))
        found, groups, profile = _person_claims(person, scope)
        return dict(profile, sub=person.user_id, eduperson_entitlement=found,
                    groups=groups)


class IntrospectController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_INTROSPECTION, method='POST',
        body=schema.TOKEN_HANDLE_REQUEST, media_type=FORM, errors=(401,),
        summary='Token introspection (RFC 7662) for authenticated '
                'confidential clients: active, and the claims of a valid '
                'access token, or the scope, subject and expiry of a '
                'usable refresh token of the asking client '
                '(token_type refresh_token); {"active": false} for '
                'anything else.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='POST', template='json')
    @_oauth_errors
    def index_post(self):
        form, client = _authenticated_form(confidential=True)
        token = form.get('token')
        try:
            claims = _read_access_token(token)
        except tokens.InvalidToken:
            return self._refresh_token(client, token)
        answer = {name: claims[name] for name in (
            'scope', 'client_id', 'sub', 'aud', 'iss', 'jti', 'exp', 'iat',
            'nbf', 'eduperson_entitlement', 'groups') if name in claims}
        answer.update(active=True, token_type='Bearer')
        if tokens.has_memberships_elsewhere(claims):
            answer.update(self._memberships_now(claims))
        return answer

    @staticmethod
    def _memberships_now(claims):
        """The memberships a token too long to carry them left to
        userinfo, as of now (the answer is a body, not a header: it may
        be long)."""
        person = (None if login_flow.is_client_token(claims) else
                  _find_person(claims['sub']))
        if person is None:
            return {}
        found, groups, _profile = _person_claims(
            person, protocol.parse_scope(claims.get('scope')))
        return {'eduperson_entitlement': found, 'groups': groups}

    @staticmethod
    def _refresh_token(client, token):
        """The answer about ``token`` as a refresh token: active only
        for the client it was issued to, and only while the refresh
        grant would take it (unused, unrevoked, unexpired, its person
        known, the client still allowed the grant and some of its
        scope)."""
        inactive = {'active': False}
        if not token or protocol.REFRESH_TOKEN not in client.grant_types:
            return inactive
        record = oidc_db.find_refresh(pecan.request.db,
                                      pecan.request.context, token,
                                      client.id, settings.now())
        if record is None:
            return inactive
        scope = [name for name in record.scope.split()
                 if name in client.scopes]
        if record.scope and not scope:
            return inactive
        return {'active': True, 'token_type': 'refresh_token',
                'scope': ' '.join(scope), 'client_id': record.client_id,
                'sub': record.user_id, 'iss': settings.issuer(),
                'exp': tokens.timestamp(record.expires_at)}


class RevokeController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_REVOCATION, method='POST',
        body=schema.TOKEN_HANDLE_REQUEST, media_type=FORM, errors=(401,),
        summary='Token revocation (RFC 7009): a refresh token or an '
                'access token of the authenticated client, and with it '
                'the grant it belongs to: its refresh token and the '
                'access tokens issued with it, which userinfo, '
                'introspection and the API refuse at once. Answers 200 '
                'whether or not the token was valid.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='POST', template='json')
    @_oauth_errors
    def index_post(self):
        form, client = _authenticated_form()
        token = _required(form, 'token')
        if oidc_db.revoke_refresh(pecan.request.db, pecan.request.context,
                                  token, client.id, settings.now(),
                                  _token_lifetime()):
            return {}
        try:
            claims = _read_access_token(token, audience=client.id)
        except tokens.InvalidToken:
            # RFC 7009 2.2: an invalid token needs no answer but 200.
            return {}
        # The grant it was issued with ends too (RFC 7009 2.1).
        oidc_db.revoke_access(
            pecan.request.db, pecan.request.context, claims['jti'],
            datetime.datetime.utcfromtimestamp(claims['exp']), client.id,
            claims['sub'], settings.now(), _token_lifetime())
        return {}


# -- logout (OpenID Connect RP-Initiated Logout 1.0) --------------------------

def _logout_hint(hint):
    """The claims of ``id_token_hint``: an ID token this provider
    issued (expired ones too: it names the person, it grants nothing).

    :raises OAuthError: ``invalid_request`` for anything else.
    """
    try:
        return tokens.verify(hint, _published(_records()),
                             settings.issuer(), int(time.time()),
                             typ=tokens.ID_TOKEN_TYPE, expired_ok=True)
    except tokens.InvalidToken as exc:
        raise protocol.invalid_request('id_token_hint is not an ID token '
                                       'of this provider: %s' % exc)


def _logout_client(params, claims):
    """The client the logout request is for (``client_id``, or the
    hint's ``azp``/``aud``), None if it names none.

    :raises OAuthError: ``invalid_request``: a ``client_id`` the hint
        was not issued to, or an unknown client.
    """
    client_id = params.get('client_id')
    if claims is not None:
        aud = claims['aud']
        audiences = [aud] if isinstance(aud, str) else aud
        if client_id is not None and client_id not in audiences:
            raise protocol.invalid_request('id_token_hint was not issued '
                                           'to client_id.')
        client_id = client_id or claims.get('azp') or audiences[0]
    if client_id is None:
        return None
    client = _client(client_id, fresh=True)
    if client is None:
        raise protocol.invalid_request('Unknown client_id.')
    return client


class EndSessionController(object):
    """``/oidc/logout``: the end_session_endpoint of OpenID Connect
    RP-Initiated Logout 1.0: GET with the parameters in the query, POST
    with them as form fields (section 2 asks for both).

    A relying party sends the person's browser here with the
    ``id_token_hint`` it holds: the browser's proxy session, when it is
    that person's, ends as at ``POST /v1/logout`` (server-side, with
    the grants it authorized).  A session of someone else, or a request
    without a hint while a session is open, ends nothing and is
    refused: the proxy has no page to ask the person whether to log out
    (a cross-site link must not log people out); they can at ``POST
    /v1/logout``.  ``post_logout_redirect_uri`` must be one of the
    client's registered redirect URIs, exactly.
    """

    _SUMMARY = ('End session endpoint (OpenID Connect RP-Initiated '
                'Logout): with the id_token_hint of the person of the '
                'proxy session, ends that session server-side and '
                'revokes the grants it authorized, then redirects to '
                'post_logout_redirect_uri (a registered redirect URI of '
                'the client) with state, or answers {"logged_out": '
                'true|false}. Needs no token.')
    # A GET ends a session: a HEAD (405) does not.
    OPENAPI = {'index': (
        openapi.Operation(None, schema.RESPONSE_END_SESSION, method='GET',
                          query=schema.END_SESSION_REQUEST,
                          summary=_SUMMARY, head=False),
        openapi.Operation(None, schema.RESPONSE_END_SESSION, method='POST',
                          body=schema.END_SESSION_REQUEST, media_type=FORM,
                          body_required=False,
                          summary=_SUMMARY + ' The parameters are form '
                          'fields; the query is not read.'))}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    @_oauth_errors
    def index_get(self):
        return self._end(pecan.request.GET)

    @index.when(method='POST', template='json')
    @_oauth_errors
    def index_post(self):
        return self._end(_optional_form())

    @staticmethod
    def _end(params):
        pecan.response.headers['Cache-Control'] = 'no-store'
        hint = params.get('id_token_hint')
        claims = _logout_hint(hint) if hint else None
        client = _logout_client(params, claims)
        redirect = params.get('post_logout_redirect_uri')
        if redirect is not None:
            if client is None:
                raise protocol.invalid_request(
                    'post_logout_redirect_uri needs client_id or '
                    'id_token_hint.')
            if redirect not in client.redirect_uris:
                raise protocol.invalid_request(
                    'post_logout_redirect_uri is not registered for this '
                    'client.')
        state = protocol.check_opaque('state', params.get('state'))
        found = login.session()
        if found is not None and (claims is None or
                                  claims['sub'] != found.user_id):
            raise protocol.invalid_request(
                'Only the id_token_hint of the person of this session '
                'logs it out here; the person can log out with POST '
                '%s.' % login_flow.LOGOUT_PATH)
        login.end_session(found)
        if redirect is None:
            return {'logged_out': found is not None}
        return _redirect(redirect, {} if state is None else
                         {'state': state})


# -- device authorization (RFC 8628) -----------------------------------------

#: Wrong user codes entered, per person, in this process.
_USER_CODE_ATTEMPTS = device.AttemptLimiter()

#: Tries at drawing a user code that no pending request has.
_USER_CODE_DRAWS = 5


def _new_device_request(client, scope):
    """Keep a new device authorization request; ``(device code, user
    code)``."""
    conf = settings.conf()
    device_code = protocol.new_secret()
    expires = settings.now() + datetime.timedelta(
        seconds=conf.device_code_lifetime)
    for _attempt in range(_USER_CODE_DRAWS):
        user_code = device.new_user_code()
        try:
            oidc_db.create_device_code(
                pecan.request.db, pecan.request.context, device_code,
                user_code, client.id, ' '.join(scope),
                conf.device_poll_interval, expires)
            return device_code, user_code
        except db_exc.DBDuplicateEntry:
            continue
    raise protocol.OAuthError('temporarily_unavailable', 'No free user '
                              'code; try again.', 503)


class DeviceAuthorizationController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_DEVICE_AUTHORIZATION, method='POST',
        body=schema.DEVICE_AUTHORIZATION_REQUEST, media_type=FORM,
        errors=(401, 503),
        summary='Device authorization endpoint (RFC 8628): a device code '
                'for the client to poll the token endpoint with, and a '
                'user code for the person to enter at the verification '
                'URI. The client authenticates as at the token endpoint '
                '(a public client sends its client_id).')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='POST', template='json')
    @_oauth_errors
    def index_post(self):
        pecan.response.headers['Cache-Control'] = 'no-store'
        form, client = _authenticated_form()
        _require_grant(client, protocol.DEVICE_CODE)
        scope = protocol.granted_scope(form.get('scope'), client.scopes,
                                       default=client.scopes)
        device_code, user_code = _new_device_request(client, scope)
        uri = settings.issuer() + endpoints.DEVICE
        shown = device.display(user_code)
        conf = settings.conf()
        return {'device_code': device_code, 'user_code': shown,
                'verification_uri': uri,
                'verification_uri_complete': uri + '?' +
                urllib.parse.urlencode({'user_code': shown}),
                'expires_in': conf.device_code_lifetime,
                'interval': conf.device_poll_interval}


def _session_person():
    """``(person id, CSRF token, login time, session id)`` of the
    request's proxy session.

    :raises errors.ApiError: 401 ``login_required`` without a valid
        session.
    """
    found = login.session()
    if found is None:
        raise errors.ApiError(
            'Log in to the proxy first (GET %s/v1/login?idp=<your IdP>), '
            'then open this page again.' % settings.issuer(),
            code='login_required', status=401)
    session = cookies.read_own(pecan.request.environ,
                               login_flow.SESSION_COOKIE, settings.issuer())
    return (found.user_id,
            device.csrf_token(settings.conf().secret_key, session),
            found.auth_time, found.session_id)


def _pending_request(person, typed):
    """The pending request of the user code ``typed``.

    :raises errors.ApiError: 429 when ``person`` entered too many wrong
        codes lately; 404 for a code of no pending request (counted as
        a wrong code).
    """
    now = time.monotonic()
    if not _USER_CODE_ATTEMPTS.allowed(person, now):
        raise errors.ApiError('Too many wrong user codes; wait a few '
                              'minutes.', code='too_many_attempts',
                              status=429)
    user_code = device.normalise(typed)
    record = None if user_code is None else oidc_db.find_device_code(
        pecan.request.db, pecan.request.context, user_code,
        settings.now())
    if record is None:
        if user_code is not None:
            _USER_CODE_ATTEMPTS.failed(person, now)
        raise errors.NotFound('No pending request has this user code '
                              '(mistyped, used or expired).',
                              code='user_code_not_found')
    return user_code, record


def _same_origin():
    """A browser's POST must come from the proxy's own pages: an
    ``Origin`` header (every browser sends one with a form POST) must be
    the issuer's origin."""
    origin = pecan.request.headers.get('Origin')
    if origin is None:
        return True
    issuer = urllib.parse.urlsplit(settings.issuer())
    return origin == '%s://%s' % (issuer.scheme, issuer.netloc)


class DeviceDecisionController(object):
    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_DEVICE_DECISION, method='POST',
        body=schema.DEVICE_DECISION_REQUEST, media_type=FORM,
        errors=(401, 403, 404, 429),
        summary='The person of the proxy session approves or denies the '
                'device authorization request of a user code. The form '
                'carries the csrf_token of GET /oidc/device.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='POST', template='json')
    def index_post(self):
        pecan.response.headers['Cache-Control'] = 'no-store'
        person, expected, auth_time, session_id = _session_person()
        form = pecan.request.environ.get(request_guard.FORM_BODY_KEY)
        if form is None:
            raise errors.BadRequest('The body must be %s form fields.'
                                    % FORM, code='invalid_request')
        if not _same_origin() or not device.same_csrf_token(
                expected, form.get('csrf_token')):
            raise errors.Forbidden('The form does not come from this '
                                   'session\'s verification page.',
                                   code='csrf_refused')
        action = form.get('action')
        if action not in ('approve', 'deny'):
            raise errors.BadRequest('action is approve or deny.',
                                    code='invalid_request', field='action')
        user_code, _record = _pending_request(person,
                                              form.get('user_code'))
        try:
            decided = oidc_db.decide_device_code(
                pecan.request.db, pecan.request.context, user_code, person,
                action == 'approve', settings.now(), auth_time, session_id)
        except oidc_db.SessionEnded:
            raise errors.ApiError('The session was logged out; log in '
                                  'again.', code='login_required',
                                  status=401)
        if not decided:
            raise errors.NotFound('The request was decided or expired '
                                  'meanwhile.', code='user_code_not_found')
        return {'user_code': device.display(user_code),
                'approved': action == 'approve'}


class DeviceController(object):
    """``/oidc/device``: the verification URI of RFC 8628."""

    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_DEVICE, method='GET',
        query=schema.DEVICE_QUERY, errors=(401, 404, 429),
        summary='Verification page of the device authorization grant, '
                'for the person logged in to the proxy (session cookie): '
                'what the request of user_code asks (client, scope) and '
                'the csrf_token to approve or deny it with POST '
                '/oidc/device/decision. Without user_code, only the '
                'csrf_token.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        pecan.response.headers['Cache-Control'] = 'no-store'
        person, csrf, _auth_time, _session_id = _session_person()
        answer = {'user_code': None, 'client_id': None,
                  'client_name': None, 'scope': None, 'user_id': person,
                  'csrf_token': csrf, 'decision_uri':
                  settings.issuer() + endpoints.DEVICE_DECISION}
        typed = pecan.request.GET.get('user_code')
        if typed:
            user_code, record = _pending_request(person, typed)
            # Only the client's name, shown to the person: the cache
            # will do.
            client = _client(record.client_id)
            answer.update(user_code=device.display(user_code),
                          client_id=record.client_id,
                          client_name=client.name if client else None,
                          scope=record.scope)
        return answer

    decision = DeviceDecisionController()


class OidcController(object):
    """``/oidc``: the provider's protocol endpoints; ``GET /oidc`` is the
    discovery document too."""

    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_DISCOVERY, method='GET',
        summary='OpenID Provider metadata, as at '
                '/.well-known/openid-configuration. Needs no token.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        return discovery_document(settings.issuer())

    jwks = JwksController()
    authorize = AuthorizeController()
    token = TokenController()
    userinfo = UserinfoController()
    introspect = IntrospectController()
    revoke = RevokeController()
    device_authorization = DeviceAuthorizationController()
    device = DeviceController()
    logout = EndSessionController()


def wire(root_class):
    """Attach ``/.well-known`` and ``/oidc`` to the service's root."""
    pecan.route(root_class, '.well-known', WellKnownController())
    root_class.oidc = OidcController()
