"""Guaranteed minimum runtimes of the servers the promoter built.

A guarantee is the reaper's own record (server id -> guaranteed until),
not server metadata in Nova, which the server's owner could change.  The
cloud drivers apply these records to their snapshots
(:meth:`reaper_svc.drivers.base.CloudDriver.cluster`), so that every
strategy, run under :func:`reaper_svc.strategies.rules.select`, sees the
server as protected until then.  Every public function takes ``(db,
ctx, ...)`` and runs in its own transaction.
"""

import datetime

import sqlalchemy as sa

from reaper_svc.db import clock
from reaper_svc.db import models


def record(db, ctx, server_ids, guaranteed_until, pending_id=None):
    """Guarantee ``server_ids`` until ``guaranteed_until`` (naive UTC); a
    server guaranteed already keeps the later of the two ends.

    A row's ``created_at`` is when its end was last set: the limit of
    :func:`current` counts from there.  Counted from the first record
    (as soon as the cloud had the servers), a guarantee at the limit
    lost the build's duration, and on the recovery's path more than
    ``build_timeout``."""
    with db.writer.using(ctx) as session:
        now = clock.session_now(session)
        for server_id in server_ids:
            row = session.get(models.ServerGuarantee, server_id)
            if row is None:
                session.add(models.ServerGuarantee(
                    server_id=server_id, guaranteed_until=guaranteed_until,
                    pending_id=pending_id, created_at=now))
            elif row.guaranteed_until < guaranteed_until:
                row.guaranteed_until = guaranteed_until
                row.created_at = now


def current(db, ctx, now=None, longest=None):
    """``{server id: guaranteed until}`` of the guarantees not over at
    ``now`` (by default the database's: a host whose clock is ahead
    must not take a guarantee for over).

    :param longest: seconds, ``[preemption] max_guaranteed_runtime``: a
        guarantee ends at the latest that long after its end was last
        recorded (see :func:`record`), so
        that lowering the limit shortens the guarantees recorded before
        too (None: as recorded)
    """
    now = now or clock.database_now(db, ctx)
    model = models.ServerGuarantee
    query = sa.select(model.server_id, model.guaranteed_until,
                      model.created_at).where(model.guaranteed_until > now)
    with db.reader.using(ctx) as session:
        rows = session.execute(query).all()
    guarantees = {}
    for server_id, until, created_at in rows:
        if longest is not None:
            until = min(until,
                        created_at + datetime.timedelta(seconds=longest))
        if until > now:
            guarantees[server_id] = until
    return guarantees


def purge(db, ctx, before):
    """Forget the guarantees that ended before ``before``; how many."""
    with db.writer.using(ctx) as session:
        return session.execute(sa.delete(models.ServerGuarantee).where(
            models.ServerGuarantee.guaranteed_until < before)).rowcount


class GuaranteeSource(object):
    """What a driver reads guarantees from: ``source()`` returns the
    current ``{server id: guaranteed until}`` of ``db``, each at most
    ``[preemption] max_guaranteed_runtime`` of ``conf`` (as it is at
    each call) after it was recorded (see :func:`current`).

    :param conf: the engine's ConfigOpts with ``[preemption]``; None:
        the guarantees as recorded
    """

    def __init__(self, db, ctx, conf=None):
        self.db = db
        self.ctx = ctx
        self.conf = conf

    def __call__(self):
        longest = None
        if self.conf is not None:
            longest = self.conf.preemption.max_guaranteed_runtime
        return current(self.db, self.ctx, longest=longest)
