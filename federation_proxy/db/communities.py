"""Virtual organisations, their groups, roles, memberships, requests and
invitations, and the audit trail of every change to them.

Each public function opens its own transaction; a change and its audit
row are written in the same one, so that no change is ever unaudited.
Functions that change a membership return what the API announces on the
bus (see :func:`membership_event`).
"""

import datetime
import hashlib
import json
import secrets
import uuid

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy import entitlements
from svc_common import errors

MEMBERSHIP_STATUSES = ('pending', 'active', 'suspended', 'expired')
BUILTIN_ROLES = ('member', 'manager')


def _lost_an_insert_race(exc):
    return isinstance(exc, db_exc.DBDuplicateEntry)


#: Runs a writing function once more when a unique index refused its
#: insert.  Each function checks for the row it would duplicate before
#: it inserts, to answer a precise 409, but a transaction that has not
#: committed yet is invisible to that check; on PostgreSQL the insert
#: then waits for it and fails once it commits.  Run again, the check
#: sees the row and answers the 409 (instead of a 500).
retry_lost_insert_race = oslo_db_api.wrap_db_retry(
    max_retries=1, retry_interval=0, inc_retry_interval=False,
    exception_checker=_lost_an_insert_race)

#: Runs a writing function again, from the start of its transaction,
#: when PostgreSQL broke a deadlock by aborting it (``DBDeadlock``): the
#: functions that end sessions and grants lock them in one order (see
#: :func:`federation_proxy.db.oidc.lock_refresh_tokens`), but a lock
#: taken by a statement of another kind (a refresh under way, a purge)
#: may still cross theirs; the caller then sees the work done, not a
#: 500.
retry_on_deadlock = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_on_deadlock=True, retry_interval=0.05,
    inc_retry_interval=True)


def _now():
    return datetime.datetime.utcnow().replace(microsecond=0)


def new_id():
    return uuid.uuid4().hex


def token_hash(token):
    """The SHA-256 of a secret token, as stored."""
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def audit_values(actor, action, object_type, object_id, vo_id=None,
                 at=None, **detail):
    """The columns of an audit record (see :func:`audit`)."""
    return dict(at=at or _now(), actor=actor, vo_id=vo_id, action=action,
                object_type=object_type, object_id=object_id,
                detail=json.dumps(detail, sort_keys=True) if detail else None)


def audit(session, actor, action, object_type, object_id, vo_id=None,
          **detail):
    session.add(models.AuditRecord(**audit_values(
        actor, action, object_type, object_id, vo_id, **detail)))


#: ``lock`` of :func:`_require` for a row that must stay while the
#: transaction adds rows that refer to it (``SELECT ... FOR SHARE``).
SHARE = {'read': True}


def _require(session, model, object_id, what, vo_id=None, lock=False):
    """The row, or the 404 ``<what>_not_found``.

    ``lock`` (PostgreSQL, MySQL): True reads the row with ``SELECT ...
    FOR UPDATE``, for a change that depends on what the row holds: a
    concurrent change of the same row waits for this transaction, then
    reads what it wrote.  :data:`SHARE` keeps the row from being deleted
    until this transaction ends (several may hold it at once).
    """
    row = (session.get(model, object_id, with_for_update=lock or None)
           if object_id else None)
    if row is None or (vo_id is not None and row.vo_id != vo_id):
        raise errors.NotFound('No %s %s.'
                              % (what, errors.quoted_id(object_id)),
                              code='%s_not_found' % what)
    return row


def require(session, model, object_id, what, vo_id=None, lock=False):
    """The row of ``model`` with id ``object_id`` (of VO ``vo_id`` when
    given), or the 404 ``<what>_not_found``: for the other db modules
    (``lock``: see :func:`_require`)."""
    return _require(session, model, object_id, what, vo_id, lock)


# -- virtual organisations ---------------------------------------------------

def get_vo(db, ctx, vo_id):
    with db.reader.using(ctx) as session:
        return _require(session, models.VirtualOrganisation, vo_id, 'vo')


def list_vos(db, ctx, limit, marker=None, only=None):
    """VOs by id; ``only``: the ids a caller may see (None for all)."""
    query = sa.select(models.VirtualOrganisation).order_by(
        models.VirtualOrganisation.id)
    if only is not None:
        query = query.where(models.VirtualOrganisation.id.in_(only))
    if marker:
        query = query.where(models.VirtualOrganisation.id > marker)
    with db.reader.using(ctx) as session:
        return session.scalars(query.limit(limit)).all()


@retry_lost_insert_race
def create_vo(db, ctx, name, managers, description=None, lifetime=None):
    """A VO, its root group, its built-in roles, and an active
    ``manager`` membership of each of ``managers`` (user ids)."""
    with db.writer.using(ctx) as session:
        if session.scalars(sa.select(models.VirtualOrganisation).where(
                models.VirtualOrganisation.name == name)).first():
            raise errors.Conflict('VO %s exists already.' % name,
                                  code='vo_exists')
        if session.scalars(sa.select(models.Group).where(
                models.Group.path == name)).first():
            raise errors.Conflict('Group %s exists already.' % name,
                                  code='group_exists')
        vo = models.VirtualOrganisation(id=new_id(), name=name,
                                        description=description)
        session.add(vo)
        session.flush()
        root = models.Group(id=new_id(), vo_id=vo.id, path=name)
        session.add(root)
        for role in BUILTIN_ROLES:
            session.add(models.Role(id=new_id(), vo_id=vo.id, name=role))
        session.flush()
        audit(session, ctx.user_id, 'create', 'vo', vo.id, vo.id,
              name=name)
        events = [_add_membership(session, ctx, vo.id, root, user_id,
                                  'manager', 'active', lifetime)
                  for user_id in managers]
        session.flush()
        session.refresh(vo)
        return vo, events


def delete_vo(db, ctx, vo_id):
    """Delete a VO and everything in it; returns the ``delete`` event of
    each of its memberships, so that listeners learn of every removal as
    if the members had been removed one by one."""
    with db.writer.using(ctx) as session:
        # Locked first: what is added to the VO meanwhile waits (see
        # _keep_vo), and what was added before is seen below.
        vo = _require(session, models.VirtualOrganisation, vo_id, 'vo',
                      lock=True)
        # A VO may have 100,000 members and thousands of groups: plain
        # rows and one statement per table (an ORM object per membership
        # and audit record, and a flush per group, took 16 s and 480 MB).
        memberships = session.execute(
            sa.select(*_MEMBERSHIP_EVENT_COLUMNS).where(
                models.Membership.vo_id == vo_id).order_by(
                models.Membership.id)).all()
        events = [membership_event(m, 'delete') for m in memberships]
        at = _now()
        if memberships:
            session.execute(sa.insert(models.AuditRecord), [
                audit_values(ctx.user_id, 'delete', 'membership', m.id,
                             vo_id, at=at, user_id=m.user_id, role=m.role)
                for m in memberships])
        for model in (models.Membership, models.MembershipRequest,
                      models.Invitation, models.Role, models.Group):
            # The groups in one statement: a parent and its subgroups go
            # together, and the database checks the references after it.
            session.execute(sa.delete(model).where(model.vo_id == vo_id))
        session.delete(vo)
        audit(session, ctx.user_id, 'delete', 'vo', vo_id, vo_id)
        return events


def vo_roles(db, ctx, user_id, now=None):
    """``{vo_id: set of role names}`` of the current (active, unexpired)
    memberships of ``user_id`` in any group: what the policy target of a
    VO is built from."""
    now = now or _now()
    query = sa.select(models.Membership.vo_id, models.Membership.role).where(
        models.Membership.user_id == user_id,
        models.Membership.status == entitlements.ACTIVE,
        sa.or_(models.Membership.expires_at.is_(None),
               models.Membership.expires_at > now))
    found = {}
    with db.reader.using(ctx) as session:
        for vo_id, role in session.execute(query):
            found.setdefault(vo_id, set()).add(role)
    return found


# -- groups and roles --------------------------------------------------------

def _page_of(session, model, column, vo_id, limit, marker, what):
    """At most ``limit`` rows of ``model`` of VO ``vo_id`` in the order
    of ``column`` (unique), from after the row whose id is ``marker`` (a
    400 naming ``marker`` when it is not one of the VO's)."""
    query = sa.select(model).where(model.vo_id == vo_id).order_by(column)
    if marker:
        after = session.get(model, marker)
        if after is None or after.vo_id != vo_id:
            raise errors.BadRequest('No %s %s to start after.' % (
                what, errors.quoted_id(marker)), code='invalid_marker',
                field='marker')
        query = query.where(column > getattr(after, column.key))
    if limit:
        query = query.limit(limit)
    return session.scalars(query).all()


def list_groups(db, ctx, vo_id, limit=None, marker=None):
    """The VO's groups by path (its root group first), a page at a time
    (see :func:`_page_of`)."""
    with db.reader.using(ctx) as session:
        return _page_of(session, models.Group, models.Group.path, vo_id,
                        limit, marker, 'group')


def get_group(db, ctx, vo_id, group_id):
    with db.reader.using(ctx) as session:
        return _require(session, models.Group, group_id, 'group', vo_id)


@retry_lost_insert_race
def create_group(db, ctx, vo_id, parent_id, name, description=None):
    """A subgroup ``<parent path>:<name>``; the VO's root group when
    ``parent_id`` is None."""
    with db.writer.using(ctx) as session:
        _keep_vo(session, vo_id)
        if parent_id is None:
            parent = _root_group(session, vo_id)
        else:
            parent = _require(session, models.Group, parent_id, 'group',
                              vo_id, lock=SHARE)
        path = parent.path + entitlements.SEPARATOR + name
        if len(path) > MAX_GROUP_PATH:
            # The column's bound: PostgreSQL refused the row (a 500),
            # SQLite kept a path longer than the schema says.
            raise errors.BadRequest(
                'The new group\'s path (its parent\'s, ":" and the name) '
                'would be %d characters long; a group path has at most '
                '%d.' % (len(path), MAX_GROUP_PATH),
                code='group_path_too_long', field='name')
        if session.scalars(sa.select(models.Group).where(
                models.Group.path == path)).first():
            raise errors.Conflict('Group %s exists already.' % path,
                                  code='group_exists')
        group = models.Group(id=new_id(), vo_id=vo_id, parent_id=parent.id,
                             path=path, description=description)
        session.add(group)
        session.flush()
        audit(session, ctx.user_id, 'create', 'group', group.id, vo_id,
              path=path)
        session.refresh(group)
        return group


def delete_group(db, ctx, vo_id, group_id):
    """Delete a group that has no subgroups, no members, no pending
    request and no pending invitation that can still be accepted.

    Its decided requests and its used or expired invitations are
    history (the audit trail keeps what happened to them) and go with
    it: nobody can delete a request, and they kept the group for good.
    """
    requests, invitations = models.MembershipRequest, models.Invitation
    with db.writer.using(ctx) as session:
        # Locked: what is added to the group meanwhile waits (it reads
        # the group FOR SHARE), and what was added before is seen below.
        group = _require(session, models.Group, group_id, 'group', vo_id,
                         lock=True)
        if group.parent_id is None:
            raise errors.Conflict('The root group goes with its VO.',
                                  code='root_group')
        uses = (
            sa.select(models.Group.id).where(
                models.Group.parent_id == group_id),
            sa.select(models.Membership.id).where(
                models.Membership.group_id == group_id),
            sa.select(requests.id).where(requests.group_id == group_id,
                                         requests.status == 'pending'),
            sa.select(invitations.id).where(
                invitations.group_id == group_id,
                invitations.status == 'pending',
                invitations.expires_at > _now()))
        if any(session.scalars(use.limit(1)).first() for use in uses):
            raise errors.Conflict('Group %s has subgroups, members, '
                                  'pending requests or invitations.'
                                  % group.path, code='group_in_use')
        for model in (requests, invitations):
            session.execute(sa.delete(model).where(
                model.group_id == group_id))
        session.delete(group)
        audit(session, ctx.user_id, 'delete', 'group', group_id, vo_id)


#: The longest group path (``vo:group:sub``) the proxy keeps.
MAX_GROUP_PATH = models.Group.__table__.c.path.type.length


def _keep_vo(session, vo_id):
    """The VO, kept from deletion until the transaction ends: the rows
    this transaction adds to it refer to it.  A deletion under way is
    waited for, then the VO is absent (404), instead of the insert
    failing on a foreign key (a 500) or the deletion failing on the new
    row."""
    return _require(session, models.VirtualOrganisation, vo_id, 'vo',
                    lock=SHARE)


def hold_manager(session, vo_id, manager):
    """Keep the authority of ``manager`` (a person id, or None when the
    caller did not act as the VO's manager: an operator) until the
    transaction ends: one of their current ``manager`` memberships of
    the VO is read ``FOR SHARE``, so that their removal or suspension at
    this moment waits for the transaction, and one committed since the
    policy check (which read their roles before it) is seen here.

    :raises svc_common.errors.Forbidden: ``no_longer_manager``: the
        grant would be made by someone who no longer manages the VO.
    """
    if manager is None:
        return
    if _hold_manager_row(session, vo_id, manager) is None:
        raise _no_longer_manager(manager)


def _no_longer_manager(manager):
    return errors.Forbidden('%s no longer manages this VO.' % manager,
                            code='no_longer_manager')


def _manages(membership, manager, now):
    """Whether ``membership`` is a current ``manager`` membership of
    person ``manager``."""
    return (membership.user_id == manager and membership.role == 'manager'
            and membership.status == entitlements.ACTIVE and
            (membership.expires_at is None or membership.expires_at > now))


def _hold_manager_row(session, vo_id, manager, where=sa.true()):
    """The id of the first (by id) of ``manager``'s current manager
    memberships of the VO that match ``where``, read ``FOR SHARE``; None
    when there is none."""
    table = models.Membership
    return session.execute(sa.select(table.id).where(
        table.user_id == manager, table.vo_id == vo_id,
        table.role == 'manager', table.status == entitlements.ACTIVE,
        sa.or_(table.expires_at.is_(None), table.expires_at > _now()),
        where).order_by(table.id).limit(1).with_for_update(
            read=True)).scalar()


def _lock_membership(session, vo_id, membership_id, manager):
    """Membership ``membership_id`` of the VO, locked (``FOR UPDATE``)
    for a change that VO manager ``manager`` makes (None: an operator),
    whose authority is held as :func:`hold_manager` holds it.

    Both are locked in the order of the memberships' ids: one of the
    manager's memberships below the target, else the target (which may
    be the manager's own), else one above it.  Two managers changing
    each other's memberships at once therefore wait for one another,
    and the second finds the first's change (403 ``no_longer_manager``
    when it removed or suspended them), instead of each holding the
    row the other waits for (a deadlock, which PostgreSQL ends with an
    error).
    """
    if manager is None:
        return _require(session, models.Membership, membership_id,
                        'membership', vo_id, lock=True)
    table = models.Membership
    held = _hold_manager_row(session, vo_id, manager,
                             table.id < membership_id)
    membership = _require(session, models.Membership, membership_id,
                          'membership', vo_id, lock=True)
    if held is None and not _manages(membership, manager, _now()):
        if _hold_manager_row(session, vo_id, manager,
                             table.id > membership_id) is None:
            raise _no_longer_manager(manager)
    return membership


def _root_group(session, vo_id):
    return session.scalars(sa.select(models.Group).where(
        models.Group.vo_id == vo_id, models.Group.parent_id.is_(None))).one()


def get_role(db, ctx, vo_id, role_id):
    with db.reader.using(ctx) as session:
        return _require(session, models.Role, role_id, 'role', vo_id)


def list_roles(db, ctx, vo_id, limit=None, marker=None):
    """The VO's roles by name, a page at a time (see :func:`_page_of`)."""
    with db.reader.using(ctx) as session:
        return _page_of(session, models.Role, models.Role.name, vo_id,
                        limit, marker, 'role')


@retry_lost_insert_race
def create_role(db, ctx, vo_id, name, description=None):
    with db.writer.using(ctx) as session:
        _keep_vo(session, vo_id)
        if _role(session, vo_id, name):
            raise errors.Conflict('Role %s exists already.' % name,
                                  code='role_exists')
        role = models.Role(id=new_id(), vo_id=vo_id, name=name,
                           description=description)
        session.add(role)
        audit(session, ctx.user_id, 'create', 'role', role.id, vo_id,
              name=name)
        session.flush()
        session.refresh(role)
        return role


def delete_role(db, ctx, vo_id, role_id):
    with db.writer.using(ctx) as session:
        # Locked, as a group is by delete_group.
        role = _require(session, models.Role, role_id, 'role', vo_id,
                        lock=True)
        if role.name in BUILTIN_ROLES:
            raise errors.Conflict('Role %s is built in.' % role.name,
                                  code='builtin_role')
        if session.scalars(sa.select(models.Membership.id).where(
                models.Membership.vo_id == vo_id,
                models.Membership.role == role.name)).first():
            raise errors.Conflict('Role %s is held.' % role.name,
                                  code='role_in_use')
        # A pending request or invitation for the role could no longer
        # be approved or accepted (a 400 "no role" to whoever tries).
        invitations = models.Invitation
        for model, live in (
                (models.MembershipRequest, sa.true()),
                (invitations, invitations.expires_at > _now())):
            if session.scalars(sa.select(model.id).where(
                    model.vo_id == vo_id, model.role == role.name,
                    model.status == 'pending', live)).first():
                raise errors.Conflict(
                    'Role %s is asked for by a pending request or offered '
                    'by a pending invitation; decide or delete it first.'
                    % role.name, code='role_in_use')
        session.delete(role)
        audit(session, ctx.user_id, 'delete', 'role', role_id, vo_id)


def _role(session, vo_id, name, lock=False):
    """The VO's role ``name`` or None; ``lock``: kept from deletion
    until the transaction ends (``FOR SHARE``), for a row that names
    it."""
    query = sa.select(models.Role).where(models.Role.vo_id == vo_id,
                                         models.Role.name == name)
    if lock:
        query = query.with_for_update(read=True)
    return session.scalars(query).first()


# -- memberships -------------------------------------------------------------

#: What :func:`membership_event` reads of a membership.
_MEMBERSHIP_EVENT_COLUMNS = [
    models.Membership.id, models.Membership.vo_id,
    models.Membership.group_id, models.Membership.user_id,
    models.Membership.role, models.Membership.status,
    models.Membership.expires_at]


def membership_event(membership, action):
    """``(event type, payload)`` of a membership change, for the bus."""
    status = entitlements.shown_status(membership.status,
                                       membership.expires_at, _now())
    return ('federation.membership.%s' % action, {
        'membership_id': membership.id, 'vo_id': membership.vo_id,
        'group_id': membership.group_id, 'user_id': membership.user_id,
        'role': membership.role, 'status': status,
        'expires_at': (membership.expires_at.isoformat() + 'Z'
                       if membership.expires_at else None)})


def _expiry(lifetime, now=None):
    if not lifetime:
        return None
    return (now or _now()) + datetime.timedelta(days=lifetime)


#: What makes a person known to the proxy, after a sentence saying that
#: it does not know one.
PERSON_HINT = ('a person is known once they log in through one of its '
               'identity providers (GET /v1/login) or an operator '
               'registers them ("openstack federation user create").')


def _add_membership(session, ctx, vo_id, group, user_id, role, status,
                    lifetime, expires_at=None):
    try:
        _require(session, models.User, user_id, 'user')
    except errors.NotFound as exc:
        # "No user alice." did not say how alice becomes one.
        raise errors.NotFound('%s The proxy does not know this person: %s'
                              % (exc.detail, PERSON_HINT),
                              code=exc.code) from None
    if _role(session, vo_id, role, lock=True) is None:
        raise errors.BadRequest('VO has no role %s.' % role,
                                code='no_such_role', field='role')
    existing = session.scalars(sa.select(models.Membership).where(
        models.Membership.user_id == user_id,
        models.Membership.group_id == group.id,
        models.Membership.role == role)).first()
    if existing is not None:
        raise errors.Conflict('%s already holds %s in %s.' % (
            user_id, role, group.path), code='membership_exists')
    membership = models.Membership(
        id=new_id(), vo_id=vo_id, group_id=group.id, user_id=user_id,
        role=role, status=status,
        expires_at=expires_at or _expiry(lifetime))
    session.add(membership)
    session.flush()
    audit(session, ctx.user_id, 'create', 'membership', membership.id,
          vo_id, user_id=user_id, group=group.path, role=role,
          status=status)
    return membership_event(membership, 'create')


def membership_page_query(vo_id=None, user_id=None, limit=None,
                          marker=None):
    """The statement of a page of memberships by id (of VO ``vo_id``:
    read through ``memberships_vo_page_idx``, whatever the VO's size)."""
    query = sa.select(models.Membership).order_by(models.Membership.id)
    if vo_id is not None:
        query = query.where(models.Membership.vo_id == vo_id)
    if user_id is not None:
        query = query.where(models.Membership.user_id == user_id)
    if marker:
        query = query.where(models.Membership.id > marker)
    if limit:
        query = query.limit(limit)
    return query


def list_memberships(db, ctx, vo_id=None, user_id=None, limit=None,
                     marker=None):
    query = membership_page_query(vo_id, user_id, limit, marker)
    with db.reader.using(ctx) as session:
        return session.scalars(query).all()


def get_membership(db, ctx, vo_id, membership_id):
    with db.reader.using(ctx) as session:
        return _require(session, models.Membership, membership_id,
                        'membership', vo_id)


@retry_lost_insert_race
def create_membership(db, ctx, vo_id, user_id, role, group_id=None,
                      status='active', lifetime=None, expires_at=None,
                      manager=None):
    """Add ``user_id`` to a group of the VO (its root group by default);
    returns ``(membership, event)``.  ``manager``: the VO manager who
    grants it (see :func:`hold_manager`)."""
    with db.writer.using(ctx) as session:
        _keep_vo(session, vo_id)
        hold_manager(session, vo_id, manager)
        group = (_root_group(session, vo_id) if group_id is None else
                 _require(session, models.Group, group_id, 'group', vo_id,
                          lock=SHARE))
        event = _add_membership(session, ctx, vo_id, group, user_id, role,
                                status, lifetime, expires_at)
        membership = session.get(models.Membership, event[1][
            'membership_id'])
        return membership, event


def update_membership(db, ctx, vo_id, membership_id, status=None,
                      expires_at=None, renew_days=None, manager=None):
    """Change a membership's status and/or expiry; ``renew_days`` sets
    the expiry that many days from now.  Returns ``(membership, event)``.
    ``manager``: the VO manager who changes it (see
    :func:`_lock_membership`)."""
    with db.writer.using(ctx) as session:
        membership = _lock_membership(session, vo_id, membership_id,
                                      manager)
        if status is not None:
            membership.status = status
        if expires_at is not None:
            membership.expires_at = expires_at
        if renew_days is not None:
            membership.expires_at = _expiry(renew_days)
            if membership.status == 'expired':
                membership.status = 'active'
        membership.updated_at = _now()
        session.flush()
        audit(session, ctx.user_id, 'update', 'membership', membership_id,
              vo_id, status=membership.status,
              expires_at=membership_event(membership, 'update')[1][
                  'expires_at'])
        return membership, membership_event(membership, 'update')


def delete_membership(db, ctx, vo_id, membership_id, manager=None):
    """Remove a membership; returns its event.  ``manager``: the VO
    manager who removes it (see :func:`_lock_membership`)."""
    with db.writer.using(ctx) as session:
        membership = _lock_membership(session, vo_id, membership_id,
                                      manager)
        event = membership_event(membership, 'delete')
        session.delete(membership)
        audit(session, ctx.user_id, 'delete', 'membership', membership_id,
              vo_id, user_id=membership.user_id, role=membership.role)
        return event


def membership_query():
    """Every membership with its group: the columns of
    :class:`entitlements.Membership` (``path``, ``role``, ``status``,
    ``expires_at``) and the member's ``user_id``.

    :func:`memberships_of` filters it by person; the OIDC provider
    outer-joins it to the person to read both in one statement."""
    return sa.select(
        models.Group.path, models.Membership.role, models.Membership.status,
        models.Membership.expires_at, models.Membership.user_id).join(
            models.Group, models.Group.id == models.Membership.group_id)


def memberships_of(session, user_id):
    """The user's memberships as :class:`entitlements.Membership` records
    (all of them: the entitlement rules choose the current ones), in one
    query, inside ``session``'s transaction."""
    query = membership_query().where(models.Membership.user_id == user_id)
    return [entitlements.Membership(row.path, row.role, row.status,
                                    row.expires_at)
            for row in session.execute(query)]


def current_memberships(db, ctx, user_id):
    """:func:`memberships_of` in a transaction of its own."""
    with db.reader.using(ctx) as session:
        return memberships_of(session, user_id)


# -- requests ----------------------------------------------------------------

def oldest_first_query(query, model, vo_id, limit=None, marker=None):
    """``query`` of ``model`` rows of VO ``vo_id`` in the order they were
    made (``created_at``, then ``id``), from after the row ``marker``, at
    most ``limit`` of them: read through the ``(vo_id, created_at, id)``
    index of requests and invitations."""
    query = query.where(model.vo_id == vo_id).order_by(model.created_at,
                                                       model.id)
    if marker:
        # The marker's time compared inside the database: SQLite keeps
        # the server default's text, which a bound datetime does not
        # equal.  One row-value comparison, which both databases start
        # the index range at (an OR of the two cases made PostgreSQL
        # read the VO's rows before the marker and throw them away).
        made = sa.select(model.created_at).where(
            model.id == marker).scalar_subquery()
        query = query.where(sa.tuple_(model.created_at, model.id) >
                            sa.tuple_(made, sa.literal(marker)))
    if limit:
        query = query.limit(limit)
    return query


def _oldest_first(session, query, model, vo_id, limit, marker, what):
    """:func:`oldest_first_query`, after a 400 naming ``marker`` when it
    is not one of the VO's rows."""
    if marker:
        after = session.get(model, marker)
        if after is None or after.vo_id != vo_id:
            raise errors.BadRequest('No %s %s to start after.' % (
                what, errors.quoted_id(marker)), code='invalid_marker',
                field='marker')
    return session.scalars(oldest_first_query(query, model, vo_id, limit,
                                              marker)).all()


def list_requests(db, ctx, vo_id, status=None, limit=None, marker=None):
    """The VO's requests, oldest first (see :func:`_oldest_first`)."""
    query = sa.select(models.MembershipRequest)
    if status:
        query = query.where(models.MembershipRequest.status == status)
    with db.reader.using(ctx) as session:
        return _oldest_first(session, query, models.MembershipRequest,
                             vo_id, limit, marker, 'request')


def get_request(db, ctx, vo_id, request_id):
    with db.reader.using(ctx) as session:
        return _require(session, models.MembershipRequest, request_id,
                        'request', vo_id)


def user_requests_query(user_id, status=None, vo_id=None, limit=None,
                        marker=None):
    """The query of the requests person ``user_id`` made (to any VO, or
    ``vo_id``), oldest first (``created_at``, then ``id``), from after
    their request ``marker``: one range of the ``(user_id, created_at,
    id)`` index."""
    table = models.MembershipRequest
    query = sa.select(table).where(table.user_id == user_id)
    if status:
        query = query.where(table.status == status)
    if vo_id:
        query = query.where(table.vo_id == vo_id)
    query = query.order_by(table.created_at, table.id)
    if marker:
        # As oldest_first_query: the marker's time compared inside the
        # database, in one row-value comparison.
        made = sa.select(table.created_at).where(
            table.id == marker).scalar_subquery()
        query = query.where(sa.tuple_(table.created_at, table.id) >
                            sa.tuple_(made, sa.literal(marker)))
    if limit:
        query = query.limit(limit)
    return query


def list_user_requests(db, ctx, user_id, status=None, vo_id=None,
                       limit=None, marker=None):
    """The requests of :func:`user_requests_query`; a marker that is not
    one of the person's requests is the 400 ``invalid_marker``."""
    with db.reader.using(ctx) as session:
        if marker:
            after = session.get(models.MembershipRequest, marker)
            if after is None or after.user_id != user_id:
                raise errors.BadRequest(
                    'No request %s to start after.'
                    % errors.quoted_id(marker),
                    code='invalid_marker', field='marker')
        return session.scalars(user_requests_query(
            user_id, status, vo_id, limit, marker)).all()


def get_user_request(db, ctx, user_id, request_id):
    """Request ``request_id`` if person ``user_id`` made it, else the
    404 ``request_not_found`` (another person's request is absent)."""
    with db.reader.using(ctx) as session:
        request = session.get(models.MembershipRequest, request_id)
        if request is None or request.user_id != user_id:
            raise errors.NotFound('No request %s.'
                                  % errors.quoted_id(request_id),
                                  code='request_not_found')
        return request


@retry_lost_insert_race
def create_request(db, ctx, vo_id, user_id, reason=None, group_id=None,
                   role='member'):
    """A pending request of ``user_id`` to join VO ``vo_id``.

    A person has at most one pending request per VO: a second one is
    the 409 ``request_pending`` (a manager would otherwise see the same
    person twice, and approving both fails on the second).  The check
    answers that 409; the partial unique index of migration 0008 makes
    it hold when two requests come at once (the loser is run again by
    :data:`retry_lost_insert_race` and meets the check).
    """
    with db.writer.using(ctx) as session:
        _keep_vo(session, vo_id)
        _require(session, models.User, user_id, 'user')
        table = models.MembershipRequest
        pending = session.scalar(sa.select(table.id).where(
            table.vo_id == vo_id, table.user_id == user_id,
            table.status == 'pending'))
        if pending is not None:
            raise errors.Conflict(
                '%s has a pending request %s to join this VO already; '
                'wait for its decision.' % (user_id, pending),
                code='request_pending')
        group = (_root_group(session, vo_id) if group_id is None else
                 _require(session, models.Group, group_id, 'group', vo_id,
                          lock=SHARE))
        if _role(session, vo_id, role, lock=True) is None:
            raise errors.BadRequest('VO has no role %s.' % role,
                                    code='no_such_role', field='role')
        if session.scalar(sa.select(models.Membership.id).where(
                models.Membership.user_id == user_id,
                models.Membership.group_id == group.id,
                models.Membership.role == role)) is not None:
            # Its approval could only fail; the person would hold the VO's
            # one pending request for nothing.
            raise errors.Conflict('%s already holds %s in %s.' % (
                user_id, role, group.path), code='membership_exists')
        request = models.MembershipRequest(
            id=new_id(), vo_id=vo_id, group_id=group.id, user_id=user_id,
            role=role, reason=reason, status='pending')
        session.add(request)
        audit(session, ctx.user_id, 'create', 'request', request.id, vo_id,
              group=group.path, role=role)
        session.flush()
        session.refresh(request)
        return request


@retry_lost_insert_race
def decide_request(db, ctx, vo_id, request_id, approve, lifetime,
                   manager=None):
    """Approve (adding the membership) or reject a pending request;
    returns ``(request, event or None)``.  ``manager``: the VO manager
    who decides (see :func:`hold_manager`)."""
    with db.writer.using(ctx) as session:
        _keep_vo(session, vo_id)
        # Locked: of two managers deciding at once, the second reads the
        # first one's decision (a 409), never overwrites it.
        request = _require(session, models.MembershipRequest, request_id,
                           'request', vo_id, lock=True)
        hold_manager(session, vo_id, manager)
        if request.status != 'pending':
            raise errors.Conflict('Request %s is %s already.' % (
                request_id, request.status), code='request_decided')
        request.status = 'approved' if approve else 'rejected'
        request.decided_by = ctx.user_id
        request.decided_at = _now()
        audit(session, ctx.user_id, request.status, 'request', request_id,
              vo_id)
        event = None
        if approve:
            group = session.get(models.Group, request.group_id)
            event = _add_membership(session, ctx, vo_id, group,
                                    request.user_id, request.role, 'active',
                                    lifetime)
        session.flush()
        session.refresh(request)
        return request, event


def withdraw_request(db, ctx, vo_id, request_id):
    """The person who made a pending request withdraws it: it becomes
    ``withdrawn`` (decided by them, now), stays in the VO's history like
    a decided request, and frees the VO's one pending request of theirs.
    Returns the request.

    Withdrawing a request that is ``withdrawn`` already changes nothing
    and returns it as it is (a repeated withdrawal, say after a lost
    answer, succeeds again).  An approved or rejected one is the 409
    ``request_decided``.  The request is locked as
    :func:`decide_request` locks it: of a withdrawal and a decision at
    once, the second reads what the first wrote, so a request is either
    approved or withdrawn, and a withdrawn one grants nothing.

    Who may withdraw is the policy's to say (the requester); this
    function does not check it.
    """
    with db.writer.using(ctx) as session:
        request = _require(session, models.MembershipRequest, request_id,
                           'request', vo_id, lock=True)
        if request.status == 'withdrawn':
            return request
        if request.status != 'pending':
            raise errors.Conflict(
                'Request %s is %s already; it can no longer be '
                'withdrawn.' % (request_id, request.status),
                code='request_decided')
        request.status = 'withdrawn'
        request.decided_by = ctx.user_id
        request.decided_at = _now()
        audit(session, ctx.user_id, 'withdrawn', 'request', request_id,
              vo_id)
        session.flush()
        session.refresh(request)
        return request


# -- invitations -------------------------------------------------------------

def list_invitations(db, ctx, vo_id, limit=None, marker=None):
    """The VO's invitations, oldest first (see :func:`_oldest_first`)."""
    with db.reader.using(ctx) as session:
        return _oldest_first(session, sa.select(models.Invitation),
                             models.Invitation, vo_id, limit, marker,
                             'invitation')


def get_invitation(db, ctx, vo_id, invitation_id):
    with db.reader.using(ctx) as session:
        return _require(session, models.Invitation, invitation_id,
                        'invitation', vo_id)


def create_invitation(db, ctx, vo_id, email, valid_seconds, group_id=None,
                      role='member', manager=None):
    """An invitation and its token (returned once; only its hash is
    kept): ``(invitation, token)``.  The token is hexadecimal, so that
    it never starts with ``-`` and a command line never takes it for an
    option.  ``manager``: the VO manager who invites (see
    :func:`hold_manager`)."""
    token = secrets.token_hex(32)
    with db.writer.using(ctx) as session:
        _keep_vo(session, vo_id)
        hold_manager(session, vo_id, manager)
        group = (_root_group(session, vo_id) if group_id is None else
                 _require(session, models.Group, group_id, 'group', vo_id,
                          lock=SHARE))
        if _role(session, vo_id, role, lock=True) is None:
            raise errors.BadRequest('VO has no role %s.' % role,
                                    code='no_such_role', field='role')
        invitation = models.Invitation(
            id=new_id(), vo_id=vo_id, group_id=group.id, role=role,
            email=email, token_hash=token_hash(token), status='pending',
            expires_at=_now() + datetime.timedelta(seconds=valid_seconds),
            created_by=ctx.user_id, inviting_manager=manager)
        session.add(invitation)
        audit(session, ctx.user_id, 'create', 'invitation', invitation.id,
              vo_id, email=email, role=role)
        session.flush()
        session.refresh(invitation)
        return invitation, token


def delete_invitation(db, ctx, vo_id, invitation_id):
    with db.writer.using(ctx) as session:
        invitation = _require(session, models.Invitation, invitation_id,
                              'invitation', vo_id)
        session.delete(invitation)
        audit(session, ctx.user_id, 'delete', 'invitation', invitation_id,
              vo_id)


@retry_lost_insert_race
def accept_invitation(db, ctx, token, user_id, lifetime):
    """Accept the invitation whose token is ``token`` for ``user_id``:
    single use, refused once expired.  Returns ``(invitation, event)``.

    Every refusal of the token is the same 404, so that a guessed token
    tells nothing.  An invitation is its inviter's approval: one a VO
    manager made is good only while they still manage the VO, checked
    as their grants are (:func:`hold_manager`, after the invitation's
    lock), else a 409 ``inviter_no_longer_manager`` and the invitation
    stays pending.  An operator's invitation needs no manager.
    """
    refused = errors.NotFound('No such invitation, or it was used or '
                              'has expired.', code='invitation_not_found')
    digest = token_hash(token)
    with db.writer.using(ctx) as session:
        # The VO first, as every change in a VO locks it (a deletion of
        # the VO locks it, then the invitations).
        vo_id, group_id = session.execute(sa.select(
            models.Invitation.vo_id, models.Invitation.group_id).where(
                models.Invitation.token_hash == digest)).first() or (
                    None, None)
        try:
            _keep_vo(session, vo_id)
        except errors.NotFound:
            raise refused
        # Then its group (kept from deletion: the membership refers to
        # it), before the invitation, as a deletion of the group locks
        # the group, then deletes its invitations: with the invitation
        # locked first, a deletion that found it expired (in that
        # second) waited for it while this acceptance waited for the
        # group, and PostgreSQL aborted one of them (a 500).
        group = session.get(models.Group, group_id, with_for_update=SHARE)
        if group is None:
            raise refused
        invitation = session.scalars(sa.select(models.Invitation).where(
            models.Invitation.token_hash == digest)
            .with_for_update()).first()
        if (invitation is None or invitation.status != 'pending' or
                invitation.expires_at <= _now()):
            raise refused
        try:
            hold_manager(session, invitation.vo_id,
                         invitation.inviting_manager)
        except errors.Forbidden:
            raise errors.Conflict(
                'The person who made this invitation no longer manages '
                'the VO; ask one of its managers for a new invitation.',
                code='inviter_no_longer_manager')
        invitation.status = 'accepted'
        invitation.accepted_by = user_id
        audit(session, user_id, 'accept', 'invitation', invitation.id,
              invitation.vo_id)
        event = _add_membership(session, ctx, invitation.vo_id, group,
                                user_id, invitation.role, 'active',
                                lifetime)
        session.flush()
        session.refresh(invitation)
        return invitation, event


# -- audit -------------------------------------------------------------------

def audit_page_query(vo_id=None, limit=100, marker=None):
    """The statement of a page of the audit trail by id (of VO ``vo_id``:
    read through ``audit_vo_page_idx``)."""
    query = sa.select(models.AuditRecord).order_by(models.AuditRecord.id)
    if vo_id is not None:
        query = query.where(models.AuditRecord.vo_id == vo_id)
    if marker is not None:
        query = query.where(models.AuditRecord.id > marker)
    return query.limit(limit)


def list_audit(db, ctx, vo_id=None, limit=100, marker=None):
    with db.reader.using(ctx) as session:
        return session.scalars(audit_page_query(vo_id, limit,
                                                marker)).all()
