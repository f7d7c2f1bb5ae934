"""Logins through upstream IdPs: the requests under way, and the person
an upstream identity is.

A login request is kept under the SHA-256 of its ``state`` and deleted
by the one callback that uses it, so a state is good once; an expired
one is refused and swept by later logins.
"""

import collections
import datetime

import sqlalchemy as sa

from federation_proxy.db import communities
from federation_proxy.db import models
from federation_proxy.db import oidc
from federation_proxy.db import users
from svc_common import errors

Pending = collections.namedtuple(
    'Pending', 'idp_id nonce code_verifier link_user_id next_url '
    'auth_after')
Login = collections.namedtuple('Login', 'user_id created linked')


def start(db, ctx, state, idp_id, nonce, code_verifier, link_user_id,
          now, expires_at, next_url=None, auth_after=None):
    """Keep a new login request; requests expired before ``now`` go.
    ``next_url``: where the person continues once logged in;
    ``auth_after``: the earliest upstream ``auth_time`` (seconds since
    the epoch) the callback will accept, or None."""
    table = models.LoginRequest
    with db.writer.using(ctx) as session:
        session.execute(sa.delete(table).where(table.expires_at <= now))
        session.add(table(state_hash=communities.token_hash(state),
                          idp_id=idp_id, nonce=nonce,
                          code_verifier=code_verifier,
                          link_user_id=link_user_id,
                          expires_at=expires_at, next_url=next_url,
                          auth_after=auth_after))


def finish(db, ctx, state, now):
    """The login request of ``state``, deleted; None when it is unknown,
    used already or expired."""
    table = models.LoginRequest
    digest = communities.token_hash(state)
    with db.writer.using(ctx) as session:
        row = session.get(table, digest)
        if row is None:
            return None
        pending = Pending(row.idp_id, row.nonce, row.code_verifier,
                          row.link_user_id, row.next_url, row.auth_after)
        expired = row.expires_at <= now
        # Whoever deletes the row owns the login: a concurrent second
        # callback with the same state deletes nothing.
        deleted = session.execute(sa.delete(table).where(
            table.state_hash == digest)).rowcount
        if deleted != 1 or expired:
            return None
        return pending


def _owner(db, ctx, issuer, subject):
    """The person upstream identity ``(issuer, subject)`` is linked to,
    or None."""
    with db.reader.using(ctx) as session:
        return session.scalars(sa.select(models.Identity.user_id).where(
            models.Identity.issuer == issuer,
            models.Identity.subject == subject)).first()


def person_of(db, ctx, issuer, subject, name=None, email=None,
              link_user_id=None, link_session_id=None):
    """The proxy person upstream identity ``(issuer, subject)`` is.

    A known identity is its person.  An unknown one becomes a new
    person, or, when ``link_user_id`` is given, is linked to that
    person while their session ``link_session_id`` (the one that asked
    for the link) is live (else a 401 ``no_session``, see
    :func:`federation_proxy.db.users.link_identity`).  An identity
    already linked to someone else cannot be linked to ``link_user_id``
    (409).

    Two logins of the same new identity at once (a second tab, a
    double click on the IdP's consent page) make one person: the login
    that loses the race finds the person the other one made.
    """
    owner = _owner(db, ctx, issuer, subject)
    if owner is None:
        try:
            if link_user_id:
                users.link_identity(db, ctx, link_user_id, issuer, subject,
                                    session_id=link_session_id)
                return Login(link_user_id, False, True)
            user = users.create_user(db, ctx, issuer, subject, name=name,
                                     email=email)
            return Login(user.id, True, False)
        except errors.Conflict as exc:
            if exc.code != 'identity_linked':
                raise
            owner = _owner(db, ctx, issuer, subject)
            if owner is None:
                raise
    if link_user_id and owner != link_user_id:
        raise errors.Conflict('This identity belongs to another '
                              'person already.', code='identity_linked')
    return Login(owner, False, False)


#: How long an expired session is still kept: a grant its person
#: authorized just before it expired (a code exchanged, a device code
#: collected minutes later) is still made (see
#: :func:`federation_proxy.db.oidc.store_refresh`).
EXPIRED_SESSION_KEPT = datetime.timedelta(days=1)


def start_session(db, ctx, session_id, user_id, now, expires_at,
                  replaces=None, idp_id=None, host_prefixed=False,
                  subject=None):
    """Keep a new proxy session of ``user_id``; sessions that expired
    more than :data:`EXPIRED_SESSION_KEPT` before ``now`` go.

    :param idp_id: the IdP whose login made the session: disabling or
        deleting it ends the session (:func:`federation_proxy.db.oidc.
        end_idp_sessions`).  The identity the login went through, the
        person's at that IdP's issuer with ``subject`` (given with
        ``idp_id``), must still be theirs (409 ``identity_unlinked`` if
        it was unlinked since the login read it; another identity of
        theirs at the same IdP does not stand for it); the session
        records it, and unlinking it ends the session
        (:func:`federation_proxy.db.oidc.end_identity_sessions`).
    :param host_prefixed: whether the browser gets the session's cookie
        under its ``__Host-`` name (an https issuer); see
        :func:`federation_proxy.db.oidc.end_unprefixed_sessions`.

    :param replaces: the session the browser had until this login (a
        login again, for ``prompt=login`` or a link): it ends, so that a
        copy of its cookie does not outlive the browser's logout, and
        the grants it authorized become the new session's when it was
        the same person's (the browser's logout revokes them); another
        person's login leaves them with no session (see
        :func:`_hand_over`).  Its codes and refresh tokens keep the
        identity and IdP of the login that obtained them (migrations
        0021, 0022, 0023): unlinking that identity or disabling that IdP
        still ends them, whoever's login the new session is.
    """
    table = models.Session
    identity_id = None
    with db.writer.using(ctx) as session:
        if idp_id is not None:
            # Held until the session is kept: an IdP disabled or deleted
            # meanwhile ends it (its disabling waits), or was disabled
            # before, and the login is refused.
            idp = models.IdentityProvider
            issuer = session.execute(sa.select(idp.issuer).where(
                idp.id == idp_id, idp.enabled.is_(True)
            ).with_for_update(read=True)).scalar()
            if issuer is None:
                raise errors.NotFound('The IdP of this login was disabled '
                                      'or deleted meanwhile.',
                                      code='idp_not_found')
            # Held until the session is kept, as the IdP: an unlinking
            # of the person's identity there meanwhile ends the session
            # (it waits), or was made before, and the login is refused.
            identity = models.Identity
            identity_id = session.execute(sa.select(identity.id).where(
                identity.user_id == user_id,
                identity.issuer == issuer,
                identity.subject == subject).with_for_update(
                    read=True)).scalar()
            if identity_id is None:
                raise errors.Conflict('The identity of this login was '
                                      'unlinked from its person meanwhile; '
                                      'log in again.',
                                      code='identity_unlinked')
        session.execute(sa.delete(table).where(
            table.expires_at <= now - EXPIRED_SESSION_KEPT))
        session.add(table(id=session_id, user_id=user_id,
                          expires_at=expires_at, idp_id=idp_id,
                          identity_id=identity_id,
                          host_prefixed=host_prefixed))
        if not replaces or replaces == session_id:
            return
        old = session.get(table, replaces, with_for_update=True)
        if old is None:
            return
        _hand_over(session, old,
                   session_id if old.user_id == user_id else None)
        session.delete(old)


def _hand_over(session, old, new_session_id):
    """Inside :func:`start_session`'s transaction: what replaced session
    ``old`` authorized (codes, device codes, refresh tokens), each table
    locked first, in the one order of
    :func:`federation_proxy.db.oidc.lock_rows` (an unlink or an IdP's
    disabling ends the same rows by identity or IdP meanwhile).

    Those that record no login (made by an API process of an earlier
    release, before migrations 0021 and 0023) take ``old``'s IdP and
    identity, which ``old``'s row going would lose: they still end with
    that identity's unlinking and that IdP's disabling, not with the
    replacing login's.  They become session ``new_session_id``'s when
    given (the same person: the browser's logout revokes them); else
    (another person's login) they stay with no session kept, as those
    of a session forgotten: a login forced on the browser from another
    site does not end them, nor does the new session's logout.
    """
    for model, unknown in (
            (models.AuthorizationCode, models.AuthorizationCode.identity_id),
            (models.DeviceCode, models.DeviceCode.identity_id),
            # A token that records an IdP but no identity (before 0022)
            # is left so: any of the person's identities there ends it.
            (models.RefreshToken, models.RefreshToken.idp_id)):
        of_old = model.session_id == old.id
        oidc.lock_rows(session, model, (of_old,))
        login = {'identity_id': old.identity_id}
        if model is models.RefreshToken:
            login['idp_id'] = old.idp_id
        if any(value is not None for value in login.values()):
            session.execute(sa.update(model).where(
                of_old, unknown.is_(None)).values(**login))
        if new_session_id is not None:
            session.execute(sa.update(model).where(of_old).values(
                session_id=new_session_id))


def session_person(db, ctx, session_id, user_id, now):
    """Whether ``session_id`` is a live session (not logged out, not
    expired) of ``user_id``, a person the proxy still knows: one
    query."""
    if not (session_id and user_id):
        return False
    table = models.Session
    with db.reader.using(ctx) as session:
        return session.execute(sa.select(table.id).join(
            models.User, models.User.id == table.user_id).where(
                table.id == session_id, table.user_id == user_id,
                table.expires_at > now)).first() is not None


def is_person(db, ctx, user_id):
    """Whether ``user_id`` is a person the proxy knows (False for no
    id).  The one answer to that question: the login session, the
    session cookie at the API and the ``is_user`` policy target ask it
    here."""
    if not user_id:
        return False
    with db.reader.using(ctx) as session:
        return session.get(models.User, user_id) is not None


def bearer_person(db, ctx, jti, user_id):
    """Whether an access token with id ``jti`` for ``user_id`` still
    stands for a person: not revoked, and the person known (one read
    transaction)."""
    with db.reader.using(ctx) as session:
        return (session.get(models.RevokedToken, jti) is None and
                session.get(models.User, user_id) is not None)
