"""The provider's signing keys and their rotation, without downtime.

Tokens are signed with RS256 (RSA 2048 with SHA-256): OpenID Connect
Discovery requires every provider to offer RS256 for ID tokens, and it is
what every relying party (mod_auth_openidc in front of a leaf Keystone,
pyjwt, authlib) accepts by default.  Each key is in one of three states:

``current``
    signs every new token;
``next``
    published in the JWKS but not used yet, so that relying parties that
    cache the JWKS already know it when it becomes current;
``retired``
    signs nothing any more, but stays published until every token it
    signed has expired.

A rotation (:func:`rotate`) retires the current key, makes the next key
current and makes a new next key.  A token signed before the rotation
still validates after it: its key is still published (and still accepted
by the proxy's own introspection and userinfo) for the token lifetime
plus :data:`LEEWAY`.

When was a retired key retired?  At the rotation that also made the key
created two after it (keys are ordered by creation time): that rotation
made its successor current and created the new next key.  So the key
records need no more than their creation time.

This module imports neither pecan nor SQLAlchemy: it works on
:class:`KeyRecord` tuples.
"""

import collections
import datetime
import functools
import json

from joserfc import jwk

ALGORITHM = 'RS256'
KEY_BITS = 2048

CURRENT = 'current'
NEXT = 'next'
RETIRED = 'retired'

#: Seconds a retired key stays published beyond the token lifetime:
#: for the clocks of relying parties that run a little behind.
LEEWAY = datetime.timedelta(seconds=60)

#: One signing key as stored: ``public_jwk`` is the JSON text of the
#: public JWK (with ``kid``, ``alg`` and ``use``), ``created_at`` a naive
#: UTC datetime.
KeyRecord = collections.namedtuple(
    'KeyRecord', 'kid state private_pem public_jwk created_at')


def generate(state, created_at):
    """A new RSA key in ``state``, as a :class:`KeyRecord`; its ``kid``
    is its RFC 7638 thumbprint."""
    key = jwk.RSAKey.generate_key(KEY_BITS, private=True)
    kid = key.thumbprint()
    public = dict(key.as_dict(private=False), kid=kid, alg=ALGORITHM,
                  use='sig')
    pem = key.as_pem(private=True).decode('ascii')
    return KeyRecord(kid, state, pem, json.dumps(public, sort_keys=True),
                     created_at)


def _ordered(records):
    return sorted(records, key=lambda r: (r.created_at, r.kid))


def retired_at(records, record):
    """When ``record`` (retired) was retired: the creation time of the
    key created two after it, or None if the records do not say."""
    ordered = _ordered(records)
    index = [r.kid for r in ordered].index(record.kid)
    if index + 2 < len(ordered):
        return ordered[index + 2].created_at
    return None


def is_published(records, record, now, lifetime):
    """Whether ``record`` is still in the JWKS at ``now``: current and
    next keys always; a retired key while a token it signed (valid
    ``lifetime``) may still be valid."""
    if record.state != RETIRED:
        return True
    when = retired_at(records, record)
    return when is None or when + lifetime + LEEWAY > now


def published(records, now, lifetime):
    """The records whose public keys the JWKS lists."""
    return [r for r in _ordered(records)
            if is_published(records, r, now, lifetime)]


def signing_key(records):
    """The current key (the newest if a race made two)."""
    current = [r for r in _ordered(records) if r.state == CURRENT]
    return current[-1] if current else None


def bootstrap(now):
    """The first keys of a new provider: a current key and a next key
    (created a microsecond later, so that the order is theirs)."""
    return [generate(CURRENT, now),
            generate(NEXT, now + datetime.timedelta(microseconds=1))]


def rotate(records, now, lifetime):
    """Plan a rotation of ``records`` at ``now``.

    :returns: ``(states, new, dropped)``: ``{kid: new state}`` of the
        existing keys that change state, the new next key
        (:class:`KeyRecord`), and the kids of retired keys no token can
        need any more.
    """
    if not records:
        first, second = bootstrap(now)
        return {}, [first, second], []
    states = {}
    for record in records:
        if record.state == CURRENT:
            states[record.kid] = RETIRED
        elif record.state == NEXT:
            states[record.kid] = CURRENT
    if not any(state == CURRENT for state in states.values()):
        # No next key (an interrupted rotation): a new one becomes
        # current at once.
        new = [generate(CURRENT, now),
               generate(NEXT, now + datetime.timedelta(microseconds=1))]
    else:
        new = [generate(NEXT, now)]
    after = [r._replace(state=states.get(r.kid, r.state))
             for r in records] + new
    dropped = [r.kid for r in after
               if not is_published(after, r, now, lifetime)]
    return states, new, dropped


def public_jwks(records):
    """The JWKS document (RFC 7517 5) of ``records``."""
    return {'keys': [json.loads(r.public_jwk) for r in records]}


@functools.lru_cache(maxsize=64)
def private_key(record):
    """The joserfc key that signs with ``record``.

    Loading an RSA private key checks it, which takes tens of
    milliseconds: the loaded key is kept (per process, per record).
    """
    return jwk.RSAKey.import_key(
        record.private_pem, {'kid': record.kid, 'alg': ALGORITHM})


@functools.lru_cache(maxsize=64)
def public_key(record):
    """The joserfc key that verifies signatures of ``record``."""
    return jwk.RSAKey.import_key(json.loads(record.public_jwk))
