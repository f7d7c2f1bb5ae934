"""Apply a batch of Glance image notifications in one transaction.

The engine's listener receives Glance's ``image.create|update|activate``
and ``image.delete`` notifications in batches; :func:`apply` writes a
whole batch in one transaction: the message ids of every notification
(:func:`image_family_svc.db.messages.claim_many`) and every effect, so
that a crash loses either all of the batch (ids too: it is redelivered)
or nothing, and a redelivered notification finds its id and changes
nothing.  One commit, one query for the recorded ids, one for the
families, one for the memberships and two lock statements (the images,
the families) serve the whole batch, and the members of a family are
read at most once per batch, only when a notification can change its
latest or its retention (a leave, or a join in ``active``).  Joins in
``testing`` or ``beta`` (the default ``[image_family] initial_state`` is
``testing``) are written with one multi-row INSERT per table for the
batch, without ORM objects; they are inserted before anything reads
members, so a leave later in the same batch finds them.

Images are locked before families, and families in the order of their
ids, so that two hosts applying batches that touch the same images or
families cannot deadlock.

Glance's notifications of an image may arrive in any order: an
``image.create`` or ``image.update`` redelivered, or held in a queue,
may come after the image's ``image.delete``.  Every ``image.delete``
records the image's id (``glance_deleted_images``, whether the image was
a member or not: its create may be the one still on its way), and a
join of an image recorded there is ignored.  Glance never reuses a
deleted image's id, so the record holds for ever; it is forgotten with
the message ids (:func:`purge_deleted`), :data:`CLOCK_MARGIN` after
``[image_family] processed_message_retention``.  The listener drops a
join that Glance sent longer than the retention ago
(:mod:`image_family_svc.listeners`), so no join that could still be
applied is older than the record of its image's deletion: Glance sent
the join before the deletion, and the deletion was recorded after it
was sent.

Every notification of an image locks the image
(:func:`image_family_svc.db.members.lock_images`, before anything of it
is read), so that a join and the deletion of an image applied at the
same time by two hosts, or by a host and an API request that adds the
image, are serialised: the second sees what the first wrote.  The
family an image joins cannot stand for it: Glance's ``image.delete``
need not name the family (its properties may be missing or changed),
and the deletion of an image that is not a member yet knows no family
to lock, while the join of it on the other host, its member not yet
committed, is about to make it one.

A system-owned family takes from Glance only public images
(:func:`_refused`): in Glance only administrators make an image public
(policy ``publicize_image``), while any project may set the family
property on its own images.

A member of a project's family that Glance announces with another owner
leaves the family (:func:`_given_away`): the family takes only its
project's own images.  That holds for a notification that names no
family too (:class:`Owned`): an administrator who gives the image away
may drop the family property in the same change.
"""

import collections
import datetime
import logging

import sqlalchemy as sa

from image_family_svc.db import families as families_db
from image_family_svc.db import glance_writes
from image_family_svc.db import members as members_db
from image_family_svc.db import messages
from image_family_svc.db import models
from image_family_svc import lifecycle as lc

LOG = logging.getLogger(__name__)

#: An image that joins ``family`` (a name) if it is in no family yet;
#: ``owner``: the project that owns it in Glance (None: not said);
#: ``visibility``: its visibility in Glance (None: not said).
Join = collections.namedtuple(
    'Join', ['message_id', 'image_id', 'family', 'version', 'properties',
             'reason', 'owner', 'visibility'], defaults=[None, None])

#: Glance names ``owner`` as the owner of an image whose properties name
#: no family: a member of a project's family leaves it if ``owner`` is
#: another project.  Never recorded (``message_id`` is None): it can only
#: take an image out of a family, so applying it twice changes nothing,
#: and recording the id of every update of every image of the cloud would
#: fill ``processed_messages``.
Owned = collections.namedtuple('Owned',
                               ['message_id', 'image_id', 'owner'])

#: An image deleted in Glance: it leaves its family, if it is in one,
#: and never joins one again.
Leave = collections.namedtuple('Leave',
                               ['message_id', 'image_id', 'reason'])

#: Seconds for which the records of deleted images and of handled
#: notifications are kept beyond ``[image_family]
#: processed_message_retention``: a notification's age is read from the
#: clock of the Glance host that sent it, and the records' from the
#: engine's.
CLOCK_MARGIN = 3600


def apply(db, ctx, endpoint, notices, state, cause):
    """Apply ``notices`` (:class:`Join` and :class:`Leave`, in the order
    they arrived) in one transaction; returns the events to publish.

    A notice whose message id is recorded already, or that came earlier
    in the batch, is skipped.  An image that names no existing family or
    lacks properties its family requires stays out (logged; its message
    id is recorded, there is nothing to retry).

    :param endpoint: the endpoint name the message ids are recorded for
    :param state: the state a joining image gets
    :param cause: the cause recorded in the history
    :raises: database errors (the transaction is rolled back), including
        ``DBDuplicateEntry`` when another host recorded one of the ids or
        added one of the images meanwhile.
    """
    with db.writer.using(ctx) as session:
        claimed = messages.claim_many(session, endpoint,
                                      [n.message_id for n in notices])
        notices = [n for n, fresh in zip(notices, claimed) if fresh]
        if not notices:
            return []
        return _apply(session, ctx, notices, state, cause)


def purge_deleted(db, ctx, older_than_seconds):
    """Forget the images deleted in Glance more than
    ``older_than_seconds`` ago; how many."""
    cutoff = families_db.now() - datetime.timedelta(
        seconds=older_than_seconds)
    with db.writer.using(ctx) as session:
        return session.execute(sa.delete(models.GlanceDeletedImage).where(
            models.GlanceDeletedImage.deleted_at < cutoff)).rowcount


def _members(session, image_ids):
    """``{image_id: FamilyImage}`` of those of ``image_ids`` in a
    family."""
    return {row.image_id: row for row in session.scalars(
        sa.select(models.FamilyImage).where(
            models.FamilyImage.image_id.in_(image_ids)).execution_options(
            populate_existing=True))}


def _lock(session, family_ids):
    """Lock ``family_ids`` in the order of their ids; returns them by
    id."""
    if not family_ids:
        return {}
    return {family.id: family for family in session.scalars(
        sa.select(models.Family).where(
            models.Family.id.in_(sorted(family_ids))).order_by(
            models.Family.id).with_for_update().execution_options(
            populate_existing=True))}


def _given_away(family, notice):
    """Whether ``notice`` (a :class:`Join` or :class:`Owned` of a member
    of ``family``) says that another project than the family's owns the
    image now.

    Glance lets an administrator give an image to another project.  A
    project's family takes only the project's own images (a join of
    another's stays out, as the API refuses to add one): its lifecycle
    hides and deletes its members with the service's credentials, and
    the project's members would go on moving, hiding and deleting the
    image of the project it was given to.  An owner Glance does not name
    says nothing.
    """
    return (family.project_id is not None and notice.owner is not None
            and notice.owner != family.project_id)


def _refused(family, notice):
    """Why ``family`` does not take the image of ``notice`` (a
    :class:`Join`) from Glance, or None.

    A project's family takes the project's own images: its lifecycle
    would hide and delete another project's image with the service's
    credentials.  A system-owned family, changed by cloud administrators
    only, takes public images: any project may set the family property
    on an image of its own, and made a member of a system family (its
    latest, with ``[image_family] initial_state = active``) what every
    project boots as "the latest CentOS".
    """
    if family.project_id is not None:
        if notice.owner != family.project_id:
            return ('it belongs to project %s, not to the family\'s'
                    % notice.owner)
        return None
    if notice.visibility != 'public':
        return ('the family is the cloud\'s and the image is not public '
                'in Glance (visibility %s)' % notice.visibility)
    return None


#: A member that joined in this batch and is not inserted yet.
_Buffered = collections.namedtuple('_Buffered', ['family_id'])


def _apply(session, ctx, notices, state, cause):
    image_ids = sorted({n.image_id for n in notices})
    # The images first: a join or deletion of one of them on another
    # host has committed before what follows reads them, or waits until
    # this transaction has.
    members_db.lock_images(session, image_ids)
    names = sorted({n.family for n in notices if isinstance(n, Join)})
    families = {}
    if names:
        families = {family.name: family for family in session.scalars(
            sa.select(models.Family).where(models.Family.name.in_(names)))}
    # Which families to lock: those images join, and those of the images
    # that leave or that Glance names an owner of (one may leave: see
    # _given_away), read again once locked.  What decides is read after
    # the lock.
    wanted = {family.id for family in families.values()}
    wanted.update(row.family_id for row in _members(
        session, [n.image_id for n in notices
                  if isinstance(n, Leave) or n.owner is not None]).values())
    locked = _lock(session, wanted)
    member_of = _members(session, image_ids)
    gone = members_db.deleted_in_glance(session, image_ids)
    tombstones = []
    rows_by_family = {}
    # Joins that change neither a latest nor a retention, inserted in
    # bulk: before anything reads members, and at the end.
    quiet_members, quiet_history = [], []

    def insert_quiet():
        if quiet_members:
            session.execute(sa.insert(models.FamilyImage), quiet_members)
            session.execute(sa.insert(models.Transition), quiet_history)
            glance_writes.mark(session, [m['image_id']
                                         for m in quiet_members])
            del quiet_members[:], quiet_history[:]

    def rows_of(family_id):
        if family_id not in rows_by_family:
            insert_quiet()
            rows_by_family[family_id] = members_db.family_rows(session,
                                                               family_id)
        return rows_by_family[family_id]

    def family_of(row):
        family = locked.get(row.family_id)
        if family is None:  # joined meanwhile, in another family
            family = families_db.lock_family(session, row.family_id)
            locked[family.id] = family
        return family

    def leave_if_given_away(notice):
        """The events of the member ``notice`` is about leaving its
        family, if ``notice`` says another project owns it now."""
        family = family_of(member_of[notice.image_id])
        if not _given_away(family, notice):
            return []
        LOG.warning('Image %s leaves image family %s: Glance says '
                    'project %s owns it, not the family\'s project %s.',
                    notice.image_id, family.name, notice.owner,
                    family.project_id)
        del member_of[notice.image_id]
        return members_db.remove_member(
            session, ctx, family, rows_of(family.id), notice.image_id,
            cause, 'Glance says project %s owns the image now.'
            % notice.owner)

    events = []
    for notice in notices:
        if isinstance(notice, Owned):
            if notice.image_id in member_of:
                events += leave_if_given_away(notice)
            continue
        if isinstance(notice, Leave):
            if notice.image_id not in gone:
                gone.add(notice.image_id)
                tombstones.append({'image_id': notice.image_id,
                                   'deleted_at': families_db.now()})
            row = member_of.pop(notice.image_id, None)
            if row is None:
                continue
            family = family_of(row)
            events += members_db.remove_member(
                session, ctx, family, rows_of(family.id), notice.image_id,
                cause, notice.reason)
            continue
        if notice.image_id in member_of:
            events += leave_if_given_away(notice)
            continue
        if notice.image_id in gone:
            # Sent before the image's image.delete, delivered after it.
            LOG.info('Image %s does not join image family %s: Glance '
                     'announced its deletion already.', notice.image_id,
                     notice.family)
            continue
        family = families.get(notice.family)
        if family is not None:
            # As locked: None if it was deleted after it was read.
            family = locked.get(family.id)
        if family is None:
            LOG.warning('Image %s does not join image family %s: there is '
                        'no such family.', notice.image_id, notice.family)
            continue
        refused = _refused(family, notice)
        if refused is not None:
            LOG.warning('Image %s does not join image family %s: %s.',
                        notice.image_id, notice.family, refused)
            continue
        try:
            members_db.check_properties(family, notice.properties)
        except members_db.PropertiesInvalid as exc:
            LOG.warning('Image %s does not join image family %s: %s',
                        notice.image_id, notice.family, exc.detail)
            continue
        if (lc.joining_changes_nothing(state) and
                family.id not in rows_by_family):
            # Needs no members: values for the bulk insert.
            member, history, joined = members_db.quiet_join_values(
                ctx, family, notice.image_id, notice.version,
                notice.properties, state, cause, notice.reason)
            quiet_members.append(member)
            quiet_history.append(history)
            member_of[notice.image_id] = _Buffered(family.id)
            events += joined
            continue
        # Members read already (kept up to date), or a join that can
        # change the latest or retention.
        row, joined = members_db.add_member(
            session, ctx, family, notice.image_id, notice.version,
            notice.properties, state, cause, notice.reason,
            rows_of(family.id))
        member_of[notice.image_id] = row
        events += joined
    insert_quiet()
    if tombstones:
        session.execute(sa.insert(models.GlanceDeletedImage), tombstones)
    session.flush()
    return events
