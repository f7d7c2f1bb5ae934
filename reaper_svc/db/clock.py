"""The clock the reaper's times are measured on.

A victim's end of grace (``delete_after``) and a server's end of
guaranteed runtime (``guaranteed_until``) are written by one process
(the engine that gave notice, the promoter that built the server) and
compared with "now" by another (the leader of a later pass, perhaps on
another host, the API's plan preview).  Each read its own host's wall
clock: an engine host whose clock was ahead, or stepped forward by NTP,
deleted victims before their grace period was over and preempted
servers before their guaranteed runtime; one behind kept them longer.

Those times are therefore read from the database (:func:`database_now`,
:class:`DatabaseClock`): one clock for every process of a deployment.
On PostgreSQL and MySQL it is the database server's; on SQLite, which
only one host uses, it is that host's, read by SQLite rather than by
Python.  A jump of the database server's own clock still moves them.

The timestamps of the reaper's records are written on that clock too
(:func:`session_now`, in the transaction that writes them), because
other times are measured from them: the hour a refused lock is tried
again runs from an action's ``created_at``, ``[preemption]
build_timeout`` from the ``updated_at`` of a request that went
``building``, ``[preemption] processed_retention`` from a handled
notification's ``created_at``.  Stamped by the writer's clock, a writer
whose clock was behind made a build in progress look stale at once to
the next pass (which queued it again: built twice), failed an action at
the first refused lock and purged notification ids early; one ahead
left a dead engine's build alone for hours.

:func:`host_now` is this process's wall clock, for what stays local (a
backend whose time query is unknown, the simulated cloud); tests move it
to show that nothing compared across processes follows it.
"""

import datetime

import sqlalchemy as sa

#: The query of the database's current UTC time, per SQLAlchemy dialect.
_NOW = {
    'postgresql': "SELECT clock_timestamp() AT TIME ZONE 'UTC'",
    'sqlite': "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
    'mysql': 'SELECT UTC_TIMESTAMP(6)',
}


def host_now():
    """This host's wall clock: the naive UTC now."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _naive_utc(value):
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def session_now(session):
    """The database's current time, naive UTC, read in ``session`` (a
    SQLAlchemy session of the transaction about to write it);
    :func:`host_now` on a backend whose query is not known."""
    query = _NOW.get(session.get_bind().dialect.name)
    if query is None:
        return host_now()
    return _naive_utc(session.execute(sa.text(query)).scalar_one())


def database_now(db, ctx):
    """The database's current time, naive UTC (see :func:`session_now`)."""
    with db.reader.using(ctx) as session:
        return session_now(session)


class DatabaseClock(object):
    """A clock (a callable returning the naive UTC now) read from the
    database: the reaper's and the promoter's default."""

    def __init__(self, db, ctx):
        self.db = db
        self.ctx = ctx

    def __call__(self):
        return database_now(self.db, self.ctx)
