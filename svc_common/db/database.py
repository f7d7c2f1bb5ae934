"""One oslo.db engine facade per service instance.

oslo.db's module-level facade is process global; a process that runs several
services (the local run, the tests) needs one per service, so each
:class:`Database` owns its own ``transaction_context``.  Use it with a
:class:`~svc_common.context.RequestContext`::

    with db.writer.using(ctx) as session:
        session.add(row)
"""

import os

from oslo_db.sqlalchemy import enginefacade
import sqlalchemy
import sqlalchemy.engine
import sqlalchemy.event
import sqlalchemy.pool


def ensure_sqlite_dir(url):
    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() == 'sqlite' and parsed.database not in (
            None, '', ':memory:'):
        directory = os.path.dirname(os.path.abspath(parsed.database))
        os.makedirs(directory, exist_ok=True)


# How long a SQLite connection waits for another process's write lock.
SQLITE_BUSY_TIMEOUT_MS = 30000


def _serialize_sqlite_writers(engine):
    """Make SQLite safe for several API processes writing at once.

    Every transaction starts with ``BEGIN IMMEDIATE``, which takes the
    database's write lock up front: a read-then-write transaction can never
    be overtaken between its read and its write (so check-then-act
    decisions stay atomic across processes), and waiting writers queue on
    the busy timeout rather than failing with "database is locked" when
    they try to upgrade a read lock.  WAL lets readers outside
    transactions proceed meanwhile.
    """

    @sqlalchemy.event.listens_for(engine, 'connect')
    def _pragmas(dbapi_con, record):
        dbapi_con.execute('PRAGMA busy_timeout = %d' % SQLITE_BUSY_TIMEOUT_MS)
        dbapi_con.execute('PRAGMA journal_mode = WAL')

    # oslo.db emits a plain (deferred) BEGIN; replace that listener with
    # one that takes the write lock at once.
    for listener in list(engine.dispatch.begin):
        if getattr(listener, '__name__', '') == '_sqlite_emit_begin':
            sqlalchemy.event.remove(engine, 'begin', listener)

    @sqlalchemy.event.listens_for(engine, 'begin')
    def _begin_immediate(conn):
        # Ask the driver whether a transaction is open, rather than trust
        # oslo.db's marker in conn.info: pooled connections keep their info
        # from one checkout to the next.
        if not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql('BEGIN IMMEDIATE')


# Connections a SQLite process keeps open (one per busy API thread).
SQLITE_POOL_SIZE = 8


def _keep_sqlite_connections(engine):
    """Pool SQLite connections instead of opening one per transaction.

    oslo.db gives file databases a NullPool.  Opening a connection costs its
    PRAGMAs, and closing the last one checkpoints and deletes the WAL, so
    the next commit restarts the WAL with an extra sync: about 1.5 ms of
    every allocation.  A QueuePool keeps the connections (and the WAL)
    open; durability is unchanged (``synchronous`` stays FULL).  The new
    pool keeps the old one's event listeners (oslo.db's and ours).
    """
    old = engine.pool

    @sqlalchemy.event.listens_for(engine, 'do_connect')
    def _shareable(dialect, record, cargs, cparams):
        # A pooled connection is used by one thread at a time, not always
        # the thread that opened it.
        cparams['check_same_thread'] = False

    engine.pool = sqlalchemy.pool.QueuePool(
        old._creator, pool_size=SQLITE_POOL_SIZE, max_overflow=-1,
        # The connection returned last is the next one out: each SQLite
        # connection has its own page cache, which a write by another
        # connection invalidates, so taking turns round the pool would
        # read every page afresh (70 us of a 1 ms put_allocation).
        use_lifo=True,
        recycle=old._recycle, echo=old.echo,
        logging_name=old._orig_logging_name,
        reset_on_return=old._reset_on_return,
        pre_ping=False,  # a local file does not drop connections
        _dispatch=old.dispatch, dialect=old._dialect)


def _in_memory(url):
    return sqlalchemy.engine.make_url(url).database in (None, '', ':memory:')


class Database(object):
    """The reader and writer transactions of one service's database."""

    def __init__(self, conf):
        connection = conf.database.connection
        ensure_sqlite_dir(connection)
        self.url = connection
        self._context = enginefacade.transaction_context()
        settings = dict(conf.database.items())
        settings['sqlite_fk'] = True
        # oslo.db's checkin hook calls time.sleep(0) so that eventlet
        # switches greenthreads; the services run on native threads, where
        # it only gives the CPU away (75 us a transaction on a busy host).
        settings['thread_checkin'] = False
        self._context.configure(**settings)
        if self.dialect == 'sqlite' and not _in_memory(connection):
            self._context.append_on_engine_create(_keep_sqlite_connections)
        if self.dialect == 'sqlite':
            _serialize_sqlite_writers(self.engine)

    @property
    def dialect(self):
        return sqlalchemy.engine.make_url(self.url).get_backend_name()

    @property
    def writer(self):
        return self._context.writer

    @property
    def reader(self):
        return self._context.reader

    @property
    def engine(self):
        return self._context.writer.get_engine()

    def dispose(self):
        """Close the pooled connections (tests, shutdown)."""
        self._context.dispose_pool()
