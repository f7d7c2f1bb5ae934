"""What the OIDC provider keeps: signing keys, relying-party clients (as
the provider reads them), authorization codes, device authorization
requests (RFC 8628), refresh tokens and revoked access tokens.

Secrets are stored as SHA-256 hashes (:func:`communities.token_hash`).
Single use is enforced by the database, not by a read then a write: an
authorization code is redeemed and a refresh token rotated by one
``UPDATE ... WHERE used/revoked is false`` whose row count says whether
this request was the one that used it, so that two concurrent requests
with the same code or refresh token cannot both succeed (on SQLite and
on PostgreSQL alike).

Each public function opens its own transaction.
"""

import collections
import datetime
import json

import sqlalchemy as sa

from federation_proxy.db import communities
from federation_proxy.db import logins
from federation_proxy.db import models
from federation_proxy import entitlements
from federation_proxy.oidc import device
from federation_proxy.oidc import keys
from federation_proxy.oidc import tokens

#: A relying party as the provider needs it (plain values).
ClientRecord = collections.namedtuple(
    'ClientRecord', 'id name secret_hash redirect_uris grant_types scopes')

#: An authorization code as stored.
CodeRecord = collections.namedtuple(
    'CodeRecord', 'code_hash client_id user_id redirect_uri scope nonce '
    'code_challenge code_challenge_method expires_at auth_time session_id '
    'identity_id')


class SessionEnded(Exception):
    """The proxy session that authorizes a grant was logged out
    meanwhile: the grant is not made."""


class IdentityUnlinked(SessionEnded):
    """The identity of the login whose session issued the code a grant
    is made with was unlinked since (:func:`store_refresh`): the grant
    is not made.  The session may still be live (another login's)."""


class IdpDisabled(SessionEnded):
    """The IdP of the login whose session issued the code a grant is
    made with was disabled or deleted since (:func:`store_refresh`): the
    grant is not made.  The session may still be live (another
    login's, through another IdP)."""


def _hold_session(session, session_id):
    """Lock the row of proxy session ``session_id`` against a logout
    (which deletes it) until the transaction ends, so that a grant it
    authorizes is either made before the logout, which then revokes
    it, or refused after.  Returns the IdP and the identity of the
    session's login, ``(idp_id, identity_id)`` (None for no session; one
    made before migration 0016 has neither, one made before 0022 no
    identity).

    :raises SessionEnded: the session is no longer kept.
    """
    if session_id is None:
        return None, None
    found = session.execute(sa.select(
        models.Session.idp_id, models.Session.identity_id).where(
            models.Session.id == session_id).with_for_update(
                read=True)).first()
    if found is None:
        raise SessionEnded(session_id)
    return tuple(found)


#: What :func:`redeem_code` and :func:`use_refresh` found.
OK = 'ok'
UNKNOWN = 'unknown'
REUSED = 'reused'
EXPIRED = 'expired'
OTHER_CLIENT = 'other_client'


# -- signing keys ------------------------------------------------------------

def _key_record(row):
    return keys.KeyRecord(row.kid, row.state, row.private_pem,
                          row.public_jwk, row.created_at)


def load_keys(db, ctx):
    """Every stored signing key, as :class:`keys.KeyRecord`."""
    with db.reader.using(ctx) as session:
        return [_key_record(r) for r in
                session.scalars(sa.select(models.SigningKey))]


def _add_keys(session, records):
    for record in records:
        session.add(models.SigningKey(
            kid=record.kid, state=record.state,
            private_pem=record.private_pem, public_jwk=record.public_jwk,
            created_at=record.created_at))


def _lock_keys(session):
    """Hold the signing keys against every other change of them until
    the transaction ends, an empty table too (no row to lock: two new
    processes would both find no key and make two current ones).

    PostgreSQL: a table lock in a mode that conflicts with itself and
    with writes, not with reads (the JWKS and token checks go on).
    SQLite: writers hold the database's write lock from their first
    statement (``BEGIN IMMEDIATE``) already.  MySQL: the key rows and
    the gap after them, locked for update.
    """
    if session.get_bind().dialect.name == 'postgresql':
        session.execute(sa.text(
            'LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE'))
    return {r.kid: r for r in session.scalars(
        sa.select(models.SigningKey).with_for_update())}


def ensure_keys(db, ctx, now):
    """The stored keys, after making a current and a next key if there
    is no current key (a new provider).

    Called when an API process starts (:mod:`federation_proxy.startup`)
    and, should that have found no database, before the first token is
    signed; never by a read.  Under :func:`_lock_keys`: of processes
    starting at once, the first makes the keys and the others find
    them.
    """
    with db.writer.using(ctx) as session:
        rows = _lock_keys(session)
        found = [_key_record(r) for r in rows.values()]
        if any(r.state == keys.CURRENT for r in found):
            return found
        # Keys but none current (an interrupted rotation): the rotation
        # makes the next key current, or a new current key.
        states, new, _dropped = keys.rotate(found, now,
                                            datetime.timedelta(0))
        for kid, state in states.items():
            rows[kid].state = state
        _add_keys(session, new)
        communities.audit(session, ctx.user_id, 'create', 'signing_key',
                          new[0].kid, kids=[r.kid for r in new])
        session.flush()
        return [_key_record(r) for r in
                session.scalars(sa.select(models.SigningKey))]


def rotate_keys(db, ctx, now, lifetime):
    """Rotate the signing keys (see :func:`keys.rotate`); returns the
    keys afterwards."""
    with db.writer.using(ctx) as session:
        rows = _lock_keys(session)
        states, new, dropped = keys.rotate(
            [_key_record(r) for r in rows.values()], now, lifetime)
        for kid, state in states.items():
            rows[kid].state = state
        _add_keys(session, new)
        for kid in dropped:
            session.delete(rows[kid])
        communities.audit(session, ctx.user_id, 'rotate', 'signing_key',
                          new[-1].kid, retired=sorted(
                              k for k, s in states.items()
                              if s == keys.RETIRED),
                          dropped=sorted(dropped))
        session.flush()
        return [_key_record(r) for r in
                session.scalars(sa.select(models.SigningKey))]


# -- clients -----------------------------------------------------------------

def find_client(db, ctx, client_id):
    """The client ``client_id`` as a :class:`ClientRecord`, or None."""
    if not client_id:
        return None
    with db.reader.using(ctx) as session:
        row = session.get(models.Client, client_id)
        if row is None:
            return None
        return ClientRecord(row.id, row.name, row.secret_hash,
                            json.loads(row.redirect_uris or '[]'),
                            json.loads(row.grant_types or '[]'),
                            (row.scope or '').split())


#: What the tokens say of a person: profile and memberships (all of
#: them: the entitlement rules choose the current ones).
Person = collections.namedtuple('Person', 'user_id name email memberships')


def _person(session, user_id):
    """The :class:`Person` ``user_id`` in one query: the person outer-
    joined with their memberships as :func:`communities.memberships_of`
    reads them (one row without a membership if they have none)."""
    if not user_id:
        return None
    user = models.User
    found = communities.membership_query().subquery()
    rows = session.execute(sa.select(
        user.name, user.email, found.c.path, found.c.role, found.c.status,
        found.c.expires_at).select_from(user).outerjoin(
            found, found.c.user_id == user.id).where(
                user.id == user_id)).all()
    if not rows:
        return None
    return Person(user_id, rows[0].name, rows[0].email,
                  [entitlements.Membership(r.path, r.role, r.status,
                                           r.expires_at)
                   for r in rows if r.path is not None])


def find_person(db, ctx, user_id):
    """The :class:`Person` ``user_id`` (one query), or
    None when the proxy does not know them (any more)."""
    with db.reader.using(ctx) as session:
        return _person(session, user_id)


def _own_row(session, model, digest, client_id):
    """``(status, row)`` of the single-use secret whose hash is
    ``digest``: :data:`UNKNOWN` or :data:`OTHER_CLIENT` (another client's,
    which this one may not use: it stays usable by its own) without the
    row, else None with it."""
    row = session.get(model, digest)
    if row is None:
        return UNKNOWN, None
    if row.client_id != client_id:
        return OTHER_CLIENT, None
    return None, row


# -- authorization codes -----------------------------------------------------

def create_code(db, ctx, code, client_id, user_id, redirect_uri, scope,
                nonce, code_challenge, expires_at, auth_time=None,
                session_id=None):
    """Keep a new authorization code; ``auth_time``: when the person
    logged in (seconds since the epoch), or None when it is not known;
    ``session_id``: the proxy session that authorized it, whose logout
    revokes the grant (:func:`end_session`).
    """
    with db.writer.using(ctx) as session:
        identity_id = _hold_session(session, session_id)[1]
        session.add(models.AuthorizationCode(
            code_hash=communities.token_hash(code), client_id=client_id,
            user_id=user_id, redirect_uri=redirect_uri, scope=scope,
            nonce=nonce, code_challenge=code_challenge,
            code_challenge_method='S256', expires_at=expires_at,
            used=False, auth_time=auth_time, session_id=session_id,
            identity_id=identity_id))


def redeem_code(db, ctx, code, client_id, now, check=None):
    """Use authorization code ``code`` once.

    :param check: called with the :class:`CodeRecord` of an unused,
        unexpired code before it is used up; it raises (the request's
        ``redirect_uri`` or PKCE verifier does not match) and then
        nothing changes: the code is used up only by the exchange that
        obtains its tokens.  Whoever learnt a code without its
        verifier (PKCE makes such a code worthless) cannot use it up,
        and the client's own exchange after theirs is not taken for a
        replay, which would end the person's every grant with the
        client.
    :returns: ``(status, CodeRecord or None)``: :data:`OK` for the one
        request that uses it; :data:`REUSED` (with the record) for any
        later one; :data:`UNKNOWN`, :data:`EXPIRED` (left unused: an
        expired code shown again is expired again, not replayed) or
        :data:`OTHER_CLIENT` (the code was issued to another client,
        which this one may not use: the code stays usable by its own).
    """
    digest = communities.token_hash(code)
    table = models.AuthorizationCode
    with db.writer.using(ctx) as session:
        status, row = _own_row(session, table, digest, client_id)
        if row is None:
            return status, None
        record = CodeRecord(row.code_hash, row.client_id, row.user_id,
                            row.redirect_uri, row.scope, row.nonce,
                            row.code_challenge, row.code_challenge_method,
                            row.expires_at, row.auth_time, row.session_id,
                            row.identity_id)
        if not row.used:
            if row.expires_at <= now:
                return EXPIRED, None
            if check is not None:
                check(record)
        used = session.execute(sa.update(table).where(
            table.code_hash == digest, table.used.is_(False)).values(
                used=True)).rowcount
        if used != 1:
            if session.execute(sa.select(table.code_hash).where(
                    table.code_hash == digest)).first() is None:
                # Deleted meanwhile by the logout of its session.
                return UNKNOWN, None
            return REUSED, record
        return OK, record


def forget_refused_code(db, ctx, code_hash):
    """Delete the authorization code or device code whose hash is
    ``code_hash``, used up by an exchange whose grant was then refused
    because the session, identity or IdP of the login that authorized
    it ended (:class:`SessionEnded`): it can give no grant any more, and
    shown again (the person reloads the relying party's page, a client
    retries) it is unknown, not a replay, which would end the person's
    every grant with the client, those of their other devices too.
    Such a code's session was most often replaced by another person's
    login in the same browser (a shared computer, or a login forced on
    the browser from another site), which must not end the first
    person's grants."""
    with db.writer.using(ctx) as session:
        for model in (models.AuthorizationCode, models.DeviceCode):
            key = sa.inspect(model).primary_key[0]
            session.execute(sa.delete(model).where(key == code_hash))


# -- device authorization (RFC 8628) -----------------------------------------

#: A device authorization request as stored.
DeviceRecord = collections.namedtuple(
    'DeviceRecord', 'device_code_hash client_id scope status user_id '
    'interval expires_at auth_time session_id identity_id')


def _device_record(row):
    return DeviceRecord(row.device_code_hash, row.client_id, row.scope,
                        row.status, row.user_id, row.interval,
                        row.expires_at, row.auth_time, row.session_id,
                        row.identity_id)


def create_device_code(db, ctx, device_code, user_code, client_id, scope,
                       interval, expires_at):
    """Keep a new device authorization request (pending).

    :raises oslo_db.exception.DBDuplicateEntry: the user code is taken
        (the caller draws another).
    """
    with db.writer.using(ctx) as session:
        session.add(models.DeviceCode(
            device_code_hash=communities.token_hash(device_code),
            user_code_hash=communities.token_hash(user_code),
            client_id=client_id, scope=scope, status=device.PENDING,
            interval=interval, expires_at=expires_at))


def find_device_code(db, ctx, user_code, now):
    """The pending, unexpired request of ``user_code`` (normalised), as
    a :class:`DeviceRecord`, or None."""
    table = models.DeviceCode
    with db.reader.using(ctx) as session:
        row = session.scalars(sa.select(table).where(
            table.user_code_hash == communities.token_hash(user_code),
            table.status == device.PENDING,
            table.expires_at > now)).first()
        return None if row is None else _device_record(row)


def decide_device_code(db, ctx, user_code, user_id, approved, now,
                       auth_time=None, session_id=None):
    """The person ``user_id`` approves (or denies) the pending request of
    ``user_code``; False when there is no such pending, unexpired
    request (another decision came first, or it expired).
    ``auth_time``: when the person logged in (see :func:`create_code`).
    """
    table = models.DeviceCode
    with db.writer.using(ctx) as session:
        identity_id = _hold_session(session, session_id)[1]
        decided = session.execute(sa.update(table).where(
            table.user_code_hash == communities.token_hash(user_code),
            table.status == device.PENDING,
            table.expires_at > now).values(
                status=device.APPROVED if approved else device.DENIED,
                user_id=user_id, auth_time=auth_time,
                session_id=session_id, identity_id=identity_id)).rowcount
        if decided == 1:
            communities.audit(session, ctx.user_id or user_id,
                              'approve' if approved else 'deny',
                              'device_authorization', user_id,
                              client_id=session.scalars(
                                  sa.select(table.client_id).where(
                                      table.user_code_hash ==
                                      communities.token_hash(user_code))
                              ).first())
        return decided == 1


def poll_device_code(db, ctx, device_code, client_id, now):
    """A poll of the token endpoint with ``device_code``.

    :returns: ``(outcome, DeviceRecord or None)``: the outcome of
        :func:`device.poll_outcome`, or :data:`UNKNOWN` /
        :data:`OTHER_CLIENT` (no record then).  :data:`device.ISSUE` is
        returned to exactly one poll: the code is marked used by an
        ``UPDATE ... WHERE status = 'approved'`` whose row count says
        which of two concurrent polls won; the other sees
        :data:`device.REPLAYED`.
    """
    digest = communities.token_hash(device_code)
    table = models.DeviceCode
    with db.writer.using(ctx) as session:
        status, row = _own_row(session, table, digest, client_id)
        if row is None:
            return status, None
        polled_ago = (None if row.last_polled_at is None else
                      (now - row.last_polled_at).total_seconds())
        outcome = device.poll_outcome(row.status, row.expires_at <= now,
                                      polled_ago, row.interval)
        record = _device_record(row)
        values = {'last_polled_at': now}
        if outcome == device.SLOW_DOWN:
            values['interval'] = row.interval + device.SLOW_DOWN_SECONDS
        if outcome == device.ISSUE:
            values['status'] = device.USED
        changed = session.execute(sa.update(table).where(
            table.device_code_hash == digest,
            table.status == record.status).values(**values)).rowcount
        if outcome == device.ISSUE and changed != 1:
            return device.REPLAYED, record
        return outcome, record


# -- refresh tokens and revocation -------------------------------------------

def store_refresh(db, ctx, token, client_id, user_id, scope, expires_at,
                  auth_time=None, session_id=None, identity_id=None):
    """Keep a new refresh token.

    :param identity_id: the identity of the login whose session issued
        the code the grant is made with (:class:`CodeRecord`,
        :class:`DeviceRecord`), which the grant records: the session may
        be another login's since (a login again in the same browser
        takes its codes over, see
        :func:`federation_proxy.db.logins.start_session`).  None: the
        session's.
        The grant records that login's IdP too (the enabled IdP of the
        identity's issuer), not the session's: disabling or deleting it
        ends the grant.
    :raises SessionEnded: the session that authorized the grant was
        logged out since; :class:`IdentityUnlinked` (a kind of it): that
        identity was unlinked since; :class:`IdpDisabled` (another): the
        IdP of that login was disabled or deleted since.
    """
    digest = communities.token_hash(token)
    with db.writer.using(ctx) as session:
        login_idp = None
        if identity_id is not None:
            identity, idp = models.Identity, models.IdentityProvider
            issuer = session.scalar(sa.select(identity.issuer).where(
                identity.id == identity_id))
            if issuer is None:
                raise IdentityUnlinked(session_id)
            # The IdP, then the identity, held until the token is kept,
            # before the session, as a login holds them
            # (logins.start_session): a disabling, a deletion or an
            # unlinking under way ends the token, or was made before,
            # and the grant is refused.
            login_idp = session.scalar(sa.select(idp.id).where(
                idp.issuer == issuer, idp.enabled.is_(True)
            ).with_for_update(read=True))
            if login_idp is None:
                raise IdpDisabled(session_id)
            if session.execute(sa.select(identity.id).where(
                    identity.id == identity_id).with_for_update(
                        read=True)).first() is None:
                raise IdentityUnlinked(session_id)
        idp_id, session_identity = _hold_session(session, session_id)
        idp_id = login_idp or idp_id
        identity_id = identity_id or session_identity
        session.add(models.RefreshToken(
            token_hash=digest, client_id=client_id,
            user_id=user_id, scope=scope, expires_at=expires_at,
            revoked=False, auth_time=auth_time, session_id=session_id,
            grant_id=digest, idp_id=idp_id, identity_id=identity_id))


def use_refresh(db, ctx, token, client_id, now, narrow, new_token,
                expires_at):
    """Use refresh token ``token`` once and, in the same transaction,
    keep its successor ``new_token`` and read the person: one
    transaction per refresh grant.

    :param narrow: called with the granted scope (a list), returns
        ``(scope of the new tokens, scope of the grant)``: the first is
        that of the access and ID tokens, the second is kept with the
        new refresh token (a narrower access token does not narrow the
        grant); or raises (then nothing changes: the refresh token stays
        usable).
    :returns: ``(status, values)``: :data:`OK` with ``(scope, Person,
        auth_time)`` (no successor is kept when the person is gone:
        Person is None; the successor keeps the grant's ``auth_time``);
        :data:`REUSED` with ``(user_id, scope)`` for a token already used
        or revoked; :data:`UNKNOWN`, :data:`EXPIRED`, :data:`OTHER_CLIENT`
        with None.
    """
    digest = communities.token_hash(token)
    table = models.RefreshToken
    with db.writer.using(ctx) as session:
        status, row = _own_row(session, table, digest, client_id)
        if row is None:
            return status, None
        user_id, granted = row.user_id, row.scope
        if row.revoked:
            return REUSED, (user_id, granted)
        if row.expires_at <= now:
            # Refused, and left as it is: an expired token shown again
            # (a client's retry, a second tab) is expired again, not a
            # reuse that would end the person's other grants.
            return EXPIRED, None
        scope, kept = narrow(granted.split())
        # A logout of the grant's session waits for this refresh to end
        # (and then deletes its successor too), or this refresh waits
        # for the logout, which deletes the token.  A session that
        # expired and was forgotten leaves its grants alone.
        login = None
        if row.session_id is not None:
            login = session.execute(sa.select(
                models.Session.idp_id, models.Session.identity_id).where(
                    models.Session.id == row.session_id).with_for_update(
                        read=True)).first()
        used = session.execute(sa.update(table).where(
            table.token_hash == digest, table.revoked.is_(False)).values(
                revoked=True).returning(
                    table.session_id, table.idp_id,
                    table.identity_id)).first()
        if used is None:
            if session.execute(sa.select(table.token_hash).where(
                    table.token_hash == digest)).first() is None:
                # Deleted meanwhile by a logout: gone, not reused.
                return UNKNOWN, None
            return REUSED, (user_id, granted)
        # The token's login as it is once locked, not as first read: a
        # login that replaced its session meanwhile moved the token to
        # the new session, or gave it the replaced session's IdP and
        # identity (logins._hand_over), which that session's row, gone,
        # no longer gives.  A logout of the new session waits for the
        # token (lock_rows), and its deletion then finds the successor.
        session_id, idp_id, identity_id = used
        # A token without its login's IdP (made or rotated by an API
        # process of the release before migration 0021, still running
        # after it) takes its session's IdP and identity while that is
        # kept: the grant then ends with the IdP, or the identity's
        # unlinking, also once the session is forgotten.  One with an
        # IdP but no identity (made before migration 0022) keeps none:
        # unlinking any of the person's identities at its IdP ends it,
        # as before (its session may be another login's since, see
        # logins.start_session's replaces).
        if (idp_id is None and login is not None and
                session_id == row.session_id):
            idp_id, identity_id = login
        person = _person(session, user_id)
        if person is not None:
            session.add(models.RefreshToken(
                token_hash=communities.token_hash(new_token),
                client_id=client_id, user_id=user_id,
                scope=' '.join(kept), expires_at=expires_at,
                revoked=False, auth_time=row.auth_time,
                session_id=session_id, grant_id=_grant_of(row),
                idp_id=idp_id, identity_id=identity_id))
        return OK, (scope, person, row.auth_time)


def _grant_of(row):
    """The grant of refresh token ``row``: the one it records, or, for
    a token made before grants were recorded (migration 0017), the
    token itself, which its successors then record."""
    return row.grant_id or row.token_hash


#: A refresh token as introspection (RFC 7662) describes it.
RefreshRecord = collections.namedtuple(
    'RefreshRecord', 'client_id user_id scope expires_at')


def find_refresh(db, ctx, token, client_id, now):
    """The refresh token ``token`` of ``client_id`` as a
    :class:`RefreshRecord` if the refresh grant would still take it: not
    used or revoked, not expired, and its person still known; else None
    (another client's token too: a client learns nothing of tokens it
    was not given)."""
    table = models.RefreshToken
    with db.reader.using(ctx) as session:
        row = session.execute(sa.select(
            table.client_id, table.user_id, table.scope,
            table.expires_at).join(
                models.User, models.User.id == table.user_id).where(
                    table.token_hash == communities.token_hash(token),
                    table.client_id == client_id,
                    table.revoked.is_(False),
                    table.expires_at > now)).first()
        return None if row is None else RefreshRecord(*row)


def _revoke_jti(session, jti, expires_at):
    if session.get(models.RevokedToken, jti) is None:
        session.add(models.RevokedToken(jti=jti, expires_at=expires_at))


#: Revocations inserted per statement.
_REVOKE_BATCH = 500

#: Clock difference allowed between the API hosts that make refresh
#: tokens and the one that revokes their access tokens.
_CLOCK_LEEWAY = datetime.timedelta(seconds=60)


def _revoke_linked(session, hashes, expires_at):
    """Revoke, until ``expires_at``, the access tokens issued with the
    grants (refresh tokens, codes) whose hashes are ``hashes``: those
    not revoked already, a statement per :data:`_REVOKE_BATCH`."""
    jtis = sorted({tokens.linked_jti(h) for h in hashes})
    table = models.RevokedToken
    for start in range(0, len(jtis), _REVOKE_BATCH):
        chunk = jtis[start:start + _REVOKE_BATCH]
        known = set(session.scalars(sa.select(table.jti).where(
            table.jti.in_(chunk))))
        new = [{'jti': jti, 'expires_at': expires_at}
               for jti in chunk if jti not in known]
        if new:
            session.execute(sa.insert(table), new)
    return len(jtis)


def _recent_refresh_hashes(session, where, now, lifetime):
    """The hashes of the refresh tokens ``where`` (conditions) selects
    whose access tokens may still be valid: made in the last access-token
    ``lifetime`` (or before their time was kept, migration 0013).  A
    grant rotated every few minutes for a month has thousands of used
    refresh tokens; their access tokens expired long ago."""
    table = models.RefreshToken
    return session.scalars(sa.select(table.token_hash).where(
        *where, sa.or_(table.created_at.is_(None),
                       table.created_at > now - lifetime - _CLOCK_LEEWAY))
    ).all()


@communities.retry_lost_insert_race
def revoke_grant(db, ctx, client_id, user_id, now, lifetime,
                 code_hash=None):
    """Revoke everything ``client_id`` holds for ``user_id``: its refresh
    tokens and the access tokens issued with them (and with the
    authorization code ``code_hash``), for a replayed code or a reused
    refresh token.  ``lifetime``: of access tokens (a timedelta).  A
    statement or two, however many times the grants were rotated."""
    table = models.RefreshToken
    where = (table.client_id == client_id, table.user_id == user_id,
             table.expires_at > now)
    with db.writer.using(ctx) as session:
        lock_refresh_tokens(session, where)
        # Read once they are locked: a refresh that held one of them
        # has committed its successor, whose access token goes too.
        hashes = _recent_refresh_hashes(session, where, now, lifetime)
        count = session.execute(sa.update(table).where(*where).values(
            revoked=True)).rowcount
        if code_hash is not None:
            hashes.append(code_hash)
        _revoke_linked(session, hashes, now + lifetime)
        communities.audit(session, ctx.user_id, 'revoke', 'grant',
                          client_id, user_id=user_id, refresh_tokens=count)


def forget_client_grants(session, client_id, now, lifetime):
    """Inside the caller's transaction (a client's deletion): delete
    every authorization code, device authorization request and refresh
    token of ``client_id``, and revoke the access tokens issued with
    those that may still be valid (made in the last access-token
    ``lifetime``, a timedelta).  A client registered again under the
    same id starts with no grant: the old one's tokens, which their
    holders kept, are nobody's.  Returns the number of access tokens
    revoked."""
    refresh = models.RefreshToken
    code = models.AuthorizationCode
    device_code = models.DeviceCode
    for model in (code, device_code, refresh):
        lock_rows(session, model, (model.client_id == client_id,))
    # Read once they are locked: a refresh that held a token has
    # committed its successor, whose access token goes too.
    hashes = _recent_refresh_hashes(
        session, (refresh.client_id == client_id,), now, lifetime)
    for model, column in ((code, code.code_hash),
                          (device_code, device_code.device_code_hash)):
        hashes += session.scalars(sa.select(column).where(
            model.client_id == client_id,
            model.expires_at > now - lifetime)).all()
    for model in (code, device_code, refresh):
        session.execute(sa.delete(model).where(
            model.client_id == client_id))
    return _revoke_linked(session, hashes, now + lifetime)


def _end_grant(session, row, now, lifetime):
    """Inside the caller's transaction: end the grant of refresh token
    ``row`` (RFC 7009 2.1: revoking a token of a grant ends the grant).
    Its live refresh token is deleted, and the access tokens issued with
    any of its refresh tokens in the last access-token ``lifetime`` (a
    timedelta) are revoked, so that userinfo, introspection and the API
    refuse them at once.

    Live tokens are deleted, as a logout deletes its session's
    (:func:`end_session`): marked revoked, one would be taken for a
    stolen token when shown again (a client's request in flight, another
    tab), and that ends the person's every grant with the client, on
    their other devices too.  Used (rotated) ones stay marked, so that
    their reuse is still recognised.

    A refresh of the grant under way when the grant ends has locked its
    token: the deletion waits for it, finds it used, and deletes the
    successor it made in the next statement; so the grant never outlives
    its revocation.
    """
    table = models.RefreshToken
    grant = _grant_of(row)
    of_grant = sa.or_(table.grant_id == grant, table.token_hash == grant)
    live = (of_grant, table.revoked.is_(False))
    hashes = {row.token_hash}
    while True:
        lock_refresh_tokens(session, live)
        hashes.update(session.scalars(sa.delete(table).where(
            *live).returning(table.token_hash)).all())
        # A statement of its own, which sees a refresh committed while
        # the deletion waited for it (PostgreSQL's read committed).
        if session.scalar(sa.select(table.token_hash).where(
                *live).limit(1)) is None:
            break
    hashes.update(_recent_refresh_hashes(session, (of_grant,), now,
                                         lifetime))
    _revoke_linked(session, hashes, now + lifetime)


@communities.retry_lost_insert_race
def revoke_refresh(db, ctx, token, client_id, now, lifetime):
    """Revoke a refresh token of ``client_id`` (RFC 7009) and, with it,
    its grant (:func:`_end_grant`); True when it was one.  ``lifetime``:
    of access tokens (a timedelta)."""
    digest = communities.token_hash(token)
    with db.writer.using(ctx) as session:
        row = session.get(models.RefreshToken, digest)
        if row is None or row.client_id != client_id:
            return False
        _end_grant(session, row, now, lifetime)
        return True


@communities.retry_lost_insert_race
def revoke_access(db, ctx, jti, expires_at, client_id, user_id, now,
                  lifetime):
    """Revoke the access token ``jti`` of ``client_id`` for ``user_id``
    until it expires anyway, and end the grant it was issued with, if
    any (:func:`_end_grant`): an access token issued with a refresh
    token has the ``jti`` that :func:`tokens.linked_jti` derives from
    the refresh token's hash, which this finds among the grant tokens
    of the client and person made in the last access-token ``lifetime``
    (a timedelta).  A token of a grant without refresh tokens (a client
    credentials grant, a code exchanged for no refresh token) is its
    grant's only token."""
    table = models.RefreshToken
    with db.writer.using(ctx) as session:
        for digest in _recent_refresh_hashes(
                session, (table.client_id == client_id,
                          table.user_id == user_id), now, lifetime):
            if tokens.linked_jti(digest) == jti:
                _end_grant(session, session.get(table, digest), now,
                           lifetime)
                break
        # After the grant's tokens were locked, as every path that ends
        # grants revokes access tokens (lock_rows).
        _revoke_jti(session, jti, expires_at)


@communities.retry_lost_insert_race
def end_session(db, ctx, session_id, now, lifetime):
    """End the proxy session ``session_id`` (a logout): its row goes, so
    every copy of its cookie stops working, and the grants it authorized
    are revoked: their refresh tokens (deleted), the access tokens
    issued with them (those of the last ``lifetime``, see
    :func:`_recent_refresh_hashes`) or with its authorization and device
    codes, and its codes not yet exchanged.  ``lifetime``: of access
    tokens (a timedelta).
    Returns the person whose session it was, or None when there was no
    such session (logged out already)."""
    with db.writer.using(ctx) as session:
        user_id = session.scalar(sa.select(models.Session.user_id).where(
            models.Session.id == session_id))
        if user_id is None:
            return None
        _end_sessions(session, ctx, [(session_id, user_id)], now, lifetime)
        return user_id


def end_idp_sessions(session, ctx, idp_id, issuer, now, lifetime):
    """Inside the caller's transaction (an IdP disabled or deleted): end
    every proxy session made by a login through IdP ``idp_id`` (whose
    issuer is ``issuer``), as a logout ends one (:func:`end_session`):
    an IdP the operator no longer trusts logs nobody in any more, and
    what its logins obtained (the sessions, the grants they authorized)
    goes with it; so do the codes such sessions issued that a login
    again in the same browser through another IdP took over (they
    record the login's identity, migration 0023).  A few statements per
    :data:`_REVOKE_BATCH` sessions.  Returns the number of sessions
    ended."""
    table = models.Session
    rows = session.execute(sa.select(table.id, table.user_id).where(
        table.idp_id == idp_id).order_by(table.id).with_for_update()).all()
    for start in range(0, len(rows), _REVOKE_BATCH):
        _end_sessions(session, ctx, rows[start:start + _REVOKE_BATCH], now,
                      lifetime)
    _end_identity_codes(session, sa.select(models.Identity.id).where(
        models.Identity.issuer == issuer), now, lifetime)
    _end_login_grants(session, (models.RefreshToken.idp_id == idp_id,),
                      now, lifetime)
    return len(rows)


def lock_rows(session, model, where):
    """Inside the caller's transaction: lock (``FOR UPDATE``) the rows of
    ``model`` that ``where`` (conditions) selects, in the order of their
    primary key, before they are written.

    Every transaction that writes a person's codes and tokens in bulk
    (a logout, an IdP disabled or deleted, an unlink, a login that
    replaces a session, a client deleted, a grant revoked) locks them in
    one order: the sessions first, then authorization codes, device
    codes and refresh tokens, each table in the order of its primary
    key; the access tokens issued with them are revoked last
    (:func:`_revoke_linked`).  An ``UPDATE`` or ``DELETE`` locks its
    rows in the order of the plan it was given (an index on the
    session, another on the identity or the IdP): a login that moved a
    replaced session's codes while an unlink or an IdP's disabling
    ended the same codes by identity locked them in opposite orders,
    and PostgreSQL aborted one of them (a deadlock, a 500); so did a
    logout that revoked the access tokens before it locked the refresh
    tokens, while a revocation of the same grant (:func:`_end_grant`)
    held those and revoked the same access tokens.  In one order, the
    one that comes second waits for the first to commit.  An unlink or
    an IdP's disabling goes round twice (the rows of the sessions it
    ends, then those that record its identity or IdP): the rows of its
    own sessions, which it holds, are no login's to move, and should
    two such ends still meet the other way round, they are run again
    (:data:`communities.retry_on_deadlock`)."""
    key = sa.inspect(model).primary_key[0]
    session.execute(sa.select(key).where(*where).order_by(
        key).with_for_update()).all()


def lock_refresh_tokens(session, where):
    """:func:`lock_rows` of the refresh tokens ``where`` selects."""
    lock_rows(session, models.RefreshToken, where)


def _end_login_grants(session, where, now, lifetime):
    """Inside the caller's transaction, after the sessions of the same
    logins were ended (:func:`_end_sessions`): end the grants that
    ``where`` (conditions on refresh tokens) selects, authorized by
    sessions that are no longer kept (forgotten a day after they
    expired, see :func:`federation_proxy.db.logins.start_session`),
    whose grants no session's end finds.  Their refresh tokens are
    deleted, as a logout deletes its session's, and the access tokens
    issued with them in the last ``lifetime`` are revoked.  No session
    row orders this against a refresh under way (which locks the
    token): the deletion is repeated until it finds none, so that the
    successor of a refresh that committed while it waited goes too (as
    :func:`_end_grant` does)."""
    table = models.RefreshToken
    recent = now - lifetime - _CLOCK_LEEWAY
    hashes = set()
    lock_refresh_tokens(session, where)
    while True:
        hashes.update(
            digest for digest, created in session.execute(
                sa.delete(table).where(*where).returning(
                    table.token_hash, table.created_at))
            if created is None or created > recent)
        # A statement of its own, which sees a refresh committed while
        # the deletion waited for it (PostgreSQL's read committed).
        if session.scalar(sa.select(table.token_hash).where(
                *where).limit(1)) is None:
            break
    _revoke_linked(session, hashes, now + lifetime)


def _of_identity(table, identity_id, user_id, idps):
    """The condition on ``table`` (sessions, refresh tokens) that
    selects what the logins through identity ``identity_id`` of person
    ``user_id`` obtained: the rows that record it, and those of the
    person's logins through ``idps`` (a subquery of IdP ids) that record
    no identity (made before migration 0022)."""
    return sa.or_(table.identity_id == identity_id, sa.and_(
        table.identity_id.is_(None), table.user_id == user_id,
        table.idp_id.in_(idps)))


def end_identity_sessions(session, ctx, user_id, identity_id, issuer, now,
                          lifetime):
    """Inside the caller's transaction (person ``user_id`` unlinks their
    identity ``identity_id`` at ``issuer``): end the proxy sessions that
    logins through that identity made, as a logout ends one
    (:func:`end_session`), with the grants they authorized: the identity
    no longer logs anyone in as the person, and what its logins
    obtained goes with it.  Sessions record their identity (migration
    0022): the person's other identities at the same issuer keep theirs.
    A session made before records only its IdP (migration 0016; older
    ones neither, and are left to expire): unlinking any of the person's
    identities at that IdP ends it.  The grants of such sessions no
    longer kept are ended too (:func:`_end_login_grants`: each refresh
    token records the identity, or before migration 0022 the IdP, of its
    session's login), and so are the codes those sessions issued that
    another session took over (:func:`_end_identity_codes`).  Returns
    the number of sessions ended."""
    table = models.Session
    idps = sa.select(models.IdentityProvider.id).where(
        models.IdentityProvider.issuer == issuer).scalar_subquery()
    rows = session.execute(sa.select(table.id, table.user_id).where(
        _of_identity(table, identity_id, user_id, idps)).order_by(
            table.id).with_for_update()).all()
    for start in range(0, len(rows), _REVOKE_BATCH):
        _end_sessions(session, ctx, rows[start:start + _REVOKE_BATCH], now,
                      lifetime)
    _end_identity_codes(session, identity_id, now, lifetime)
    _end_login_grants(session, (_of_identity(
        models.RefreshToken, identity_id, user_id, idps),), now, lifetime)
    return len(rows)


def _end_identity_codes(session, identities, now, lifetime):
    """Inside the caller's transaction, after the sessions of the
    logins through ``identities`` (an identity's id, or a select of
    ids) were ended: end the codes those sessions issued that a login
    again in the same browser took over (another identity's session, see
    :func:`federation_proxy.db.logins.start_session`), as their
    session's end would have: authorization codes deleted, approved
    device codes denied, the access tokens issued with them revoked
    (migration 0023)."""
    code, device_code = models.AuthorizationCode, models.DeviceCode

    def of(column):
        return (column == identities if isinstance(identities, str)
                else column.in_(identities))

    hashes = session.scalars(sa.select(code.code_hash).where(
        of(code.identity_id))).all()
    hashes += session.scalars(sa.select(device_code.device_code_hash).where(
        of(device_code.identity_id))).all()
    # Locked first, in one order (lock_rows): a login that replaces the
    # session holding them moves them meanwhile.
    lock_rows(session, code, (of(code.identity_id),))
    session.execute(sa.delete(code).where(of(code.identity_id)))
    approved = (of(device_code.identity_id),
                device_code.status == device.APPROVED)
    lock_rows(session, device_code, approved)
    session.execute(sa.update(device_code).where(*approved).values(
        status=device.DENIED))
    _revoke_linked(session, hashes, now + lifetime)


def end_unprefixed_sessions(db, ctx, now, lifetime):
    """End every proxy session whose browser got its cookie under the
    plain name (made by a release before the ``__Host-`` names, or under
    an http issuer), as a logout ends one (:func:`end_session`), with the
    grants it authorized.  Called when an API process starts under an
    https issuer: the proxy no longer reads such a cookie, so its person
    could not log out of it, nor revoke its grants by logging out, until
    it expired.  Only live ones: a logout could not have ended an expired
    session either (its grants are left as they are).

    :data:`_REVOKE_BATCH` sessions at a time, each batch its own short
    transaction (:func:`end_unprefixed_batch`): with tens of thousands of
    such sessions, one transaction held a worker's start past its WSGI
    server's timeout (gunicorn ``timeout``, uwsgi ``harakiri``), was
    rolled back when the server killed it, and began again at each
    respawn.  A start interrupted after some batches leaves those ended
    and the others for the next start.

    A generator: yields the number of sessions each batch ended, once its
    transaction is committed, so that the caller can tell how many were
    ended when a later batch fails."""
    while True:
        count = end_unprefixed_batch(db, ctx, now, lifetime)
        if not count:
            return
        yield count


def unprefixed_batch_query(now):
    """The next batch of :func:`end_unprefixed_batch`: ``(id, user_id)``
    of up to :data:`_REVOKE_BATCH` live sessions of plain-named cookies,
    lowest IDs first, locked.  It reads ``sessions_unprefixed_idx``
    (migration 0020), which holds the sessions of plain-named cookies
    alone: once they are ended, every start reads that small index
    rather than the whole sessions table (a scan of every live session
    of every person, at each start of each process)."""
    table = models.Session
    return sa.select(table.id, table.user_id).where(
        models.SESSION_UNPREFIXED, table.expires_at > now).order_by(
            table.id).limit(_REVOKE_BATCH).with_for_update()


@communities.retry_lost_insert_race
def end_unprefixed_batch(db, ctx, now, lifetime):
    """In one transaction, end up to :data:`_REVOKE_BATCH` of the
    sessions that :func:`end_unprefixed_sessions` ends, lowest IDs first.
    They are locked (``FOR UPDATE``) before anything else is written, in
    the order of their IDs: a process starting at the same time waits
    for them and then finds them gone (ended once), or takes the next
    ones; neither waits for the other's rows in the opposite order.
    Returns the number ended, 0 when none is left."""
    with db.writer.using(ctx) as session:
        rows = session.execute(unprefixed_batch_query(now)).all()
        if rows:
            _end_sessions(session, ctx, rows, now, lifetime)
        return len(rows)


def _end_sessions(session, ctx, rows, now, lifetime):
    """End the proxy sessions ``rows`` (``(id, user_id)`` pairs, see
    :func:`end_session`) in the caller's transaction."""
    ids = [row[0] for row in rows]
    # The sessions first, as a grant made on a session holds its row
    # before it writes its tokens (_hold_session, use_refresh): a logout
    # waits for such a grant, or the grant for the logout, never both
    # for each other.
    session.execute(sa.delete(models.Session).where(
        models.Session.id.in_(ids)))
    refresh = models.RefreshToken
    code = models.AuthorizationCode
    device_code = models.DeviceCode
    hashes = _recent_refresh_hashes(
        session, (refresh.session_id.in_(ids),), now, lifetime)
    for column, where in (
            (code.code_hash, code.session_id.in_(ids)),
            (device_code.device_code_hash, device_code.session_id.in_(ids))):
        hashes += session.scalars(sa.select(column).where(where)).all()
    counts = dict(session.execute(sa.select(
        refresh.session_id, sa.func.count()).where(
            refresh.session_id.in_(ids)).group_by(refresh.session_id)).all())
    # Each locked first, in one order (lock_rows): codes, device codes,
    # refresh tokens.  Codes deleted, as the refresh tokens: a code
    # marked used and then exchanged would be taken for a replayed one.
    lock_rows(session, code, (code.session_id.in_(ids),))
    session.execute(sa.delete(code).where(code.session_id.in_(ids)))
    approved = (device_code.session_id.in_(ids),
                device_code.status == device.APPROVED)
    lock_rows(session, device_code, approved)
    session.execute(sa.update(device_code).where(*approved).values(
        status=device.DENIED))
    # Deleted, not marked revoked: a revoked one shown again is taken for
    # a stolen token and ends the person's every grant with the client,
    # those of their other sessions too.
    lock_refresh_tokens(session, (refresh.session_id.in_(ids),))
    session.execute(sa.delete(refresh).where(refresh.session_id.in_(ids)))
    # Last, as every path that ends grants (lock_rows).
    _revoke_linked(session, hashes, now + lifetime)
    for session_id, user_id in rows:
        communities.audit(session, ctx.user_id or user_id, 'logout',
                          'session', session_id, user_id=user_id,
                          refresh_tokens=counts.get(session_id, 0))


def is_revoked(db, ctx, jti):
    with db.reader.using(ctx) as session:
        return session.get(models.RevokedToken, jti) is not None


def purge_expired(db, ctx, now):
    """Forget codes, refresh tokens and revocations that expired: they
    can no longer be used, and a revoked token past its ``exp`` is
    refused for its expiry.  Returns the number of rows deleted."""
    count = 0
    with db.writer.using(ctx) as session:
        for model in (models.AuthorizationCode, models.RefreshToken,
                      models.RevokedToken, models.DeviceCode):
            count += session.execute(sa.delete(model).where(
                model.expires_at < now)).rowcount
        count += session.execute(sa.delete(models.Session).where(
            models.Session.expires_at <
            now - logins.EXPIRED_SESSION_KEPT)).rowcount
    return count
