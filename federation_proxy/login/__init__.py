"""Logging a person in through an upstream OIDC provider: the relying
party's rules, with no HTTP framework and no database.

The proxy uses the authorization code flow (OIDC Core 3.1) with PKCE
S256 (RFC 7636), ``state`` against cross-site request forgery and
``nonce`` against ID-token replay.  The ID token is validated as OIDC
Core 3.1.3.7 requires, with joserfc: the signature against the IdP's
JWKS (fetched again once when the token names a key id the cached set
does not have, or when the cached key of its id does not verify it, so
that the IdP may rotate its keys), an asymmetric
algorithm only (never ``none`` nor an HMAC keyed with the client
secret), ``iss``, ``aud`` (and ``azp`` when there are several
audiences), ``exp``, ``iat`` within a window around now, and ``nonce``.

After a login the person holds a proxy session: a short-lived HS256 JWT
keyed with a key derived from ``[federation] secret_key``, carried in
the :data:`SESSION_COOKIE` cookie, that the proxy's own authorization
endpoint accepts as the authenticated person.
"""

import collections
import hashlib
import hmac
import math
import secrets
import urllib.parse

from authlib.oauth2.rfc7636 import challenge as pkce
from joserfc import errors as jose_errors
from joserfc import jwk
from joserfc import jwt

#: Signature algorithms accepted on an upstream ID token: asymmetric
#: ones only, so that the token proves the IdP signed it.
ID_TOKEN_ALGORITHMS = ('RS256', 'RS384', 'RS512', 'PS256', 'PS384',
                       'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA')
SESSION_ALGORITHM = 'HS256'
SESSION_COOKIE = 'federation_session'
SESSION_TYPE = 'federation-session'
#: The cookie that binds a login under way to the browser that started
#: it (:func:`login_binding`); read by :data:`CALLBACK_PATH` only.
LOGIN_COOKIE = 'federation_login'

#: Where the login endpoints answer; public paths (no Keystone token):
#: the state and the IdP's ID token authenticate a login.
LOGIN_PATH = '/v1/login'
CALLBACK_PATH = '/v1/login/callback'
CHOOSER_PATH = '/v1/login/idps'
#: Ends the browser's proxy session (clears its cookie).
LOGOUT_PATH = '/v1/logout'
PUBLIC_PATHS = (LOGIN_PATH, CALLBACK_PATH, CHOOSER_PATH, LOGOUT_PATH)

#: The only path a login may continue to once the person is back: the
#: proxy's own authorization endpoint.
CONTINUATION_PATH = '/oidc/authorize'
MAX_CONTINUATION = 4096

#: The scope a proxy access token must carry to be accepted as
#: ``Authorization: Bearer`` on the proxy's own API.  A relying party
#: that holds a person's ordinary access token (``openid profile ...``)
#: must not be able to act as that person on the management API; only
#: a client the operator registered with this scope can ask for it.
MANAGEMENT_SCOPE = 'vo_management'

#: The header a cookie-authenticated request with an unsafe method must
#: carry: a cross-site HTML form cannot send it, and a cross-origin
#: script can only after a CORS preflight the proxy's CORS settings
#: allow.
CSRF_HEADER = 'X-Requested-With'
SAFE_METHODS = ('GET', 'HEAD', 'OPTIONS')


class Refused(Exception):
    """The login cannot go on; the message says why (safe to show)."""


def new_secret():
    """An unguessable value for ``state``, ``nonce`` or a PKCE verifier
    (256 bits, URL-safe; RFC 7636 4.1 wants 43 to 128 characters)."""
    return secrets.token_urlsafe(32)


def authorization_url(endpoint, client_id, redirect_uri, scopes, state,
                      nonce, verifier, prompt_login=False, max_age=None):
    """The URL of the IdP's authorization endpoint that starts a login
    (OIDC Core 3.1.2.1); with ``prompt=login`` if ``prompt_login`` and
    with ``max_age`` (seconds) if given, for a relying party that asked
    the proxy for a fresh login (see :func:`freshness`)."""
    params = {'response_type': 'code', 'client_id': client_id,
              'redirect_uri': redirect_uri, 'scope': ' '.join(scopes),
              'state': state, 'nonce': nonce,
              'code_challenge': pkce.create_s256_code_challenge(verifier),
              'code_challenge_method': 'S256'}
    if prompt_login:
        params['prompt'] = 'login'
    if max_age is not None:
        params['max_age'] = str(max_age)
    split = urllib.parse.urlsplit(endpoint)
    query = urllib.parse.parse_qsl(split.query) + sorted(params.items())
    return urllib.parse.urlunsplit(split._replace(
        query=urllib.parse.urlencode(query)))


def scopes(configured):
    """The scopes to ask for: the IdP's, always with ``openid``."""
    names = configured.split()
    return names if 'openid' in names else ['openid'] + names


def _key_set(document):
    try:
        return jwk.KeySet.import_key_set(document)
    except (jose_errors.JoseError, ValueError, TypeError, KeyError):
        raise Refused('The IdP\'s JWKS is not a usable key set.')


def _decode(token, load_keys):
    """Verify the signature; a key id unknown to the cached key set, or
    a signature it does not verify, makes ``load_keys(refresh=True)``
    fetch the IdP's JWKS again, once."""
    if not isinstance(token, str) or not token:
        raise Refused('The IdP answered no ID token.')
    refreshed = False
    keys = load_keys(refresh=False)
    while True:
        try:
            return jwt.decode(token, _key_set(keys),
                              algorithms=list(ID_TOKEN_ALGORITHMS))
        except jose_errors.InvalidKeyIdError:
            if refreshed:
                raise Refused('The ID token is signed with a key the IdP '
                              'does not publish.')
            refreshed = True
            keys = load_keys(refresh=True)
        except jose_errors.BadSignatureError:
            # An IdP that rotated its key under the same key id: the
            # cached key set does not verify it, the IdP's JWKS now
            # does.  Fetched again once, as for an unknown key id.
            if refreshed:
                raise Refused('The ID token\'s signature is not valid.')
            refreshed = True
            keys = load_keys(refresh=True)
        except (jose_errors.JoseError, ValueError, TypeError):
            raise Refused('The ID token is malformed or uses an '
                          'algorithm the proxy does not accept.')


def validate_id_token(token, load_keys, issuer, client_id, nonce, now,
                      leeway=60, max_age=600):
    """The claims of a valid ID token (OIDC Core 3.1.3.7).

    :param load_keys: ``load_keys(refresh)``: the IdP's JWKS document,
        from a cache unless ``refresh``.
    :param now: seconds since the epoch.
    :param leeway: seconds of clock difference tolerated.
    :param max_age: how old (``iat``) an ID token may be, in seconds.
    :raises Refused: saying which check failed.
    """
    claims = _decode(token, load_keys).claims

    def need(name, kinds):
        value = claims.get(name)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise Refused('The ID token has no valid %s claim.' % name)
        return value

    def need_time(name):
        # A NumericDate (RFC 7519 2): a finite number.  NaN compares
        # false with everything and would pass every window check.
        value = need(name, (int, float))
        if not math.isfinite(value):
            raise Refused('The ID token has no valid %s claim.' % name)
        return value

    if need('iss', str) != issuer:
        raise Refused('The ID token was issued by %r, not by the IdP.'
                      % claims['iss'])
    if not is_subject(need('sub', str)):
        raise Refused('The ID token\'s sub is empty, longer than %d '
                      'characters or not printable.' % MAX_SUBJECT)
    aud = need('aud', (str, list))
    audiences = [aud] if isinstance(aud, str) else aud
    if client_id not in audiences:
        raise Refused('The ID token is not meant for the proxy (aud).')
    azp = claims.get('azp')
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise Refused('The ID token\'s authorized party (azp) is not the '
                      'proxy.')
    if need_time('exp') <= now - leeway:
        raise Refused('The ID token has expired.')
    iat = need_time('iat')
    if iat > now + leeway:
        raise Refused('The ID token is issued in the future (iat).')
    if iat < now - max_age - leeway:
        raise Refused('The ID token was issued too long ago (iat).')
    if 'nbf' in claims and need_time('nbf') > now + leeway:
        raise Refused('The ID token is not valid yet (nbf).')
    got = claims.get('nonce')
    if not isinstance(got, str) or not hmac.compare_digest(
            got.encode('utf-8'), nonce.encode('utf-8')):
        raise Refused('The ID token\'s nonce is not the login\'s.')
    return claims


def freshness(prompt_login, max_age, now):
    """What a login asks the upstream IdP for and checks: ``(max_age
    to send or None, earliest auth_time accepted or None)``.

    ``prompt=login`` is sent with ``max_age=0`` (OIDC Core 3.1.2.1:
    the same request), so that the IdP must say in ``auth_time`` when it
    authenticated the person (OIDC Core 2), and the callback can tell a
    new authentication from an IdP session let through.
    """
    if prompt_login:
        max_age = 0
    if max_age is None:
        return None, None
    return max_age, int(now) - max_age


def login_time(claims, auth_after, now, leeway=60):
    """When the upstream IdP authenticated the person (seconds since the
    epoch): its ID token's ``auth_time`` if it is a time not after now;
    else now, when the login asked for no fresh authentication.

    :param auth_after: the earliest ``auth_time`` the login accepts
        (:func:`freshness`), or None.
    :raises Refused: the login asked for a fresh authentication and the
        ID token says none happened, or does not say when.
    """
    value = claims.get('auth_time')
    known = (not isinstance(value, bool) and
             isinstance(value, (int, float)) and math.isfinite(value) and
             0 < value <= now + leeway)
    if auth_after is not None:
        if not known:
            raise Refused('The IdP did not say when it authenticated the '
                          'person (auth_time), which a fresh login needs.')
        if value < auth_after - leeway:
            raise Refused('The IdP did not authenticate the person afresh '
                          '(auth_time is older than the login allows).')
    return min(int(value), int(now)) if known else int(now)


#: OIDC Core 2: a ``sub`` is at most 255 characters long (and the proxy
#: keeps it in a column of that size).
MAX_SUBJECT = 255


def is_subject(value):
    """Whether ``value`` (a string) can be an upstream ``sub``: 1 to
    :data:`MAX_SUBJECT` printable characters, not all blank.  A control
    character (a NUL, a newline) or a bidirectional override would be
    stored and shown to managers and operators as the identity's
    subject."""
    return (0 < len(value) <= MAX_SUBJECT and value.isprintable() and
            not value.isspace())


#: The claims of a person the proxy reads through an IdP's claim mapping.
MAPPED_CLAIMS = ('name', 'email', 'affiliation', 'assurance')
#: The longest email address (RFC 5321 4.5.3.1.3: a path of 256
#: characters, angle brackets included).
MAX_EMAIL = 254
#: Those that may be lists of strings (eduPerson multi-valued ones).
MULTI_VALUED = ('affiliation', 'assurance')


def email_unverified(claims):
    """Whether an IdP's claims say that it has not verified the person's
    email address (``email_verified`` false; some IdPs send the string
    ``"false"``).  Such an address is whatever the person typed at the
    IdP; handed on to relying parties as the person's, it could be taken
    for someone else's account there (a leaf cloud that maps users by
    email)."""
    value = claims.get('email_verified')
    return value is False or (isinstance(value, str) and
                              value.strip().lower() == 'false')


def mapped_claims(claims, mapping):
    """The person's :data:`MAPPED_CLAIMS` read from an IdP's claims
    through its claim mapping (``{ours: theirs}``): printable strings (at
    most 255 characters), and for :data:`MULTI_VALUED` ones lists of at
    most 32 such strings; anything else (a number, a NUL, a newline) is
    left out, and so is an email the IdP says it has not verified
    (:func:`email_unverified`) or longer than :data:`MAX_EMAIL` (cut, it
    would be another address, not the person's)."""
    found = {}
    for ours in MAPPED_CLAIMS:
        if ours == 'email' and email_unverified(claims):
            continue
        value = claims.get(mapping.get(ours, ours))
        if ours == 'email' and _is_text(value) and len(value) > MAX_EMAIL:
            continue
        if _is_text(value):
            found[ours] = value[:255]
        elif ours in MULTI_VALUED and isinstance(value, list):
            values = [v[:255] for v in value if _is_text(v)]
            if values:
                found[ours] = values[:32]
    return found


def _is_text(value):
    return isinstance(value, str) and bool(value) and value.isprintable()


def person_claims(claims, mapping):
    """``{'name': ..., 'email': ...}`` read from the IdP's claims through
    its claim mapping (``{ours: theirs}``); string values only."""
    found = mapped_claims(claims, mapping)
    return {k: found[k] for k in ('name', 'email') if k in found}


# -- binding a login to the browser that started it -------------------------

def _binding_key(secret_key):
    return hashlib.sha256(
        b'federation-proxy login binding\0' +
        secret_key.encode('utf-8')).digest()


def login_binding(secret_key, state):
    """The value of :data:`LOGIN_COOKIE` for the login of ``state``: an
    HMAC-SHA256 of ``state`` keyed with a key derived from ``[federation]
    secret_key``.

    ``state`` alone says which login a callback finishes, but anyone who
    started that login (an attacker, with their own IdP account) holds
    it and can make another browser finish it.  The callback also wants
    this cookie, which only the browser that started the login was
    given, so a login is finished in the browser that began it.
    """
    if not secret_key:
        raise Refused('Logins cannot be bound: [federation] secret_key '
                      'is not set.')
    return hmac.new(_binding_key(secret_key), state.encode('utf-8'),
                    hashlib.sha256).hexdigest()


def login_bound(secret_key, state, cookie):
    """Whether ``cookie`` (the :data:`LOGIN_COOKIE` the callback got, or
    None) is the binding of the login of ``state`` to this browser."""
    if not (secret_key and isinstance(state, str) and state and
            isinstance(cookie, str) and cookie):
        return False
    return hmac.compare_digest(login_binding(secret_key, state).encode(),
                               cookie.encode('utf-8'))


# -- a link asked for by the person, not by another site --------------------

#: ``Sec-Fetch-Site`` values (Fetch Metadata) of a request the person
#: made at the proxy itself: a URL they typed or bookmarked (``none``),
#: or one a page of the proxy's origin sent (``same-origin``).
OWN_SITES = ('none', 'same-origin')


def link_token(secret_key, session_token):
    """The token that a login with ``link=true`` carries as
    ``csrf_token`` when the browser does not say where the request came
    from: an HMAC of the session cookie ``session_token`` under a key
    derived from ``[federation] secret_key``.  The IdP chooser puts it
    in its login URLs; another site cannot read them, so it cannot make
    the browser link an identity of its choosing to the person."""
    key = hashlib.sha256(b'federation-proxy link\0' +
                         secret_key.encode('utf-8')).digest()
    return hmac.new(key, session_token.encode('utf-8'),
                    hashlib.sha256).hexdigest()


def link_requested_here(secret_key, session_token, fetch_site, token):
    """Whether a login with ``link=true`` comes from the person and not
    from another site: the browser says so (``Sec-Fetch-Site`` in
    :data:`OWN_SITES`), or the request carries the session's
    :func:`link_token`.

    A link makes the identity the IdP logs the browser in as the
    person's for good.  Started by another site's page in the person's
    browser, at an IdP that logs it in as the attacker without asking
    (a hostile IdP of the federation, or one the attacker had logged
    the browser in to), it would give the attacker the person's
    account: a ``cross-site`` or ``same-site`` request, or one that
    says nothing and carries no valid token, is refused.
    """
    if fetch_site in OWN_SITES:
        return True
    if not (secret_key and session_token and isinstance(token, str)):
        return False
    return hmac.compare_digest(
        link_token(secret_key, session_token).encode('ascii'),
        token.encode('utf-8'))


# -- the proxy session -------------------------------------------------------

def _session_key(secret_key):
    if not secret_key:
        raise Refused('Sessions cannot be signed: [federation] secret_key '
                      'is not set.')
    digest = hashlib.sha256(
        b'federation-proxy session\0' + secret_key.encode('utf-8')).digest()
    return jwk.OctKey.import_key(digest)


#: A session cookie's content: the person, when they logged in at the
#: upstream IdP (seconds since the epoch), and the id of the session
#: the proxy keeps (None in a cookie made before sessions were kept).
SessionToken = collections.namedtuple('SessionToken',
                                      'user_id auth_time session_id')


def new_session_id():
    """The id of a new proxy session (kept server-side, carried in the
    signed cookie)."""
    return secrets.token_hex(16)


def sign_session(secret_key, issuer, user_id, now, lifetime,
                 auth_time=None, session_id=None):
    """A session token for person ``user_id``, valid ``lifetime``
    seconds; ``auth_time``: when the upstream IdP authenticated the
    person (seconds since the epoch), if not ``now``; ``session_id``:
    the session the proxy keeps (``sid``)."""
    claims = {'iss': issuer, 'sub': user_id, 'iat': int(now),
              'exp': int(now) + lifetime}
    if auth_time is not None:
        claims['auth_time'] = int(auth_time)
    if session_id is not None:
        claims['sid'] = session_id
    return jwt.encode({'alg': SESSION_ALGORITHM, 'typ': SESSION_TYPE},
                      claims, _session_key(secret_key))


def read_session(secret_key, issuer, token, now):
    """The person id a valid session token names, or None."""
    found = read_session_login(secret_key, issuer, token, now)
    return None if found is None else found[0]


def read_session_login(secret_key, issuer, token, now):
    """``(person id, login time)`` of a valid session token, or None
    (see :func:`read_session_token`)."""
    found = read_session_token(secret_key, issuer, token, now)
    return None if found is None else found[:2]


def read_session_token(secret_key, issuer, token, now):
    """The :class:`SessionToken` of a valid session token, or None.

    The login time (``auth_time``, else ``iat``, seconds since the
    epoch) is when the person last authenticated at an upstream IdP: the
    ``auth_time`` of the ID tokens issued on this session, and what
    ``max_age`` and ``prompt=login`` are judged by.
    """
    if not token or not secret_key or len(token) > 4096:
        return None
    try:
        decoded = jwt.decode(token, _session_key(secret_key),
                             algorithms=[SESSION_ALGORITHM])
    except (jose_errors.JoseError, ValueError, TypeError):
        return None
    claims = decoded.claims
    if (decoded.header.get('typ') != SESSION_TYPE or
            claims.get('iss') != issuer):
        return None
    exp, sub, iat = claims.get('exp'), claims.get('sub'), claims.get('iat')
    if (not _is_time(exp) or exp <= now or not _is_time(iat) or
            not isinstance(sub, str)):
        return None
    auth_time = claims.get('auth_time', iat)
    if not _is_time(auth_time) or auth_time > iat:
        return None
    sid = claims.get('sid')
    return SessionToken(sub, auth_time, sid if isinstance(sid, str) and
                        0 < len(sid) <= 64 else None)


def _is_time(value):
    return isinstance(value, int) and not isinstance(value, bool)


# -- authenticating requests to the proxy's API ------------------------------

def cookie_request_allowed(method, headers):
    """Whether a request authenticated by the session cookie alone may
    go on: a safe method, or one carrying :data:`CSRF_HEADER` (a
    browser sends the cookie with a cross-site form post too)."""
    return method in SAFE_METHODS or bool(headers.get(CSRF_HEADER))


def bearer_token(authorization):
    """The token of an ``Authorization: Bearer <token>`` header value,
    or None for any other header (or none)."""
    scheme, _sep, value = (authorization or '').partition(' ')
    value = value.strip()
    if scheme.lower() != 'bearer' or not value:
        return None
    return value


def grants_management(claims):
    """Whether access-token ``claims`` carry :data:`MANAGEMENT_SCOPE`."""
    scope = claims.get('scope')
    return isinstance(scope, str) and MANAGEMENT_SCOPE in scope.split()


def is_client_token(claims):
    """Whether access-token ``claims`` are a client's own (the
    client_credentials grant: ``sub`` is the ``client_id``) rather than a
    person's, so that a client whose id is also a person's id is never
    that person."""
    return claims.get('sub') == claims.get('client_id')


def continuation(value):
    """The path and query a login continues to: only the proxy's own
    authorization endpoint (a relative reference, no scheme, host or
    fragment), so that a login can never be made to redirect elsewhere.

    :raises Refused: for anything else.
    """
    if (not isinstance(value, str) or not value or
            len(value) > MAX_CONTINUATION or
            any(not 0x21 <= ord(c) <= 0x7e or c == '\\' for c in value)):
        raise Refused('next must be the proxy\'s %s?... request.'
                      % CONTINUATION_PATH)
    split = urllib.parse.urlsplit(value)
    if (split.scheme or split.netloc or split.fragment or
            split.path != CONTINUATION_PATH or not split.query or
            value != '%s?%s' % (CONTINUATION_PATH, split.query)):
        raise Refused('next must be the proxy\'s %s?... request.'
                      % CONTINUATION_PATH)
    return value
