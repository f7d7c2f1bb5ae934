"""The proxy's own access tokens as its API processes read them: one
per-process cache of the signing keys, and the check of a presented
access token.

Both the OIDC endpoints (:mod:`federation_proxy.api.oidc`: signing,
JWKS, userinfo, introspection, revocation) and the ``Authorization:
Bearer`` authentication of the API (:mod:`federation_proxy.api.
session_auth`, which runs before pecan) use them, so a key made or
rotated by another process is seen the same way by both.  Nothing here
reads the pecan request: callers pass their database, context, issuer
and access-token lifetime.
"""

import datetime
import threading
import time
import weakref

from federation_proxy.db import oidc as oidc_db
from federation_proxy.oidc import keys
from federation_proxy.oidc import tokens

#: Seconds the signing keys read from the database are used before they
#: are read again; a token naming a key not in the cache reloads them at
#: once (at most once a second), so a rotation made by another process
#: is seen at the latest after this long.
KEY_CACHE_SECONDS = 5

_LOCK = threading.Lock()
# {Database: (time.monotonic() of the read, [key records])}
_KEYS = weakref.WeakKeyDictionary()


def signing_records(db, ctx, refresh=False):
    """The signing key records of ``db``, from the per-process cache.

    A read: the keys are made when the API starts
    (:mod:`federation_proxy.startup`), not here; a provider without keys
    has none to list or to check a token with.

    :param refresh: read them again now (unless they were read less
        than a second ago): a token names a key the cache lacks.
    """
    now = time.monotonic()
    with _LOCK:
        loaded_at, records = _KEYS.get(db, (None, None))
        stale = loaded_at is None or now - loaded_at > KEY_CACHE_SECONDS
        if refresh and not stale and now - loaded_at < 1:
            return records
        if stale or refresh:
            records = oidc_db.load_keys(db, ctx)
            _KEYS[db] = (now, records)
        return records


def current_key(db, ctx):
    """The key that signs a new token (a :class:`keys.KeyRecord`).

    For the token endpoints only, which write anyway: when the keys
    were not made at the API's start (its database was not ready) and
    no process has made them since, they are made now
    (:func:`oidc_db.ensure_keys`) and the cache refilled.
    """
    key = keys.signing_key(signing_records(db, ctx))
    if key is None:
        records = oidc_db.ensure_keys(db, ctx, datetime.datetime.utcnow())
        with _LOCK:
            _KEYS[db] = (time.monotonic(), records)
        key = keys.signing_key(records)
    return key


def published(records, lifetime):
    """The keys of ``records`` that verify tokens now: a token lives
    ``lifetime`` seconds, so a retired key is kept that long."""
    return keys.published(records, datetime.datetime.utcnow(),
                          datetime.timedelta(seconds=lifetime))


def read_access_token(db, ctx, issuer, lifetime, token, audience=None,
                      check_revoked=True):
    """The claims of a valid access token of this provider.

    The signature is checked against the cached keys, then once more
    against keys read afresh (a key another process made since the cache
    was filled).  With ``check_revoked`` a token without ``jti`` or
    whose ``jti`` is revoked is refused; a caller that checks the
    revocation in a transaction of its own passes False.

    :raises tokens.InvalidToken: saying why not.
    """
    now = int(time.time())
    try:
        claims = tokens.verify(
            token, published(signing_records(db, ctx), lifetime), issuer,
            now, audience=audience)
    except tokens.InvalidToken:
        claims = tokens.verify(
            token, published(signing_records(db, ctx, refresh=True),
                             lifetime), issuer, now, audience=audience)
    if check_revoked:
        jti = claims.get('jti')
        if not jti or oidc_db.is_revoked(db, ctx, jti):
            raise tokens.InvalidToken('The token has been revoked.')
    return claims
