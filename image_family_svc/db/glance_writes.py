"""The images whose current state Glance may not show yet, and the
per-image lock that orders the writes of one image to Glance.

Every writer of :mod:`image_family_svc.db.members` and
:mod:`image_family_svc.db.ingest` records the images it changes (joined,
moved, left, or given another successor) with :func:`mark`, in the
transaction of the change.  The ``glance`` driver
(:meth:`image_family_svc.glance.GlanceApiDriver.sync`) then, holding
:meth:`Ledger.locked`:

1. reads the image's row here (its token) and then its current state,
   both as committed (:meth:`Ledger.current`);
2. makes Glance say that state;
3. removes the row if its token is still the one read
   (:meth:`Ledger.done`): a change committed meanwhile left a new token,
   and its own write (waiting for the lock) or the engine's retry writes
   it.

An image still uploading in Glance cannot be written yet
(:meth:`Ledger.still_uploading`): each check in a row that finds it so
puts its record off longer (:func:`upload_check_delay`), so that an
image left ``queued`` for ever is read about once an hour rather than
at every pass of the engine's retry; its next change starts over.

Writers of one image therefore send Glance the state of the database at
the moment they hold the lock, one after the other: the last of them
read the state of the last change.  Before, each process wrote the state
its event carried, at the same moment as another: Glance kept whichever
came last, which could be the older, or failed one of them
(``DBDuplicateEntry``) and lost it.  The engine's leader writes again
the images whose row stays (a failed write, a process stopped before it
wrote): :mod:`image_family_svc.glance_writes`.

The lock is a lock of this process per image and, on PostgreSQL, a
transaction-scoped advisory lock per image held by a connection of its
own for the duration of the write; on SQLite (one host) the processes
that share a file are not ordered by it, but each still writes the
current state and leaves the row until it has.
"""

import collections
import contextlib
import datetime
import threading
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from image_family_svc.db import families as families_db
from image_family_svc.db import glance_deletes
from image_family_svc.db import models
from svc_common import context

#: pg_advisory_xact_lock class of an image's Glance writes ("IFG").
LOCK_CLASS = 0x494647

#: What Glance should say of a member: its family's name, its state and
#: its successor (None: none).
ImageState = collections.namedtuple('ImageState',
                                    ['family', 'state', 'successor_id'])

_INSERTS = {'postgresql': postgresql.insert, 'sqlite': sqlite.insert}

#: Seconds by which the first checks of an image still uploading put
#: its record off (beyond the engine's grace of a minute), doubling...
UPLOAD_CHECK_STEP = 60
#: ... up to this: an image left uploading for ever is then checked
#: about once an hour.
UPLOAD_CHECK_MAX_DELAY = 3600


def upload_check_delay(checks):
    """Seconds by which the record of an image found still uploading by
    ``checks`` checks in a row is put off: 0, 60, 180, 420, ... (with
    the engine's grace, checks 1, 2, 4, 8 ... minutes apart), at most
    :data:`UPLOAD_CHECK_MAX_DELAY`."""
    doublings = min(max(checks, 1), 16) - 1
    return min(UPLOAD_CHECK_STEP * (2 ** doublings - 1),
               UPLOAD_CHECK_MAX_DELAY)


def mark(session, image_ids):
    """Record, in the caller's transaction, that Glance must be told the
    state of ``image_ids`` (a new token for each, and no check that found
    it uploading yet)."""
    image_ids = sorted(set(image_ids))
    if not image_ids:
        return
    at = families_db.now()
    insert = _INSERTS[session.get_bind().dialect.name](models.GlanceWrite)
    session.execute(insert.on_conflict_do_update(
        index_elements=['image_id'],
        set_={'token': insert.excluded.token,
              'marked_at': insert.excluded.marked_at,
              'upload_checks': insert.excluded.upload_checks}),
        [{'image_id': image_id, 'token': uuid.uuid4().hex, 'marked_at': at,
          'upload_checks': 0} for image_id in image_ids])


def due(db, ctx, limit, before):
    """IDs of up to ``limit`` images recorded before ``before`` (naive
    UTC), those recorded first first."""
    with db.reader.using(ctx) as session:
        return list(session.scalars(sa.select(
            models.GlanceWrite.image_id).where(
            models.GlanceWrite.marked_at < before).order_by(
            models.GlanceWrite.marked_at,
            models.GlanceWrite.image_id).limit(limit)))


def clear(db, ctx):
    """Forget every recorded image (Glance is not written: the ``noop``
    driver); returns how many there were."""
    with db.writer.using(ctx) as session:
        return session.execute(sa.delete(models.GlanceWrite)).rowcount


class ProcessLocks(object):
    """One ``threading.Lock`` per image id while someone holds or waits
    for it."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._locks = {}

    @contextlib.contextmanager
    def hold(self, image_id):
        with self._mutex:
            entry = self._locks.setdefault(image_id, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._mutex:
                entry[1] -= 1
                if not entry[1]:
                    del self._locks[image_id]


#: The locks of this process's writers.
PROCESS_LOCKS = ProcessLocks()


class Ledger(object):
    """:mod:`image_family_svc.glance`'s view of the database: the lock,
    the current state and the record of an image (see the module
    documentation)."""

    def __init__(self, db, process_locks=None):
        self.db = db
        #: Tests give another instance to play a second process.
        self._process_locks = process_locks or PROCESS_LOCKS

    @staticmethod
    def _ctx():
        ctx = context.admin_context()
        ctx.user_id = 'image-family-glance-driver'
        return ctx

    @contextlib.contextmanager
    def locked(self, image_id):
        """Hold the image's lock (this process's, and on PostgreSQL the
        database's) for the block."""
        with self._process_locks.hold(image_id):
            if self.db.dialect != 'postgresql':
                yield
                return
            with self.db.engine.begin() as conn:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(
                    LOCK_CLASS, sa.func.hashtext(image_id))))
                yield

    def current(self, image_id):
        """``(token, ImageState)`` of ``image_id`` as committed; token
        None: not recorded; ImageState None: the image is in no family.

        The token is read first: a change committed between the two
        reads then leaves a token this write does not remove, where the
        other order would remove the new change's record after writing
        the older state.
        """
        with self.db.reader.using(self._ctx()) as session:
            token = session.scalar(sa.select(models.GlanceWrite.token).where(
                models.GlanceWrite.image_id == image_id))
            row = session.execute(sa.select(
                models.Family.name, models.FamilyImage.state,
                models.FamilyImage.successor_id).join(
                models.Family,
                models.Family.id == models.FamilyImage.family_id).where(
                models.FamilyImage.image_id == image_id)).first()
        return token, (ImageState(*row) if row is not None else None)

    def done(self, image_id, token):
        """Forget the record of ``image_id`` unless a change replaced
        ``token`` meanwhile."""
        with self.db.writer.using(self._ctx()) as session:
            session.execute(sa.delete(models.GlanceWrite).where(
                models.GlanceWrite.image_id == image_id,
                models.GlanceWrite.token == token))

    def still_uploading(self, image_id, token):
        """Put the record of ``image_id`` (if still ``token``) off by
        :func:`upload_check_delay` of the checks in a row that found the
        image uploading, this one included; returns that count (None:
        a change replaced the record meanwhile)."""
        with self.db.writer.using(self._ctx()) as session:
            checks = session.scalar(sa.select(
                models.GlanceWrite.upload_checks).where(
                models.GlanceWrite.image_id == image_id,
                models.GlanceWrite.token == token))
            if checks is None:
                return None
            checks += 1
            session.execute(sa.update(models.GlanceWrite).where(
                models.GlanceWrite.image_id == image_id,
                models.GlanceWrite.token == token).values(
                upload_checks=checks,
                marked_at=families_db.now() + datetime.timedelta(
                    seconds=upload_check_delay(checks))))
            return checks

    def deleted(self, image_id):
        """Record that Glance has ``image_id`` (a ``deleted`` member) no
        more, as the engine's retry of deletions does
        (:func:`image_family_svc.db.glance_deletes.confirm`)."""
        glance_deletes.confirm(self.db, self._ctx(), image_id)

    def postpone(self, image_id, token):
        """Put the record of ``image_id`` (if still ``token``) behind the
        others, for the engine's next passes."""
        with self.db.writer.using(self._ctx()) as session:
            session.execute(sa.update(models.GlanceWrite).where(
                models.GlanceWrite.image_id == image_id,
                models.GlanceWrite.token == token).values(
                marked_at=families_db.now()))
