"""Ids of the notifications a listener endpoint has handled.

:mod:`svc_common.messaging.idempotency` keeps them in a store separate
from the handler's effect; here the id is written in the same
transaction as the effect, so that a crash between the two can neither
lose a notification (effect rolled back, id too) nor apply one twice (a
redelivery finds the id, or waits on its row and then finds it).
"""

import datetime

from oslo_db import exception as db_exc
import sqlalchemy as sa

from image_family_svc.db import families as families_db
from image_family_svc.db import models


def claim(session, endpoint, message_id):
    """Record ``message_id`` for ``endpoint`` in the open transaction;
    False if it was recorded already (the caller then does nothing).
    A notification without an id is always handled."""
    if message_id is None:
        return True
    key = (endpoint, message_id)
    if session.get(models.ProcessedMessage, key) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(models.ProcessedMessage(
                endpoint=endpoint, message_id=message_id,
                created_at=families_db.now()))
    except db_exc.DBDuplicateEntry:
        return False
    return True


def claim_many(session, endpoint, message_ids):
    """Record the ``message_ids`` of a batch for ``endpoint`` in the open
    transaction, with one query for those recorded already; returns one
    boolean per id, False for an id recorded already or met earlier in
    the batch (a notification without an id is always handled).

    Unlike :func:`claim`, a concurrent transaction that records one of
    these ids first makes the flush fail (``DBDuplicateEntry``) and the
    transaction with it: the caller handles the batch again, one by one.
    """
    wanted = {m for m in message_ids if m is not None}
    seen = set()
    if wanted:
        seen.update(session.scalars(sa.select(
            models.ProcessedMessage.message_id).where(
            models.ProcessedMessage.endpoint == endpoint,
            models.ProcessedMessage.message_id.in_(wanted))))
    at = families_db.now()
    claimed, rows = [], []
    for message_id in message_ids:
        if message_id is None:
            claimed.append(True)
        elif message_id in seen:
            claimed.append(False)
        else:
            seen.add(message_id)
            rows.append({'endpoint': endpoint, 'message_id': message_id,
                         'created_at': at})
            claimed.append(True)
    if rows:
        # One multi-row INSERT, without an ORM object per id.
        session.execute(sa.insert(models.ProcessedMessage), rows)
    return claimed


def purge(db, ctx, older_than_seconds):
    """Forget the ids older than ``older_than_seconds``; how many."""
    cutoff = families_db.now() - datetime.timedelta(
        seconds=older_than_seconds)
    with db.writer.using(ctx) as session:
        return session.execute(sa.delete(models.ProcessedMessage).where(
            models.ProcessedMessage.created_at < cutoff)).rowcount
