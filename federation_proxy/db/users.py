"""People (the proxy's own subjects) and their upstream identities.

A person always keeps at least one identity: unlinking the last one is
refused, since nobody could log in as that person again.
"""

import datetime

import sqlalchemy as sa

from federation_proxy.db import communities
from federation_proxy.db import models
from federation_proxy.db import oidc
from svc_common import errors


@communities.retry_lost_insert_race
def create_user(db, ctx, issuer, subject, name=None, email=None,
                user_id=None):
    """A person and their first upstream identity; ``user_id``, when
    given, is the id of the person's Keystone user (see
    :mod:`federation_proxy.api.vo_access`)."""
    with db.writer.using(ctx) as session:
        _refuse_linked(session, issuer, subject)
        if user_id and session.get(models.User, user_id) is not None:
            raise errors.Conflict('User %s exists already.' % user_id,
                                  code='user_exists')
        user = models.User(id=user_id or communities.new_id(), name=name,
                           email=email)
        session.add(user)
        session.flush()
        session.add(models.Identity(id=communities.new_id(),
                                    user_id=user.id, issuer=issuer,
                                    subject=subject))
        communities.audit(session, ctx.user_id, 'create', 'user', user.id)
        session.flush()
        session.refresh(user)
        return user


def _refuse_linked(session, issuer, subject):
    if session.scalars(sa.select(models.Identity).where(
            models.Identity.issuer == issuer,
            models.Identity.subject == subject)).first():
        raise errors.Conflict('Identity %s at %s is linked already.'
                              % (subject, issuer), code='identity_linked')


def get_user(db, ctx, user_id):
    with db.reader.using(ctx) as session:
        return communities._require(session, models.User, user_id, 'user')


def list_users(db, ctx, limit, marker=None):
    query = sa.select(models.User).order_by(models.User.id)
    if marker:
        query = query.where(models.User.id > marker)
    with db.reader.using(ctx) as session:
        return session.scalars(query.limit(limit)).all()


def list_identities(db, ctx, user_id, limit=None, marker=None):
    """The upstream identities of person ``user_id`` by issuer and
    subject (unique together), at most ``limit`` of them from after
    their identity ``marker``.  A person links identities themselves (a
    login with ``link=true`` at any IdP of the federation), so the list
    has no bound of its own: it is read in pages.  A marker that is not
    one of the person's identities is the 400 ``invalid_marker``."""
    table = models.Identity
    query = sa.select(table).where(table.user_id == user_id).order_by(
        table.issuer, table.subject)
    with db.reader.using(ctx) as session:
        communities._require(session, models.User, user_id, 'user')
        if marker:
            after = session.get(table, marker)
            if after is None or after.user_id != user_id:
                raise errors.BadRequest(
                    'No identity %s to start after.'
                    % errors.quoted_id(marker),
                    code='invalid_marker', field='marker')
            query = query.where(sa.tuple_(table.issuer, table.subject) >
                                sa.tuple_(sa.literal(after.issuer),
                                          sa.literal(after.subject)))
        if limit:
            query = query.limit(limit)
        return session.scalars(query).all()


@communities.retry_lost_insert_race
def link_identity(db, ctx, user_id, issuer, subject, session_id=None):
    """Link upstream identity ``(issuer, subject)`` to person ``user_id``.

    :param session_id: the person's proxy session that asked for the
        link (a login with ``link=true``).  It must still be live, and
        it is held (``FOR SHARE``) until the link is made: a copy of a
        session cookie that its person logged out (one stolen) cannot
        add an identity that would log its holder in as the person for
        good.
    :raises svc_common.errors.ApiError: 401 ``no_session`` when that
        session was logged out or expired.
    """
    with db.writer.using(ctx) as session:
        communities._require(session, models.User, user_id, 'user')
        if session_id is not None:
            _hold_live_session(session, session_id, user_id)
        _refuse_linked(session, issuer, subject)
        identity = models.Identity(id=communities.new_id(), user_id=user_id,
                                   issuer=issuer, subject=subject)
        session.add(identity)
        communities.audit(session, ctx.user_id, 'link', 'identity',
                          identity.id, issuer=issuer, subject=subject)
        session.flush()
        session.refresh(identity)
        return identity


def _hold_live_session(session, session_id, user_id):
    table = models.Session
    live = session.execute(sa.select(table.id).where(
        table.id == session_id, table.user_id == user_id,
        table.expires_at > datetime.datetime.utcnow()).with_for_update(
            read=True)).first()
    if live is None:
        raise errors.ApiError(
            'The session that asked for this link has ended (logged out '
            'or expired); log in and link again.', status=401,
            code='no_session')


@communities.retry_on_deadlock
def unlink_identity(db, ctx, user_id, identity_id, now, lifetime):
    """Unlink identity ``identity_id`` of person ``user_id``, and end the
    proxy sessions its logins made, with the grants they authorized
    (:func:`federation_proxy.db.oidc.end_identity_sessions`; ``now`` and
    the access-token ``lifetime``, a timedelta, say until when access
    tokens are revoked)."""
    with db.writer.using(ctx) as session:
        # The person locked first: of two unlinks of their last two
        # identities at once, the second counts after the first.  Not
        # against what refers to them (FOR NO KEY UPDATE): a link from
        # one of their sessions holds it, then adds an identity that
        # refers to them, while the unlink, once it holds them, waits
        # for that session to end it (a deadlock, the unlink a 500).
        session.get(models.User, user_id,
                    with_for_update={'key_share': True})
        identity = session.get(models.Identity, identity_id)
        if identity is None or identity.user_id != user_id:
            raise errors.NotFound('No identity %s.'
                                  % errors.quoted_id(identity_id),
                                  code='identity_not_found')
        count = session.scalar(sa.select(sa.func.count()).where(
            models.Identity.user_id == user_id))
        if count <= 1:
            raise errors.Conflict('The last identity of a person cannot be '
                                  'unlinked.', code='last_identity')
        session.delete(identity)
        ended = oidc.end_identity_sessions(session, ctx, user_id,
                                           identity_id, identity.issuer,
                                           now, lifetime)
        communities.audit(session, ctx.user_id, 'unlink', 'identity',
                          identity_id, sessions_ended=ended)
