"""Members of families and their lifecycle: join, leave, transitions
(now or scheduled), retention, and the queries of images.

Every writer that changes members of a family or their states locks the
family's row first (:func:`image_family_svc.db.families.lock_family`) and
reads the members after the lock, then applies what
:mod:`image_family_svc.lifecycle` decides and stores the family's new
``latest_id`` in the same transaction: parallel promotions in one family
serialise, and the stored latest is always the newest active member.  The
usage counters are only read under that lock; the usage writers take the
family lock before them (:mod:`image_family_svc.db.usage`), so there is
one lock order.

Writers return the :class:`image_family_svc.notifications.Event` values of
what they changed, for the caller to publish after the commit.
"""

import collections
import datetime
import logging
import uuid

from oslo_db import exception as db_exc
import sqlalchemy as sa

from image_family_svc.conf import image_family as image_family_conf
from image_family_svc.db import families as families_db
from image_family_svc.db import glance_writes
from image_family_svc.db import models
from image_family_svc import lifecycle as lc
from image_family_svc import notifications
from image_family_svc import properties_schema
from svc_common.api import validation
from svc_common import errors

LOG = logging.getLogger(__name__)

PENDING = 'pending'
DONE = 'done'
FAILED = 'failed'

#: Due scheduled transitions one sweep applies at most.
SWEEP_BATCH = 200

#: Seconds an image stays obsolete before it may be deleted, unless the
#: caller passes ``[image_family] obsolete_drain_seconds``.
DEFAULT_DRAIN = image_family_conf.DEFAULT_OBSOLETE_DRAIN

#: Pending scheduled transitions one image may have: every view of the
#: image (``GET /v1/images/{id}``, each list it is on) shows them all.
MAX_PENDING_SCHEDULED = 10

#: The order in which scheduled transitions are applied and listed: by
#: time due, and those due at one time in the order they were scheduled
#: (``created_at``, then ``id`` for two of one microsecond), so that the
#: later-scheduled one is made last and wins.  By ``due_at`` alone, those
#: due at one time came in the order the database read them ("deprecated"
#: then "obsolete" at one time could leave the image deprecated).
SCHEDULED_ORDER = (models.ScheduledTransition.due_at,
                   models.ScheduledTransition.created_at,
                   models.ScheduledTransition.id)


class ImageNotFound(errors.NotFound):
    code = 'image_not_found'


class ScheduledNotFound(errors.NotFound):
    code = 'transition_not_found'


class AlreadyMember(errors.Conflict):
    code = 'image_in_family'


class DeletedInGlance(errors.Conflict):
    code = 'image_deleted'


class TooManyImages(errors.Conflict):
    code = 'too_many_images'


class PropertiesInvalid(errors.BadRequest):
    code = 'invalid_properties'


class TooManyScheduled(errors.Conflict):
    code = 'too_many_scheduled'


class StillInGlance(errors.Conflict):
    code = 'image_still_in_glance'


def no_such_image(image_id):
    return ImageNotFound('No image %s in any image family.'
                         % errors.quoted_id(image_id))


def invalid_transition(exc):
    extra = {}
    if isinstance(exc, lc.ImageInUse):
        extra['servers'] = exc.servers
    return errors.Conflict(str(exc), code='invalid_transition', **extra)


#: One image as the API shows it.
ImageView = collections.namedtuple(
    'ImageView', ['row', 'family', 'scheduled', 'servers'])


# -- helpers inside a transaction ---------------------------------------------

def require_member(session, image_id):
    row = session.get(models.FamilyImage, image_id)
    if row is None:
        raise no_such_image(image_id)
    return row


class MemberRow(object):
    """What the lifecycle decisions read of a member, as a plain row.

    A change of the family (a transition, a join, a leave, retention)
    decides on all its members, under the family lock; a family may hold
    tens of thousands of images, and an ORM object per member cost most
    of that decision (an activation took 0.5 s with 10,000 members and
    3.1 s with 50,000 on SQLite; 88 and 569 ms read as plain rows:
    ``tools/bench_family_transition``).  :func:`apply_changes` and
    :func:`remove_member` write through the ORM object of the few members
    they change only.
    """

    __slots__ = ('image_id', 'state', 'version', 'joined_at',
                 'successor_id')

    def __init__(self, image_id, state, version, joined_at, successor_id):
        self.image_id = image_id
        self.state = state
        self.version = version
        self.joined_at = joined_at
        self.successor_id = successor_id


_MEMBER_ROWS = sa.select(
    models.FamilyImage.image_id, models.FamilyImage.state,
    models.FamilyImage.version, models.FamilyImage.joined_at,
    models.FamilyImage.successor_id).where(
    models.FamilyImage.family_id == sa.bindparam('family_id'))


def family_rows(session, family_id):
    """The members of a family, read afresh (after the family lock):
    ``{image_id: MemberRow}`` (or the FamilyImage a caller put there)."""
    return {row.image_id: MemberRow(*row) for row in session.execute(
        _MEMBER_ROWS, {'family_id': family_id})}


def _stored(session, row):
    """The FamilyImage of member ``row``, as it is now under the family
    lock (an object the session read before the lock is refreshed)."""
    if isinstance(row, models.FamilyImage):
        return row
    return session.get(models.FamilyImage, row.image_id,
                       populate_existing=True)


def _set_member(session, row, **values):
    """Set ``values`` on member ``row`` and on its stored FamilyImage."""
    stored = _stored(session, row)
    for name, value in values.items():
        setattr(stored, name, value)
        if hasattr(row, name):
            setattr(row, name, value)
    return stored


def as_member(row):
    return lc.Member(row.image_id, row.state, row.version, row.joined_at,
                     row.successor_id)


def _servers(session, image_id):
    return session.scalar(sa.select(models.ImageUsage.servers).where(
        models.ImageUsage.image_id == image_id)) or 0


def obsolete_since(session, image_id):
    """When ``image_id`` last stopped being bootable: its last transition
    to ``obsolete`` (a cancelled deletion counts, which only makes the
    wait longer), or, for a member that never went through one, the
    time of its current state."""
    since = session.scalar(sa.select(sa.func.max(models.Transition.at)).where(
        models.Transition.image_id == image_id,
        models.Transition.to_state == lc.OBSOLETE))
    if since is None:
        since = session.scalar(sa.select(
            models.FamilyImage.state_changed_at).where(
            models.FamilyImage.image_id == image_id))
    return since


def drained(session, image_id, drain):
    """``image_id`` has been obsolete for ``drain`` seconds, by the
    database's clock: a server the Nova filter admitted before it became
    obsolete had the time to be counted (see :mod:`lifecycle`)."""
    if not drain:
        return True
    since = obsolete_since(session, image_id)
    if since is None:
        return False
    return since <= (families_db.database_now(session) -
                     datetime.timedelta(seconds=drain))


def _history(session, family, image_id, from_state, to_state, ctx, reason,
             cause, at):
    session.add(models.Transition(
        image_id=image_id, family_id=family.id, from_state=from_state,
        to_state=to_state, at=at, user_id=getattr(ctx, 'user_id', None),
        project_id=getattr(ctx, 'project_id', None), reason=reason,
        cause=cause))


def _refresh_latest(family, rows):
    newest = lc.latest([as_member(r) for r in rows.values()])
    family.latest_id = newest.image_id if newest else None


def apply_changes(session, family, rows, changes, ctx, reason, cause=None):
    """Store ``changes`` (from :mod:`lifecycle`) on the member ``rows`` of
    ``family`` (locked), with their history; the family's latest is
    refreshed.  Returns the events.

    Their time is the database's (:func:`families_db.database_now`),
    which the drain before a deletion is measured on (:func:`drained`).
    """
    at = families_db.database_now(session)
    for change in changes:
        _set_member(session, rows[change.image_id], state=change.to_state,
                    successor_id=change.successor_id, state_changed_at=at)
        _history(session, family, change.image_id, change.from_state,
                 change.to_state, ctx,
                 reason if change.cause == 'request' else
                 _automatic_reason(change, family), cause or change.cause,
                 at)
    _refresh_latest(family, rows)
    glance_writes.mark(session, [c.image_id for c in changes])
    return [notifications.Event(notifications.TRANSITION, {
        'image_id': c.image_id, 'family': family.name,
        'from_state': c.from_state, 'to_state': c.to_state,
        'successor_id': c.successor_id, 'latest_id': family.latest_id,
        'cause': cause or c.cause, 'reason': reason
        if c.cause == 'request' else _automatic_reason(c, family),
        'user_id': getattr(ctx, 'user_id', None), 'at': at})
        for c in changes]


def settle_usage(session, ctx, family, image_id, servers,
                 drain=DEFAULT_DRAIN):
    """The events of a new count of the servers of member ``image_id`` of
    ``family`` (locked): a ``pending_delete`` image that no server uses
    is deleted (:func:`lifecycle.usage_changed`) if it has been obsolete
    for ``drain`` seconds; else the engine's sweep deletes it later.

    Only then are the family's members read: a count changes on every
    server created or deleted and for every image of a usage
    reconciliation, and a family may hold many images.
    """
    state = session.scalar(sa.select(models.FamilyImage.state).where(
        models.FamilyImage.image_id == image_id,
        models.FamilyImage.family_id == family.id))
    if state is None or lc.settle(state, servers) is None:
        return []
    if not drained(session, image_id, drain):
        return []
    rows = family_rows(session, family.id)
    members = {i: as_member(r) for i, r in rows.items()}
    changes = lc.usage_changed(members, image_id, servers, drained=True)
    return apply_changes(session, family, rows, changes, ctx, None)


def _automatic_reason(change, family):
    if change.cause == 'retention':
        return ('Retention: the family keeps %s superseded image(s) '
                'bootable.' % family.keep_superseded)
    if change.cause == 'usage':
        return 'No server uses the image any more.'
    return None


def _decide(session, family, rows, image_id, requested, drain):
    members = {i: as_member(r) for i, r in rows.items()}
    try:
        return lc.transition(members, image_id, requested,
                             _servers(session, image_id),
                             family.keep_superseded,
                             _drained_if_asked(session, image_id, requested,
                                               drain))
    except lc.InvalidTransition as exc:
        raise invalid_transition(exc)


def _drained_if_asked(session, image_id, requested, drain):
    """:func:`drained`, read only when a deletion is asked."""
    return requested != lc.DELETED or drained(session, image_id, drain)


def _locked(session, image_id):
    """``(family, member rows)`` of the family of ``image_id``, locked."""
    row = require_member(session, image_id)
    family = families_db.lock_family(session, row.family_id)
    rows = family_rows(session, family.id)
    if image_id not in rows:  # it left meanwhile
        raise no_such_image(image_id)
    return family, rows


# -- membership ---------------------------------------------------------------

def check_properties(family, properties):
    """Raise PropertiesInvalid naming the first property the family's
    schema refuses.

    A schema stored before the rules of family creation refused it is
    never run: one that refers outside itself (never fetched), holds a
    pattern that is refused (never run), or whose references are refused
    or whose expanded size is beyond the limit
    (:func:`properties_schema.refused_structure`: a reference to itself
    recursed until the stack ran out, chained ones took exponential
    time).  Whatever else validation raises is the family's schema's
    doing, not the image's: it is refused too (logged), so that the
    engine records a Glance notification instead of requeueing it
    forever.
    """
    try:
        _check_stored_schema(family)
        validator = properties_schema.Validator(family.properties_schema)
        problems = sorted(validator.iter_errors(properties),
                          key=lambda e: [str(p) for p in e.path])
    except PropertiesInvalid:
        raise
    except Exception:
        # Not a validation failure: a schema the checks at create should
        # have refused, or a bug of ours. An error, so that an operator
        # sees it rather than taking it for an image that did not fit.
        LOG.exception('The properties schema of image family %s failed '
                      'to run', family.name)
        raise PropertiesInvalid(
            'The properties schema of image family %s could not be run; '
            'an owner of the family may replace it.' % family.name,
            field='properties')
    if problems:
        first = problems[0]
        field = '/'.join(['properties'] + [str(p) for p in
                                           first.absolute_path])
        raise PropertiesInvalid(
            'The image does not carry the properties image family %s '
            'requires: %s' % (family.name,
                              validation.error_message(first)[:300]),
            field=field)


def _check_stored_schema(family):
    """Raise PropertiesInvalid when the family's schema is one that
    family creation refuses now (see :func:`check_properties`)."""
    refused = properties_schema.refusal(family.properties_schema)
    if refused is not None:
        path, reason = refused
        raise PropertiesInvalid(
            'The properties schema of image family %s is never run: at '
            '%s, %s.' % (family.name,
                         '/'.join(['properties_schema'] +
                                  [str(p) for p in path])[:200], reason),
            field='properties')


#: pg_advisory_xact_lock class of the joins and deletions of an image
#: ("IFN"; the Glance writes of :mod:`image_family_svc.db.glance_writes`
#: have another).
IMAGE_LOCK_CLASS = 0x49464E

#: The lock of each image id of ``ids``, in the order of their keys, so
#: that two transactions locking overlapping sets cannot deadlock (two
#: ids whose keys collide share a lock, which only serialises more).
#: PostgreSQL evaluates the lock calls after sorting the keys.
_LOCK_IMAGES = sa.text(
    'SELECT pg_advisory_xact_lock(:lock_class, keys.k) FROM ('
    'SELECT DISTINCT hashtext(i) AS k FROM unnest(CAST(:ids AS text[])) '
    'AS i) AS keys ORDER BY keys.k')


def lock_images(session, image_ids):
    """Hold the lock of each of ``image_ids`` until the transaction
    ends: taken before anything of the images is read, and before any
    family's lock, by every transaction that applies Glance
    notifications (:mod:`image_family_svc.db.ingest`) and by an API
    request that adds an image (:func:`join`).

    On PostgreSQL a transaction-scoped advisory lock per image.  A
    SQLite writer holds the whole database from its first statement
    (``BEGIN IMMEDIATE``, :mod:`svc_common.db.database`), so there is
    nothing more to take.
    """
    if session.get_bind().dialect.name != 'postgresql' or not image_ids:
        return
    session.execute(_LOCK_IMAGES, {'lock_class': IMAGE_LOCK_CLASS,
                                   'ids': sorted(set(image_ids))})


def deleted_in_glance(session, image_ids):
    """The set of those of ``image_ids`` that Glance announced as
    deleted (and that are still recorded: see
    :func:`image_family_svc.db.ingest.purge_deleted`)."""
    return set(session.scalars(sa.select(
        models.GlanceDeletedImage.image_id).where(
        models.GlanceDeletedImage.image_id.in_(image_ids))))


def join_in_session(session, ctx, family, image_id, version, properties,
                    state, cause, reason=None):
    """Add ``image_id`` to ``family`` (locked by the caller)."""
    existing = session.get(models.FamilyImage, image_id)
    if existing is not None:
        raise AlreadyMember('Image %s is a member of an image family '
                            'already.' % image_id)
    check_properties(family, properties)
    row, events = add_member(session, ctx, family, image_id, version,
                             properties, state, cause, reason)
    session.flush()
    return row, events


def add_member(session, ctx, family, image_id, version, properties, state,
               cause, reason=None, rows=None):
    """Insert member ``image_id`` of ``family`` (locked by the caller),
    which the caller checked is no member and carries what the family
    requires, with its history; then retention and the family's latest.

    A member joining in a state that changes neither (``testing``,
    ``beta``: :func:`lifecycle.joining_changes_nothing`) does not read
    the family's members.

    :param rows: the family's member rows if the caller read them after
        the lock (they are updated); read here when needed otherwise.
    :returns: ``(row, events)``
    """
    at = families_db.now()
    row = models.FamilyImage(
        image_id=image_id, family_id=family.id, version=version,
        state=state, properties=properties, joined_at=at,
        state_changed_at=at)
    session.add(row)
    _history(session, family, image_id, None, state, ctx, reason, cause, at)
    glance_writes.mark(session, [image_id])
    events = [_join_event(family, image_id, version, state, properties, at)]
    if rows is not None:
        rows[image_id] = row
    if lc.joining_changes_nothing(state):
        return row, events
    if rows is None:
        rows = family_rows(session, family.id)
        rows[image_id] = row
    members = {i: as_member(r) for i, r in rows.items()}
    changes = lc.apply_retention(members, family.keep_superseded)
    events += apply_changes(session, family, rows, changes, ctx, reason)
    return row, events


def _join_event(family, image_id, version, state, properties, at):
    return notifications.Event(notifications.JOIN, {
        'image_id': image_id, 'family': family.name, 'version': version,
        'state': state, 'properties': properties, 'at': at})


def quiet_join_values(ctx, family, image_id, version, properties, state,
                      cause, reason=None, at=None):
    """What :func:`add_member` writes for a member joining in a state
    that changes neither the family's latest nor its retention
    (:func:`lifecycle.joining_changes_nothing`), as plain values for the
    caller to insert in bulk: no ORM object is built, which is most of
    the cost of a join when many arrive at once
    (:mod:`image_family_svc.db.ingest`).  Same preconditions as
    :func:`add_member` (family locked, image no member, properties
    checked).

    :returns: ``(family_images values, transitions values, events)``
    """
    if not lc.joining_changes_nothing(state):
        raise ValueError('a join in %s may change the latest or retention'
                         % state)
    at = at or families_db.now()
    member = dict(image_id=image_id, family_id=family.id, version=version,
                  state=state, properties=properties, successor_id=None,
                  joined_at=at, state_changed_at=at)
    history = dict(image_id=image_id, family_id=family.id, from_state=None,
                   to_state=state, at=at,
                   user_id=getattr(ctx, 'user_id', None),
                   project_id=getattr(ctx, 'project_id', None),
                   reason=reason, cause=cause)
    return member, history, [_join_event(family, image_id, version, state,
                                         properties, at)]


def join(db, ctx, family_name, image_id, version, properties,
         state=lc.TESTING, cause='request', reason=None,
         max_project_members=0):
    """Add an image to a family; returns ``(ImageView, events)``.

    A project's family holds at most ``max_project_members`` images (0:
    no limit), counted under the family's lock (TooManyImages): with the
    ``noop`` Glance driver any image ID is taken, and a project's members
    added them without end.  System-owned families, changed by cloud
    administrators only (and fed by automated builds), have no limit.

    Two requests that add one image to two families at once hold two
    different locks: the second to insert it finds the first's row, a
    duplicate key, and the image is a member already (AlreadyMember).

    An image that Glance announced as deleted is refused
    (DeletedInGlance): a member Glance no longer has, it could become
    its family's latest.  The image's lock (:func:`lock_images`) is
    taken first, as the engine takes it to apply the deletion, so that a
    deletion applied at that moment is either seen or waits.
    """
    try:
        with db.writer.using(ctx) as session:
            lock_images(session, [image_id])
            family = families_db.require_family(session, family_name,
                                                lock=True)
            if deleted_in_glance(session, [image_id]):
                raise DeletedInGlance(
                    'Image %s was deleted in Glance; it cannot join an '
                    'image family.' % image_id)
            if family.project_id is not None and max_project_members:
                _check_room(session, family, max_project_members)
            row, events = join_in_session(session, ctx, family, image_id,
                                          version, properties, state,
                                          cause, reason)
            return _view(session, row, family), events
    except db_exc.DBDuplicateEntry:
        raise AlreadyMember('Image %s is a member of an image family '
                            'already.' % image_id)


def _check_room(session, family, most):
    """Raise TooManyImages if ``family`` (locked) holds ``most`` images."""
    held = session.scalar(sa.select(sa.func.count()).where(
        models.FamilyImage.family_id == family.id))
    if held >= most:
        raise TooManyImages(
            'Image family %s holds %d images, the most [image_family] '
            'max_images_per_project_family allows; take one out (or '
            'through its lifecycle to deleted) first.' % (family.name, held),
            limit=most)


def remove_member(session, ctx, family, rows, image_id, cause, reason=None):
    """Take member ``image_id`` out of ``family`` (locked), whose member
    ``rows`` (read after the lock) are updated; returns the events."""
    row = rows.pop(image_id)
    at = families_db.now()
    _history(session, family, image_id, row.state, None, ctx, reason, cause,
             at)
    orphans = [other for other in rows.values()
               if other.successor_id == image_id]
    for other in orphans:
        _set_member(session, other, successor_id=None)
    glance_writes.mark(session, [image_id] + [o.image_id for o in orphans])
    session.execute(sa.delete(models.ScheduledTransition).where(
        models.ScheduledTransition.image_id == image_id,
        models.ScheduledTransition.status == PENDING))
    session.delete(_stored(session, row))
    _refresh_latest(family, rows)
    return [notifications.Event(notifications.LEAVE, {
        'image_id': image_id, 'family': family.name, 'state': row.state,
        'latest_id': family.latest_id, 'at': at})]


def leave(db, ctx, family_name, image_id, cause='request', reason=None,
          deleted_must_be_gone=False):
    """Take an image out of ``family_name`` (its pending scheduled
    transitions go, and members that named it as successor name none);
    returns the events.

    :param deleted_must_be_gone: refuse a ``deleted`` member that Glance
        may still have (the ``glance`` driver has not seen it gone).
    :raises errors.Conflict: ``image_in_use``, servers use the image.  An
        image in no family is not protected from deletion in Glance (the
        middleware lets it go): taken out of its family, an image that
        servers use was deleted without walking its lifecycle, however
        many servers it had.  Deleted in Glance (``image.delete``), an
        image leaves whatever uses it (:mod:`.ingest`).
    :raises StillInGlance: see ``deleted_must_be_gone``.  The driver
        writes a member that left as an image in no family: unhidden,
        without the family's properties; a ``deleted`` member whose
        deletion in Glance failed (or with ``[glance] delete_images``
        off) came back in Glance's image lists, bootable, and was
        never deleted by the engine's retry.  Glance's ``image.delete``
        takes it out once it is gone.
    """
    with db.writer.using(ctx) as session:
        family = families_db.require_family(session, family_name)
        row = session.get(models.FamilyImage, image_id)
        if row is None or row.family_id != family.id:
            raise ImageNotFound('No image %s in image family %s.'
                                % (errors.quoted_id(image_id),
                                   errors.quoted_id(family_name)))
        family, rows = _locked(session, image_id)
        if deleted_must_be_gone:
            _check_gone_from_glance(session, image_id)
        servers = _servers(session, image_id)
        if servers:
            raise errors.Conflict(
                'Image %s is used by %d server(s): it stays in image '
                'family %s until none does (take it through its '
                'lifecycle to deleted instead).'
                % (image_id, servers, family_name), code='image_in_use',
                servers=servers)
        return remove_member(session, ctx, family, rows, image_id, cause,
                             reason)


def _check_gone_from_glance(session, image_id):
    """Raise StillInGlance if member ``image_id`` (its family locked)
    is ``deleted`` and Glance was not yet found without it."""
    state, gone_at = session.execute(sa.select(
        models.FamilyImage.state, models.FamilyImage.glance_deleted_at).where(
        models.FamilyImage.image_id == image_id)).one()
    if state == lc.DELETED and gone_at is None:
        raise StillInGlance(
            'Image %s is deleted in its family but Glance may still have '
            'it (its deletion failed, or [glance] delete_images is off): '
            'it stays in the family, hidden in Glance, until Glance '
            'deletes it, and then leaves by itself.' % image_id)


def update_family(db, ctx, name, **fields):
    """Change a family's description, visibility, schema or retention;
    a new retention rule applies at once.  ``(family, events)``."""
    with db.writer.using(ctx) as session:
        family = families_db.require_family(session, name, lock=True)
        for key, value in fields.items():
            setattr(family, key, value)
        family.updated_at = families_db.now()
        events = []
        if 'keep_superseded' in fields:
            rows = family_rows(session, family.id)
            members = {i: as_member(r) for i, r in rows.items()}
            changes = lc.apply_retention(members, family.keep_superseded)
            events = apply_changes(session, family, rows, changes, ctx, None)
        session.flush()
        return family, events


# -- transitions --------------------------------------------------------------

def request_transition(db, ctx, image_id, requested, reason=None, at=None,
                       drain=DEFAULT_DRAIN):
    """Ask ``requested`` of an image, now or at ``at`` (naive UTC, in the
    future).  Returns ``(ScheduledTransition or None, events)``.

    A scheduled transition is checked against the image's state now (a
    transition that is invalid now is refused now) and again when due.
    A deletion happens only once the image has been obsolete for
    ``drain`` seconds (:func:`drained`).
    """
    with db.writer.using(ctx) as session:
        family, rows = _locked(session, image_id)
        if at is not None:
            try:
                lc.plan(rows[image_id].state, requested,
                        _servers(session, image_id))
            except (lc.ImageInUse, lc.ImageDraining):
                pass  # it may be unused and drained by then
            except lc.InvalidTransition as exc:
                raise invalid_transition(exc)
            _check_room_for_scheduled(session, image_id)
            scheduled = models.ScheduledTransition(
                id=str(uuid.uuid4()), image_id=image_id, to_state=requested,
                due_at=at, reason=reason, user_id=ctx.user_id,
                project_id=ctx.project_id, status=PENDING,
                created_at=families_db.now())
            session.add(scheduled)
            session.flush()
            return scheduled, []
        changes = _decide(session, family, rows, image_id, requested, drain)
        return None, apply_changes(session, family, rows, changes, ctx,
                                   reason)


def _check_room_for_scheduled(session, image_id):
    """Refuse one more pending scheduled transition of ``image_id`` when
    it has :data:`MAX_PENDING_SCHEDULED` (the caller holds the family's
    lock, so that two requests cannot both take the last place)."""
    pending = session.scalar(sa.select(sa.func.count()).select_from(
        models.ScheduledTransition).where(
        models.ScheduledTransition.image_id == image_id,
        models.ScheduledTransition.status == PENDING))
    if pending >= MAX_PENDING_SCHEDULED:
        raise TooManyScheduled(
            'Image %s has %d pending scheduled transitions, the most an '
            'image may have; cancel one first.' % (image_id, pending))


def delete_scheduled(db, ctx, image_id, transition_id):
    """Cancel a pending scheduled transition of ``image_id``.

    One DELETE of the row while it is pending: the engine may be
    applying it (it holds the row), and a transition it applied meanwhile
    is not cancelled (ScheduledNotFound), where a delete of the row as
    read first answered "cancelled" for a transition that happened.
    """
    model = models.ScheduledTransition
    with db.writer.using(ctx) as session:
        deleted = session.execute(sa.delete(model).where(
            model.id == transition_id, model.image_id == image_id,
            model.status == PENDING)).rowcount
        if deleted != 1:
            raise ScheduledNotFound(
                'No pending scheduled transition %s of image %s.'
                % (errors.quoted_id(transition_id),
                   errors.quoted_id(image_id)))


def list_transitions(db, ctx, image_id, limit, after=None):
    """``(history rows, scheduled rows)`` of an image, oldest first: at
    most ``limit`` history rows after the one whose id is ``after``, and
    the scheduled transitions still pending (at most
    :data:`MAX_PENDING_SCHEDULED`; those applied are in the history,
    those that failed in the engine's log)."""
    with db.reader.using(ctx) as session:
        require_member(session, image_id)
        query = sa.select(models.Transition).where(
            models.Transition.image_id == image_id)
        if after is not None:
            query = query.where(models.Transition.id > after)
        history = session.scalars(query.order_by(
            models.Transition.id).limit(limit)).all()
        scheduled = session.scalars(sa.select(
            models.ScheduledTransition).where(
            models.ScheduledTransition.image_id == image_id,
            models.ScheduledTransition.status == PENDING).order_by(
            *SCHEDULED_ORDER)).all()
        return history, scheduled


class _Requester(object):
    """The identity a scheduled transition is recorded with: whoever
    scheduled it."""

    def __init__(self, scheduled):
        self.user_id = scheduled.user_id
        self.project_id = scheduled.project_id


def apply_due(db, ctx, now=None, drain=DEFAULT_DRAIN):
    """Apply the scheduled transitions that are due, one transaction
    each, in :data:`SCHEDULED_ORDER`; a transition no longer valid is
    marked failed.  Returns the events.

    :param now: naive UTC; by default the database's clock
        (:func:`families_db.database_now`), which the API checks a
        scheduled time against too.
    :param drain: see :func:`request_transition`.
    """
    with db.reader.using(ctx) as session:
        now = now or families_db.database_now(session)
        due = session.scalars(sa.select(models.ScheduledTransition.id).where(
            models.ScheduledTransition.status == PENDING,
            models.ScheduledTransition.due_at <= now).order_by(
            *SCHEDULED_ORDER).limit(SWEEP_BATCH)).all()
    events = []
    for scheduled_id in due:
        events += _apply_one(db, ctx, scheduled_id, drain)
    return events


def _log_failed(scheduled):
    """Say that a scheduled transition could not be made when due: the
    API lists pending ones only."""
    LOG.warning('Scheduled transition %s of image %s to %s (by user %s) '
                'was not made: %s', scheduled.id, scheduled.image_id,
                scheduled.to_state, scheduled.user_id, scheduled.detail)


def _apply_one(db, ctx, scheduled_id, drain):
    with db.writer.using(ctx) as session:
        scheduled = session.get(models.ScheduledTransition, scheduled_id)
        if scheduled is None or scheduled.status != PENDING:
            return []
        image = session.get(models.FamilyImage, scheduled.image_id)
        if image is None:
            scheduled.status, scheduled.detail = FAILED, 'Image left.'
            _log_failed(scheduled)
            return []
        family, rows = _locked(session, scheduled.image_id)
        # Read again under a lock, after the family's (the order of
        # every writer): cancelled meanwhile, it is gone.
        query = sa.select(models.ScheduledTransition).where(
            models.ScheduledTransition.id == scheduled_id)
        scheduled = session.scalar(query.with_for_update().execution_options(
            populate_existing=True))
        if scheduled is None or scheduled.status != PENDING:
            return []
        members = {i: as_member(r) for i, r in rows.items()}
        try:
            changes = lc.transition(members, scheduled.image_id,
                                    scheduled.to_state,
                                    _servers(session, scheduled.image_id),
                                    family.keep_superseded,
                                    _drained_if_asked(
                                        session, scheduled.image_id,
                                        scheduled.to_state, drain))
        except lc.InvalidTransition as exc:
            scheduled.status, scheduled.detail = FAILED, str(exc)
            _log_failed(scheduled)
            return []
        scheduled.status = DONE
        return apply_changes(session, family, rows, changes,
                             _Requester(scheduled), scheduled.reason,
                             cause='scheduled')


def _sweep_changes(session, family, rows, drain):
    """The changes a sweep makes on ``family`` of member ``rows``:
    retention, and the deletion of ``pending_delete`` images no server
    uses (their counts in one query, not one per member) that have been
    obsolete for ``drain`` seconds."""
    members = {i: as_member(r) for i, r in rows.items()}
    changes = lc.apply_retention(members, family.keep_superseded)
    waiting = sorted(image_id for image_id, member in members.items()
                     if member.state == lc.PENDING_DELETE)
    servers = _servers_by_image(session, waiting)
    for image_id in waiting:
        count = servers.get(image_id, 0)
        if count == 0 and not drained(session, image_id, drain):
            continue
        changes += lc.usage_changed(members, image_id, count)
    return changes


def sweep(db, ctx, drain=DEFAULT_DRAIN):
    """Retention of every family with a rule, and deletion of the
    ``pending_delete`` images no server uses once they have been obsolete
    for ``drain`` seconds: what the drain, a missed usage notification or
    a changed rule leaves to do.  Returns the events."""
    with db.reader.using(ctx) as session:
        family_ids = set(session.scalars(sa.select(models.Family.id).where(
            models.Family.keep_superseded.is_not(None))))
        family_ids.update(session.scalars(sa.select(
            models.FamilyImage.family_id).where(
            models.FamilyImage.state == lc.PENDING_DELETE)))
    events = []
    for family_id in sorted(family_ids):
        # Most families have nothing to do: found without a lock or a
        # write (what another transaction commits meanwhile, the next
        # sweep sees).
        with db.reader.using(ctx) as session:
            family = session.get(models.Family, family_id)
            if family is None or not _sweep_changes(
                    session, family, family_rows(session, family_id),
                    drain):
                continue
        with db.writer.using(ctx) as session:
            family = families_db.lock_family(session, family_id)
            if family is None:
                continue
            rows = family_rows(session, family_id)
            events += apply_changes(session, family, rows, _sweep_changes(
                session, family, rows, drain), ctx, None)
    return events


# -- queries ------------------------------------------------------------------

def _scheduled_by_image(session, image_ids):
    found = collections.defaultdict(list)
    if image_ids:
        for row in session.scalars(sa.select(
                models.ScheduledTransition).where(
                models.ScheduledTransition.image_id.in_(image_ids),
                models.ScheduledTransition.status == PENDING).order_by(
                *SCHEDULED_ORDER)):
            found[row.image_id].append(row)
    return found


def _servers_by_image(session, image_ids):
    if not image_ids:
        return {}
    return dict(session.execute(sa.select(
        models.ImageUsage.image_id, models.ImageUsage.servers).where(
        models.ImageUsage.image_id.in_(image_ids))).all())


def _views(session, pairs):
    """ImageViews of ``[(FamilyImage, Family)]``."""
    ids = [row.image_id for row, _ in pairs]
    scheduled = _scheduled_by_image(session, ids)
    servers = _servers_by_image(session, ids)
    return [ImageView(row, family, scheduled.get(row.image_id, []),
                      servers.get(row.image_id, 0)) for row, family in pairs]


def _view(session, row, family):
    return _views(session, [(row, family)])[0]


def _owner_view_clause(only):
    """Members a caller whose view is ``only`` sees: all of its own
    families' (and all for operators), none in ``testing`` elsewhere."""
    if only is None:
        return sa.true()
    return sa.or_(models.FamilyImage.state.not_in(lc.OWNER_ONLY_STATES),
                  models.Family.project_id == only)


def owner_view(family, only):
    return only is None or family.project_id == only


def get_image(db, ctx, image_id, only=None):
    """The ImageView of ``image_id`` (ImageNotFound when the caller may
    not see it)."""
    with db.reader.using(ctx) as session:
        pair = session.execute(sa.select(
            models.FamilyImage, models.Family).join(
            models.Family,
            models.Family.id == models.FamilyImage.family_id).where(
            models.FamilyImage.image_id == image_id,
            families_db.visible_clause(only),
            _owner_view_clause(only))).first()
        if pair is None:
            raise no_such_image(image_id)
        return _view(session, *pair)


def image_family(db, ctx, image_id):
    """The Family of ``image_id`` (for its policy target)."""
    with db.reader.using(ctx) as session:
        row = require_member(session, image_id)
        return session.get(models.Family, row.family_id)


def list_images(db, ctx, limit, marker=None, only=None, latest_only=True,
                family_name=None, state=None):
    """ImageViews by image id: the latest of each visible family, or
    every visible member."""
    query = images_page_query(limit, marker, only, latest_only,
                              family_name, state)
    with db.reader.using(ctx) as session:
        return _views(session, session.execute(query).all())


def _latest_page_query(limit, marker, only, family_name, state):
    """The query of a page of the families' latest images: the page of
    families by their ``latest_id`` first, then those images.

    A family's latest is always one of its ``active`` members (every
    writer keeps it so), so the families alone say which images are on
    the page.  Joined to the images first, PostgreSQL read every image
    of every family (a sequential scan) for each page.
    """
    families = sa.select(models.Family.id, models.Family.latest_id).where(
        models.Family.latest_id.is_not(None),
        families_db.visible_clause(only))
    if family_name is not None:
        families = families.where(models.Family.name == family_name)
    if state is not None and state != lc.ACTIVE:
        families = families.where(sa.false())
    if marker is not None:
        families = families.where(models.Family.latest_id > marker)
    page = families.order_by(models.Family.latest_id).limit(
        limit).subquery()
    query = sa.select(models.FamilyImage, models.Family).join(
        page, page.c.latest_id == models.FamilyImage.image_id).join(
        models.Family, models.Family.id == page.c.id).where(
        _owner_view_clause(only)).order_by(models.FamilyImage.image_id)
    if state is not None:
        query = query.where(models.FamilyImage.state == state)
    return query


def images_page_query(limit, marker=None, only=None, latest_only=True,
                      family_name=None, state=None):
    """The query of a page of :func:`list_images`."""
    if latest_only:
        return _latest_page_query(limit, marker, only, family_name, state)
    link = models.Family.id == models.FamilyImage.family_id
    query = sa.select(models.FamilyImage, models.Family).join(
        models.Family, link).where(
        families_db.visible_clause(only), _owner_view_clause(only)).order_by(
        models.FamilyImage.image_id)
    if family_name is not None:
        # On the members' side too, so that the database reads the
        # family's members by their index in the page's order rather
        # than every member to find the family's.
        query = query.where(
            models.Family.name == family_name,
            models.FamilyImage.family_id == sa.select(
                models.Family.id).where(
                models.Family.name == family_name).scalar_subquery())
    if state is not None:
        query = query.where(models.FamilyImage.state == state)
    if marker is not None:
        query = query.where(models.FamilyImage.image_id > marker)
    return query.limit(limit)


class InvalidMarker(errors.BadRequest):
    code = 'invalid_marker'


def _joined_at(session, family, marker, only):
    """When image ``marker`` joined ``family``: the place of a page's
    marker in the family's list.

    A marker that left the family since its page was read keeps its
    place (its join is in the history), so that the next page goes on
    after it; a marker the caller never saw in the family is refused,
    one that left it too if it was never in a state the caller sees.
    """
    row = session.get(models.FamilyImage, marker)
    if row is not None and row.family_id == family.id:
        if owner_view(family, only) or row.state not in lc.OWNER_ONLY_STATES:
            return row.joined_at
    else:
        joined = session.scalar(sa.select(models.Transition.at).where(
            models.Transition.image_id == marker,
            models.Transition.family_id == family.id,
            models.Transition.from_state.is_(None)).order_by(
            models.Transition.id.desc()).limit(1))
        if joined is not None and (owner_view(family, only) or
                                   _was_visible(session, family, marker)):
            return joined
    raise InvalidMarker(
        'Invalid field marker: image %s is not in image family %s.'
        % (errors.quoted_id(marker), errors.quoted_id(family.name)),
        field='marker')


def _was_visible(session, family, image_id):
    """Whether image ``image_id`` was ever in ``family`` in a state that
    every reader of the family sees (its history says so): a marker that
    left the family keeps its place only for those who could have seen
    it."""
    return session.scalar(sa.select(models.Transition.id).where(
        models.Transition.image_id == image_id,
        models.Transition.family_id == family.id,
        models.Transition.to_state.not_in(lc.OWNER_ONLY_STATES)).limit(
        1)) is not None


def family_page_query(family_id, limit, only=None, state=None,
                      after=None):
    """The SELECT of a page of :func:`list_family_images`: members of
    ``family_id`` in the order they joined, after ``after`` (``(joined_at,
    image_id)`` of the marker), at most ``limit``."""
    query = sa.select(models.FamilyImage, models.Family).join(
        models.Family,
        models.Family.id == models.FamilyImage.family_id).where(
        models.FamilyImage.family_id == family_id,
        _owner_view_clause(only)).order_by(
        models.FamilyImage.joined_at, models.FamilyImage.image_id)
    if state is not None:
        query = query.where(models.FamilyImage.state == state)
    if after is not None:
        # As a row value, which the database compares with the index's
        # columns to start the page at the marker (SQLite read the two
        # sides of an OR through the index and sorted what they found).
        query = query.where(sa.tuple_(models.FamilyImage.joined_at,
                                      models.FamilyImage.image_id) >
                            sa.tuple_(*after))
    return query.limit(limit)


def list_family_images(db, ctx, family, limit, marker=None, only=None,
                       state=None):
    """ImageViews of a family's members, oldest member first, after
    ``marker`` (see :func:`_joined_at`)."""
    with db.reader.using(ctx) as session:
        after = None
        if marker is not None:
            after = (_joined_at(session, family, marker, only), marker)
        query = family_page_query(family.id, limit, only, state, after)
        return _views(session, session.execute(query).all())


def get_latest(db, ctx, family, channel=lc.DEFAULT_CHANNEL):
    """The ImageView of the family's latest on ``channel``, or None.

    The newest active member is the family's ``latest_id`` already, so
    another channel reads, besides it, only its members in the other
    states it offers (``beta``), as plain rows: a family keeps every
    active image without a retention rule, and an object was built for
    each of them at every request.
    """
    with db.reader.using(ctx) as session:
        if channel == lc.DEFAULT_CHANNEL:
            image_id = family.latest_id
        else:
            others = sorted(lc.channel_states(channel) -
                            lc.channel_states(lc.DEFAULT_CHANNEL))
            query = _MEMBER_ROWS.where(
                models.FamilyImage.state.in_(others))
            if family.latest_id is not None:
                query = _MEMBER_ROWS.where(sa.or_(
                    models.FamilyImage.state.in_(others),
                    models.FamilyImage.image_id == family.latest_id))
            rows = [MemberRow(*row) for row in session.execute(
                query, {'family_id': family.id})]
            newest = lc.latest([as_member(r) for r in rows], channel)
            image_id = newest.image_id if newest else None
        if image_id is None:
            return None
        row = session.get(models.FamilyImage, image_id)
        return _view(session, row, family) if row is not None else None
