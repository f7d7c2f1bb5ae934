"""Deleted images that Glance may still hold: which, whether one may be
deleted now, and recording that Glance has it no more.

See :mod:`image_family_svc.glance_deletes` for the engine's pass.
"""

import sqlalchemy as sa

from image_family_svc.db import families as families_db
from image_family_svc.db import models
from image_family_svc import lifecycle as lc


def unconfirmed(db, ctx, limit, before):
    """IDs of up to ``limit`` images ``deleted`` in their family before
    ``before`` (naive UTC) that Glance was not yet found without, those
    deleted first first."""
    with db.reader.using(ctx) as session:
        return list(session.scalars(sa.select(
            models.FamilyImage.image_id).where(
            models.FamilyImage.state == lc.DELETED,
            models.FamilyImage.glance_deleted_at.is_(None),
            models.FamilyImage.state_changed_at < before).order_by(
            models.FamilyImage.state_changed_at,
            models.FamilyImage.image_id).limit(limit)))


def servers_if_deleted(db, ctx, image_id):
    """How many servers use ``image_id`` now if it is still a ``deleted``
    member whose deletion in Glance is not confirmed; None otherwise."""
    with db.reader.using(ctx) as session:
        row = session.get(models.FamilyImage, image_id)
        if (row is None or row.state != lc.DELETED or
                row.glance_deleted_at is not None):
            return None
        return session.scalar(sa.select(models.ImageUsage.servers).where(
            models.ImageUsage.image_id == image_id)) or 0


def confirm(db, ctx, image_id):
    """Record that Glance has ``image_id`` no more."""
    with db.writer.using(ctx) as session:
        session.execute(sa.update(models.FamilyImage).where(
            models.FamilyImage.image_id == image_id,
            models.FamilyImage.state == lc.DELETED).values(
            glance_deleted_at=families_db.now()))
