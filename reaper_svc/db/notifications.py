"""Processed notification ids: the reaper's idempotency store.

A :class:`svc_common.messaging.idempotency.ProcessedMessages` over the
``processed_notifications`` table, so that a redelivered notification is
handled once in effect across engine restarts and across hosts that share
the listener pool: :meth:`ProcessedNotifications.claim` is one INSERT
that fails on a duplicate key.  An id's ``created_at`` is the
database's time (:func:`~reaper_svc.db.clock.session_now`), the clock
:func:`purge_older_than` is given by the leader: stamped by the
listener host's clock, one that was behind had its ids purged before
``[preemption] processed_retention`` was over.
"""

from oslo_db import exception as db_exc
import sqlalchemy as sa

from reaper_svc.db import clock
from reaper_svc.db import models
from svc_common import context
from svc_common.messaging import idempotency


class ProcessedNotifications(idempotency.ProcessedMessages):

    def __init__(self, db, event_type=None):
        self.db = db
        self.event_type = event_type
        self.ctx = context.admin_context()

    def seen(self, message_id):
        with self.db.reader.using(self.ctx) as session:
            return session.get(models.ProcessedNotification,
                               message_id) is not None

    def mark(self, message_id):
        self.claim(message_id)

    def claim(self, message_id):
        try:
            with self.db.writer.using(self.ctx) as session:
                session.add(models.ProcessedNotification(
                    message_id=message_id, event_type=self.event_type,
                    created_at=clock.session_now(session)))
                session.flush()
            return True
        except db_exc.DBDuplicateEntry:
            return False

    def forget(self, message_id):
        with self.db.writer.using(self.ctx) as session:
            session.execute(sa.delete(models.ProcessedNotification).where(
                models.ProcessedNotification.message_id == message_id))


def purge_older_than(db, ctx, when):
    """Forget ids processed before ``when``; how many."""
    with db.writer.using(ctx) as session:
        return session.execute(sa.delete(
            models.ProcessedNotification).where(
            models.ProcessedNotification.created_at < when)).rowcount
