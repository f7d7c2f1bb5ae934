"""The tokens the provider issues, and the checks of those it is shown.

Access tokens are JWTs (RFC 9068: header ``typ: at+jwt``) signed with the
current key (:mod:`.keys`), valid for the access-token lifetime, with

``iss``, ``sub``, ``aud`` (the client id), ``client_id``, ``exp``,
``iat``, ``nbf``, ``jti``, ``scope``,
``eduperson_entitlement`` and ``groups``

where the last two are computed when the token is made, from the
person's memberships at that moment: a removed or expired member's next
token no longer names the VO, and the longest a removal can lag is the
access-token lifetime.

A person in so many groups that the token would outgrow what web
servers take in a request header gets a token without those two claims
(:func:`memberships_elsewhere`): it names the userinfo endpoint as their
source instead (OIDC Core 5.6.2, distributed claims).

ID tokens (OpenID Connect Core 2) have ``typ: JWT``, ``iss``, ``sub``,
``aud``, ``azp``, ``exp``, ``iat``, ``auth_time`` (when the person last
logged in at an upstream IdP, if the grant knows it: also in the ID
tokens of its refresh grants), ``nonce`` (when the authorization request
had one) and ``at_hash``.

:func:`verify` is what introspection, userinfo and revocation use to
read a token the proxy issued: only RS256, only a published key, this
issuer, the right ``typ``, claims of the right JSON types, not expired,
not before its time.  Anything else is :class:`InvalidToken`.

This module imports neither pecan nor SQLAlchemy.
"""

import base64
import binascii
import calendar
import hashlib
import json

from joserfc import errors as jose_errors
from joserfc import jwt

from federation_proxy.oidc import keys

ACCESS_TOKEN_TYPE = 'at+jwt'
ID_TOKEN_TYPE = 'JWT'

#: Longest token :func:`verify` reads: the proxy's own are at most
#: ``[federation] access_token_max_size`` (16384 at most) long.
MAX_TOKEN_LENGTH = 16384

#: Seconds of clock difference allowed on ``nbf`` and ``iat``.
SKEW = 5

#: Largest time value accepted in a claim (year 10000): beyond it a
#: timestamp is not a time.
MAX_TIME = 253402300799


class InvalidToken(ValueError):
    """A token the proxy does not accept; the message says why."""


def timestamp(when):
    """Seconds since the epoch of a naive UTC datetime."""
    return calendar.timegm(when.utctimetuple())


def at_hash(access_token):
    """OIDC Core 3.1.3.6: the left half of the SHA-256 of the access
    token (RS256 hashes with SHA-256), base64url without padding."""
    digest = hashlib.sha256(access_token.encode('ascii')).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b'=').decode()


def access_claims(issuer, subject, client_id, scope, issued_at, lifetime,
                  jti, entitlements=(), groups=()):
    """The claims of an access token; ``issued_at`` in seconds since the
    epoch, ``lifetime`` in seconds."""
    return {
        'iss': issuer, 'sub': subject, 'aud': client_id,
        'client_id': client_id, 'iat': issued_at, 'nbf': issued_at,
        'exp': issued_at + lifetime, 'jti': jti, 'scope': ' '.join(scope),
        'eduperson_entitlement': list(entitlements),
        'groups': list(groups),
    }


#: The claims an access token leaves to userinfo when they do not fit.
MEMBERSHIP_CLAIMS = ('eduperson_entitlement', 'groups')
#: The name of that source in ``_claim_sources``.
USERINFO_SOURCE = 'userinfo'


def memberships_elsewhere(claims, userinfo_endpoint):
    """``claims`` of an access token without :data:`MEMBERSHIP_CLAIMS`,
    saying instead that ``userinfo_endpoint`` answers them (OIDC Core
    5.6.2 distributed claims, fetched with the access token itself):
    for a person whose memberships would make the token too long to be
    sent in a request header.  Both claims go, never a part of them: a
    relying party must not take a cut list for the person's groups."""
    found = {k: v for k, v in claims.items() if k not in MEMBERSHIP_CLAIMS}
    found['_claim_names'] = {name: USERINFO_SOURCE
                             for name in MEMBERSHIP_CLAIMS}
    found['_claim_sources'] = {USERINFO_SOURCE: {
        'endpoint': userinfo_endpoint}}
    return found


def has_memberships_elsewhere(claims):
    """Whether access-token ``claims`` left their memberships to
    userinfo (:func:`memberships_elsewhere`)."""
    names = claims.get('_claim_names')
    return isinstance(names, dict) and all(
        names.get(name) == USERINFO_SOURCE for name in MEMBERSHIP_CLAIMS)


def id_claims(issuer, subject, client_id, issued_at, lifetime,
              nonce=None, access_token=None, profile=None, auth_time=None):
    """The claims of an ID token; ``profile``: more claims of the person
    (name, email) that the granted scope allows; ``auth_time``: when the
    person logged in (seconds since the epoch), left out when it is not
    known rather than made up."""
    claims = dict(profile or {})
    claims.update({'iss': issuer, 'sub': subject, 'aud': client_id,
                   'azp': client_id, 'iat': issued_at,
                   'exp': issued_at + lifetime})
    if auth_time is not None:
        claims['auth_time'] = auth_time
    if nonce is not None:
        claims['nonce'] = nonce
    if access_token is not None:
        claims['at_hash'] = at_hash(access_token)
    return claims


def sign(record, claims, typ):
    """The compact JWS of ``claims`` signed with key ``record``."""
    header = {'alg': keys.ALGORITHM, 'kid': record.kid, 'typ': typ}
    return jwt.encode(header, claims, keys.private_key(record),
                      algorithms=[keys.ALGORITHM])


def _b64_json(segment, what):
    try:
        raw = base64.urlsafe_b64decode(segment + '=' * (-len(segment) % 4))
        value = json.loads(raw.decode('utf-8'))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidToken('The %s is not base64url JSON.' % what)
    if not isinstance(value, dict):
        raise InvalidToken('The %s is not a JSON object.' % what)
    return value


def header(token):
    """The JOSE header of a compact JWS, read without trusting it."""
    if not isinstance(token, str) or not token:
        raise InvalidToken('No token.')
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken('The token is longer than %d characters.'
                           % MAX_TOKEN_LENGTH)
    parts = token.split('.')
    if len(parts) != 3 or not all(parts):
        raise InvalidToken('A token is three base64url parts joined by '
                           'dots.')
    return _b64_json(parts[0], 'header')


def _time(claims, name, required=True):
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidToken('Claim %s is not an integer time.' % name)
    if not 0 <= value <= MAX_TIME:
        raise InvalidToken('Claim %s is out of range.' % name)
    return value


def _string(claims, name):
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidToken('Claim %s is not a string.' % name)
    return value


def check_claims(claims, issuer, now, audience=None, expired_ok=False):
    """Refuse claims of the wrong type, issuer, audience or time (an
    expired token too, unless ``expired_ok``)."""
    if _string(claims, 'iss') != issuer:
        raise InvalidToken('The token was issued by someone else.')
    _string(claims, 'sub')
    aud = claims.get('aud')
    audiences = [aud] if isinstance(aud, str) else aud
    if (not isinstance(audiences, list) or not audiences or
            not all(isinstance(a, str) for a in audiences)):
        raise InvalidToken('Claim aud is not a string or list of strings.')
    if audience is not None and audience not in audiences:
        raise InvalidToken('The token is meant for another audience.')
    exp = _time(claims, 'exp')
    iat = _time(claims, 'iat')
    nbf = _time(claims, 'nbf', required=False)
    if exp <= now and not expired_ok:
        raise InvalidToken('The token has expired.')
    if iat > now + SKEW or (nbf is not None and nbf > now + SKEW):
        raise InvalidToken('The token is not valid yet.')
    for name in ('jti', 'scope', 'client_id'):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidToken('Claim %s is not a string.' % name)
    return claims


def verify(token, records, issuer, now, typ=ACCESS_TOKEN_TYPE,
           audience=None, expired_ok=False):
    """The claims of ``token`` if the proxy issued it and it is valid.

    :param records: the published key records (:func:`keys.published`).
    :param now: seconds since the epoch.
    :param expired_ok: take an expired token (an ``id_token_hint``, which
        says who the person is, not what they may do).
    :raises InvalidToken: saying why not.
    """
    head = header(token)
    if head.get('alg') != keys.ALGORITHM:
        raise InvalidToken('The token is not signed with %s, the only '
                           'algorithm accepted.' % keys.ALGORITHM)
    if head.get('typ') != typ:
        raise InvalidToken('The token is not of type %s.' % typ)
    by_kid = {r.kid: r for r in records}
    kid = head.get('kid')
    if not isinstance(kid, str) or kid not in by_kid:
        raise InvalidToken('The token names no key of this provider.')
    try:
        decoded = jwt.decode(token, keys.public_key(by_kid[kid]),
                             algorithms=[keys.ALGORITHM])
    except jose_errors.BadSignatureError:
        raise InvalidToken('The signature does not verify.')
    except (jose_errors.JoseError, ValueError, TypeError):
        raise InvalidToken('The token cannot be read.')
    if not isinstance(decoded.claims, dict):
        raise InvalidToken('The claims are not a JSON object.')
    return check_claims(decoded.claims, issuer, now, audience, expired_ok)


def linked_jti(secret_hash):
    """The ``jti`` of the access token issued with a refresh token or an
    authorization code whose stored hash is ``secret_hash``.

    Deriving it, rather than drawing it at random, lets the proxy revoke
    the access tokens of a grant from what it stores about the grant:
    a replayed authorization code or a reused refresh token revokes them
    (OAuth 2.0 Security BCP 4.5, 4.14).  The ``jti`` reveals nothing of
    the secret: it is a hash of its hash.
    """
    return hashlib.sha256(('at:' + secret_hash).encode('ascii')
                          ).hexdigest()[:32]
