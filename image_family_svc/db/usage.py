"""Which servers use which image, from Nova's notifications, and what a
change of usage does to a ``pending_delete`` image.

A server counts for its image from its build's start
(``instance.create.start``, sent by the compute host before it
downloads the image; ``instance.create.end`` counts it too, if the start
was lost): a build slower than ``[image_family] obsolete_drain_seconds``
keeps its image from being deleted under it.  It stops counting at its
``instance.delete.end``, or at its build's ``instance.create.error``
(:func:`server_build_failed`) unless a later notification of the server
was applied already (a rescheduled build's start on another host, or
its end, delivered first), or when the usage reconciliation finds Nova
no longer lists it.

A rebuild onto another image (``instance.rebuild.start``, and ``.end``)
moves the server from the image it ran from to the new one
(:func:`server_rebuilt`).  A
rebuild that Nova sent before the last notification applied to the
server (``sent_at``, the time in the notification's metadata) is stale
and changes nothing: a server rebuilt onto B then C, whose first rebuild
came last (redelivered after a failure, or handled by another engine
host), was moved back to B, and C deleted under it.

A server's row records when it was written by the database's clock
(:func:`image_family_svc.db.families.database_now`), which the usage
reconciliation compares with when its listing began, by the same clock:
engine hosts' clocks may differ, and a row written during the listing
by a host whose clock was behind was taken for an older one and
forgotten.

A server is counted once however often its notification arrives: the
``image_servers`` rows are the count's unit (a second
``instance.create.end`` of one server finds the row, a second
``instance.delete.end`` finds none).  The notifications write the row
of the image a server runs from (``source`` ``nova``, one per server);
the usage reconciliation also writes one per image a server's volumes
were made from (``cinder``, :mod:`image_family_svc.db.reconcile`),
which a rebuild or a failed build leaves alone: the server counts for
an image while any of its rows names it, once.  Its deletion removes
all of them.  Each handler also records the
notification's message id (:mod:`image_family_svc.db.messages`) in the
same transaction as its effect.

Lock order: the family's row first (when the image belongs to one), then
the usage counter, as :mod:`image_family_svc.db.members` does.
"""

import sqlalchemy as sa

from image_family_svc.db import families as families_db
from image_family_svc.db import members as members_db
from image_family_svc.db import messages
from image_family_svc.db import models


def _lock_family_of(session, image_id):
    row = session.get(models.FamilyImage, image_id)
    if row is not None:
        families_db.lock_family(session, row.family_id)


def _lock_families_of(session, image_ids):
    """Lock the families of ``image_ids`` (those in one), in the order
    of their ids, as :mod:`image_family_svc.db.ingest` does: two writers
    that lock the same two families cannot deadlock."""
    family_ids = set(session.scalars(sa.select(
        models.FamilyImage.family_id).where(
        models.FamilyImage.image_id.in_(image_ids))))
    for family_id in sorted(family_ids):
        families_db.lock_family(session, family_id)


def _add(session, image_id, delta, at):
    usage = session.get(models.ImageUsage, image_id,
                        with_for_update=True)
    if usage is None:
        usage = models.ImageUsage(image_id=image_id, servers=0,
                                  updated_at=at)
        session.add(usage)
    usage.servers = max(0, usage.servers + delta)
    usage.updated_at = at
    session.flush()
    return usage.servers


def _settle(session, ctx, image_id, servers, drain):
    """Delete a ``pending_delete`` member that no server uses now, if it
    has been obsolete for ``drain`` seconds (else the engine's sweep
    will)."""
    row = session.get(models.FamilyImage, image_id)
    if row is None:
        return []
    family = session.get(models.Family, row.family_id)
    return members_db.settle_usage(session, ctx, family, image_id, servers,
                                   drain)


def _runs_from(session, server_id):
    """The row of the image ``server_id`` runs from, or None (read
    again: a change committed since the session read it counts)."""
    return session.scalars(sa.select(models.ImageServer).where(
        models.ImageServer.server_id == server_id,
        models.ImageServer.source == models.RUNS_FROM).execution_options(
        populate_existing=True)).one_or_none()


def _counted(session, server_id, image_id):
    """Whether a row says ``server_id`` uses ``image_id``."""
    return session.scalar(sa.select(sa.func.count()).select_from(
        models.ImageServer).where(
        models.ImageServer.server_id == server_id,
        models.ImageServer.image_id == image_id)) > 0


def server_created(db, ctx, server_id, image_id, endpoint=None,
                   message_id=None, sent_at=None):
    """Server ``server_id`` runs, or is being built, from ``image_id``
    (``instance.create.start`` or ``.end``); returns the events.  A
    server that runs from an image already stays as it is (its rebuild
    may have been applied before a late create), but for the time of the
    last notification applied to it.

    :param sent_at: when Nova sent the notification (naive UTC), or None
    """
    with db.writer.using(ctx) as session:
        if not messages.claim(session, endpoint, message_id):
            return []
        _lock_family_of(session, image_id)
        server = _runs_from(session, server_id)
        if server is not None:
            if sent_at is not None and not _stale(server, sent_at):
                server.event_at = sent_at
            return []
        at = families_db.database_now(session)
        counted = _counted(session, server_id, image_id)
        session.add(models.ImageServer(server_id=server_id,
                                       image_id=image_id,
                                       source=models.RUNS_FROM,
                                       created_at=at, event_at=sent_at))
        if not counted:
            _add(session, image_id, 1, at)
        return []


def _forget(session, ctx, server, drain):
    """Delete row ``server``; the events of its image's new count (none
    if another row of the server still counts it there, or if the row
    was gone: whoever deleted or moved it meanwhile counted it down
    already, a reconciliation that holds another family's lock only)."""
    image_id = server.image_id
    deleted = session.execute(sa.delete(models.ImageServer).where(
        models.ImageServer.server_id == server.server_id,
        models.ImageServer.image_id == image_id,
        models.ImageServer.source == server.source).execution_options(
        synchronize_session=False)).rowcount
    session.expunge(server)
    if not deleted or _counted(session, server.server_id, image_id):
        return []
    servers = _add(session, image_id, -1, families_db.now())
    return _settle(session, ctx, image_id, servers, drain)


def server_deleted(db, ctx, server_id, endpoint=None, message_id=None,
                   drain=members_db.DEFAULT_DRAIN):
    """Server ``server_id`` is gone: it uses no image any more, neither
    the one it ran from nor those of its volumes.  Returns the events
    (the deletion of an image that was waiting for its last server, and
    has been obsolete for ``drain`` seconds)."""
    with db.writer.using(ctx) as session:
        if not messages.claim(session, endpoint, message_id):
            return []
        image_ids = sorted(set(session.scalars(sa.select(
            models.ImageServer.image_id).where(
            models.ImageServer.server_id == server_id))))
        if not image_ids:
            return []
        _lock_families_of(session, image_ids)
        # Read again under the locks.
        rows = session.scalars(sa.select(models.ImageServer).where(
            models.ImageServer.server_id == server_id,
            models.ImageServer.image_id.in_(image_ids)).order_by(
            models.ImageServer.image_id,
            models.ImageServer.source).execution_options(
            populate_existing=True)).all()
        events = []
        for row in rows:
            events.extend(_forget(session, ctx, row, drain))
        return events


def server_build_failed(db, ctx, server_id, endpoint=None,
                        message_id=None, sent_at=None,
                        drain=members_db.DEFAULT_DRAIN):
    """The build of server ``server_id`` failed
    (``instance.create.error``): it no longer counts for the image it
    was built from (those of its volumes are the reconciliation's),
    unless a notification Nova sent after this one was applied to it
    already (Nova rescheduled the build on another host, whose
    ``instance.create.start`` came first).  Returns the events, as
    :func:`server_deleted`.

    :param sent_at: when Nova sent the notification (naive UTC), or None
    """
    with db.writer.using(ctx) as session:
        if not messages.claim(session, endpoint, message_id):
            return []
        server = _runs_from(session, server_id)
        if server is None:
            return []
        _lock_family_of(session, server.image_id)
        # Read again under the lock: a start or rebuild of the server
        # committed meanwhile decides whether this one is stale.
        server = _runs_from(session, server_id)
        if server is None or _stale(server, sent_at):
            return []
        return _forget(session, ctx, server, drain)


def _stale(server, sent_at):
    """Whether a notification Nova sent at ``sent_at`` is older than the
    last one applied to ``server`` (unknown times are not)."""
    return (server is not None and sent_at is not None
            and server.event_at is not None and sent_at < server.event_at)


def server_rebuilt(db, ctx, server_id, image_id, endpoint=None,
                   message_id=None, sent_at=None,
                   drain=members_db.DEFAULT_DRAIN):
    """Server ``server_id`` was rebuilt and runs from ``image_id`` now:
    it counts for that image, and no longer for the one it ran from
    (unless one of its volumes was made from that one).  Returns the
    events (the deletion of a ``pending_delete`` image whose last server
    this was).  A rebuild sent before the last notification applied to
    the server changes nothing (see the module's documentation).

    :param sent_at: when Nova sent the notification (naive UTC), or None
    :param drain: see :func:`server_deleted`.
    """
    with db.writer.using(ctx) as session:
        if not messages.claim(session, endpoint, message_id):
            return []
        server = _runs_from(session, server_id)
        if _stale(server, sent_at):
            return []
        old_image_id = server.image_id if server is not None else None
        if old_image_id == image_id:
            if server is not None and sent_at is not None:
                server.event_at = sent_at
            return []
        _lock_families_of(session, [i for i in (old_image_id, image_id)
                                    if i is not None])
        # Read again under the locks: the server's deletion (or another
        # rebuild, or a reconciliation) committed meanwhile decides.
        # Its row deleted, the stale one's deletion matched nothing and
        # the image it ran from was counted down a second time.
        server = _runs_from(session, server_id)
        if _stale(server, sent_at):
            return []
        if server is not None and server.image_id != old_image_id:
            old_image_id = server.image_id
            if old_image_id == image_id:
                server.event_at = sent_at or server.event_at
                return []
            # Moved meanwhile: its family too (after the others: a
            # deadlock, rare, is retried with the notification).
            _lock_families_of(session, [old_image_id])
        elif server is None:
            old_image_id = None
        at = families_db.database_now(session)
        counted = _counted(session, server_id, image_id)
        event_at = sent_at
        if server is not None:
            event_at = sent_at or server.event_at
            # Gone before the new one is written: a server runs from
            # one image (a unique index).
            session.delete(server)
            session.flush()
        # Written now: a usage reconciliation that listed the servers
        # of the new image before the rebuild keeps it.
        session.add(models.ImageServer(
            server_id=server_id, image_id=image_id,
            source=models.RUNS_FROM, created_at=at, event_at=event_at))
        session.flush()
        if not counted:
            _add(session, image_id, 1, at)
        if old_image_id is None or _counted(session, server_id,
                                            old_image_id):
            return []
        servers = _add(session, old_image_id, -1, at)
        return _settle(session, ctx, old_image_id, servers, drain)


def servers_of(db, ctx, image_id):
    """``(servers, updated_at or None)`` of an image."""
    with db.reader.using(ctx) as session:
        usage = session.get(models.ImageUsage, image_id)
        if usage is None:
            return 0, None
        return usage.servers, usage.updated_at


def count_rows(db, ctx, image_id):
    """Servers recorded for ``image_id`` one by one (tests, audits)."""
    with db.reader.using(ctx) as session:
        return session.scalar(sa.select(sa.func.count(
            models.ImageServer.server_id.distinct())).where(
            models.ImageServer.image_id == image_id))
