"""Corrections of the server counts from what Nova and Cinder say.

The counts come from Nova's notifications (:mod:`image_family_svc.db.usage`),
one ``image_servers`` row per server and image it runs from.  A lost
``instance.delete.end`` leaves a row too many (and an image that can
never be deleted); a lost ``instance.create.start`` and ``.end`` one
too few (and an image deleted under a server).  Volume-backed servers
are not in the notifications at all.
:func:`set_servers` makes the rows of one image those that Nova and
Cinder listed.  The rows of the image a server runs from (``source``
``nova``, one per server), from Nova's list of the image's servers:

* a listed server without a row gets one (a row of the same server for
  another image moves: the server was rebuilt onto this one), unless
  that row was written after the listing began: the server was rebuilt
  onto the other image meanwhile (moved back, its new image counted no
  server and could be deleted under it);
* a row of a server Nova did not list goes, unless it was written after
  the listing began (its ``instance.create.start`` or ``.end`` arrived
  meanwhile).

The rows of an image a server's volumes were made from (``cinder``,
one per server and image), from Cinder's ``volume_image_metadata``: a
listed server without one gets one, and one Cinder did not list goes
unless it was written after Cinder's listing began.  The two kinds do
not touch each other: a server that runs from one member of a family
and holds a volume made from another (or volumes made from two
members) counts for each of them.

The count is then the number of servers that rows name (once each),
and a ``pending_delete`` image that no server uses is deleted, as when
the last server's notification comes.
Lock order as in :mod:`image_family_svc.db.members`: the family's row,
then the usage counters.
"""

import sqlalchemy as sa

from image_family_svc.db import families as families_db
from image_family_svc.db import members as members_db
from image_family_svc.db import models
from image_family_svc import lifecycle as lc


def member_image_ids(db, ctx):
    """The images of every family that are not ``deleted``."""
    with db.reader.using(ctx) as session:
        return sorted(session.scalars(sa.select(
            models.FamilyImage.image_id).where(
            models.FamilyImage.state != lc.DELETED)))


def database_now(db, ctx):
    """The database's current time (naive UTC), which the rows of
    servers are written with (:mod:`image_family_svc.db.usage`): when a
    listing begins, as :func:`set_servers` compares it with them."""
    with db.reader.using(ctx) as session:
        return families_db.database_now(session)


def _recount(session, image_id, at):
    servers = session.scalar(sa.select(sa.func.count(
        models.ImageServer.server_id.distinct())).where(
        models.ImageServer.image_id == image_id))
    usage = session.get(models.ImageUsage, image_id, with_for_update=True)
    if usage is None:
        usage = models.ImageUsage(image_id=image_id, servers=0,
                                  updated_at=at)
        session.add(usage)
    before = usage.servers
    usage.servers = servers
    usage.updated_at = at
    session.flush()
    return before, servers


def _uncount(session, image_id, server_ids, at):
    """Take off the count of ``image_id`` those of ``server_ids`` that
    no row names there any more.  The image's family is not locked
    (another's is): the count is changed under its row's lock, as the
    notifications change it, not recounted; a server a notification
    wrote there while the rows were counted was lost from the count
    (and the image deleted under it)."""
    gone = len(server_ids) - (session.scalar(sa.select(sa.func.count(
        models.ImageServer.server_id.distinct())).where(
        models.ImageServer.image_id == image_id,
        models.ImageServer.server_id.in_(server_ids))) or 0)
    if not gone:
        return
    usage = session.get(models.ImageUsage, image_id, with_for_update=True,
                        populate_existing=True)
    if usage is not None:
        usage.servers = max(0, usage.servers - gone)
        usage.updated_at = at
        session.flush()


def set_servers(db, ctx, image_id, server_ids, listed_at,
                drain=members_db.DEFAULT_DRAIN, from_volumes=(),
                volumes_listed_at=None, volume_backed=None):
    """Make the servers of ``image_id`` those Nova listed at
    ``listed_at`` (naive UTC, by the database's clock:
    :func:`database_now`) as running from it, and those whose volumes
    made from it Cinder listed at ``volumes_listed_at`` (by default
    ``listed_at``; ``from_volumes`` None when Cinder was not asked:
    the rows of volumes stay as they are).
    A deletion the new count allows happens only once the image has
    been obsolete for ``drain`` seconds.

    :param volume_backed: Cinder's listing for every image
        (``{image_id: server_ids}``): a server whose row of the image it
        runs from moves here from another that one of its volumes was
        made from gets that one's row at once (see
        :func:`_set_runs_from`).

    :returns: ``(before, after, events)``: the counts and the events of a
        deletion that the new count allows.
    """
    if volumes_listed_at is None:
        volumes_listed_at = listed_at
    server_ids = set(server_ids)
    keep_volumes = from_volumes is None
    from_volumes = set(from_volumes or ())
    with db.writer.using(ctx) as session:
        member = session.get(models.FamilyImage, image_id)
        if member is None:
            return None, None, []
        family = families_db.lock_family(session, member.family_id)
        at = families_db.database_now(session)
        rows = {(row.source, row.server_id): row for row in session.scalars(
            sa.select(models.ImageServer).where(
                models.ImageServer.image_id == image_id))}
        moved_from = _set_runs_from(session, image_id, server_ids,
                                    listed_at, rows, at,
                                    volume_backed or {})
        for server_id in sorted(from_volumes):
            if (models.VOLUME, server_id) not in rows:
                session.add(models.ImageServer(
                    server_id=server_id, image_id=image_id,
                    source=models.VOLUME, created_at=at))
        for (source, server_id), row in rows.items():
            if (source == models.VOLUME and not keep_volumes and
                    server_id not in from_volumes and
                    row.created_at < volumes_listed_at):
                session.delete(row)
        session.flush()
        before, after = _recount(session, image_id, at)
        for other, moved in sorted(moved_from.items()):
            _uncount(session, other, moved, at)
        events = members_db.settle_usage(session, ctx, family, image_id,
                                         after, drain)
        return before, after, events


def _set_runs_from(session, image_id, server_ids, listed_at, rows, at,
                   volume_backed):
    """The ``nova`` rows of :func:`set_servers`; returns the servers
    whose rows moved to ``image_id`` by the image they left
    (``{image_id: [server_id, ...]}``).  A server whose row moves off an
    image one of its volumes was made from (``volume_backed``) gets
    the ``cinder`` row of that image in the same transaction: it was
    written at that image's turn only, and until then (or for good,
    when the run stopped before it) the image counted none of the
    server and could be deleted under its volume."""
    moved_from = {}
    for server_id in sorted(server_ids):
        if (models.RUNS_FROM, server_id) in rows:
            continue
        row = session.scalars(sa.select(models.ImageServer).where(
            models.ImageServer.server_id == server_id,
            models.ImageServer.source == models.RUNS_FROM)).one_or_none()
        if row is None:
            session.add(models.ImageServer(
                server_id=server_id, image_id=image_id,
                source=models.RUNS_FROM, created_at=at))
        elif row.created_at < listed_at:
            other = row.image_id
            moved_from.setdefault(other, []).append(server_id)
            row.image_id = image_id
            if (server_id in volume_backed.get(other, ()) and
                    session.get(models.ImageServer,
                                (server_id, other, models.VOLUME)) is None):
                session.add(models.ImageServer(
                    server_id=server_id, image_id=other,
                    source=models.VOLUME, created_at=at))
        # else: written after the listing began (a rebuild onto the
        # other image applied meanwhile), it stays where it is.
    for (source, server_id), row in rows.items():
        if (source == models.RUNS_FROM and server_id not in server_ids
                and row.created_at < listed_at):
            session.delete(row)
    return moved_from
