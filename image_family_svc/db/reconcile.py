"""Corrections of the server counts from what Nova says.

The counts come from Nova's notifications (:mod:`image_family_svc.db.usage`),
one ``image_servers`` row per server.  A lost ``instance.delete.end``
leaves a row too many (and an image that can never be deleted); a lost
``instance.create.start`` and ``.end`` one too few (and an image deleted
under a server).
:func:`set_servers` makes the rows of one image those that Nova listed:

* a listed server without a row gets one (a row of the same server for
  another image moves: the server was rebuilt onto this one), unless
  that row was written after the listing began: the server was rebuilt
  onto the other image meanwhile (moved back, its new image counted no
  server and could be deleted under it);
* a row of a server Nova did not list goes, unless it was written after
  the listing began (its ``instance.create.start`` or ``.end`` arrived
  meanwhile).

A server has one row, for one image.  One that Nova lists for a member
and that holds a volume made from another (or volumes made from two
members) is listed for both: its row stays with the member it is
recorded for while it still uses that one (``held``, found by the
caller from :func:`recorded_images`).  The reconciliation of the other
member moved it there, and the image the server runs from counted none
of it (and was deleted under it once obsolete).

The count is then the number of rows, and a ``pending_delete`` image that
no server uses is deleted, as when the last server's notification comes.
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


def recorded_images(db, ctx, server_ids):
    """``{server_id: image_id}`` of the rows of ``server_ids``."""
    found = {}
    server_ids = sorted(server_ids)
    if not server_ids:
        return found
    with db.reader.using(ctx) as session:
        for start in range(0, len(server_ids), 500):
            found.update(session.execute(sa.select(
                models.ImageServer.server_id,
                models.ImageServer.image_id).where(
                models.ImageServer.server_id.in_(
                    server_ids[start:start + 500]))).all())
    return found


def _recount(session, image_id, at):
    servers = session.scalar(sa.select(sa.func.count()).select_from(
        models.ImageServer).where(models.ImageServer.image_id == image_id))
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


def set_servers(db, ctx, image_id, server_ids, listed_at,
                drain=members_db.DEFAULT_DRAIN, held=()):
    """Make the servers of ``image_id`` those Nova listed at
    ``listed_at`` (naive UTC, by the database's clock:
    :func:`database_now`).  A deletion the new count allows happens
    only once the image has been obsolete for ``drain`` seconds.

    :param held: servers among ``server_ids`` whose row, if it is for
        another image, stays there: they still use that one (see the
        module documentation).

    :returns: ``(before, after, events)``: the counts and the events of a
        deletion that the new count allows.
    """
    with db.writer.using(ctx) as session:
        member = session.get(models.FamilyImage, image_id)
        if member is None:
            return None, None, []
        family = families_db.lock_family(session, member.family_id)
        at = families_db.database_now(session)
        rows = {row.server_id: row for row in session.scalars(
            sa.select(models.ImageServer).where(
                models.ImageServer.image_id == image_id))}
        moved_from = set()
        for server_id in set(server_ids) - set(rows):
            row = session.get(models.ImageServer, server_id)
            if row is None:
                session.add(models.ImageServer(
                    server_id=server_id, image_id=image_id, created_at=at))
            elif row.created_at < listed_at and server_id not in held:
                moved_from.add(row.image_id)
                row.image_id = image_id
            # else: written after the listing began (a rebuild onto the
            # other image applied meanwhile), or held by the other image,
            # it stays where it is.
        for server_id, row in rows.items():
            if server_id not in server_ids and row.created_at < listed_at:
                session.delete(row)
        session.flush()
        before, after = _recount(session, image_id, at)
        for other in sorted(moved_from):
            _recount(session, other, at)
        events = members_db.settle_usage(session, ctx, family, image_id,
                                         after, drain)
        return before, after, events
