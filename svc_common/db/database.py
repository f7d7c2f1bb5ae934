"""One oslo.db engine facade per service instance.

oslo.db's module-level facade is process global; a process that runs several
services (the local run, the tests) needs one per service, so each
:class:`Database` owns its own ``transaction_context``.  Use it with a
:class:`~svc_common.context.RequestContext`::

    with db.writer.using(ctx) as session:
        session.add(row)

SQLite files
------------

SQLite is the embedded default, and several API processes (uwsgi or
gunicorn workers) may share one database file.  What they rely on, and how
it is obtained through public hooks only:

* **Writers serialise.**  A writer transaction starts with
  ``BEGIN IMMEDIATE``, which takes the database's write lock before the
  first read: a read-then-write decision (an allocation checked against a
  limit) cannot be overtaken between its read and its write by another
  process, and a waiting writer queues on SQLite's busy timeout instead of
  failing with "database is locked" when it tries to upgrade a read.
  oslo.db starts every SQLite transaction itself with a plain ``BEGIN`` from
  an engine ``begin`` event; on the writer engine a ``before_cursor_execute``
  event turns that statement into ``BEGIN IMMEDIATE``.
* **Readers do not.**  Readers get an engine of their own (oslo.db's
  public ``slave_connection``, set to the same file, with
  ``synchronous_reader=False``), whose transactions keep the plain
  (deferred) ``BEGIN``: a ``GET`` never waits for, nor holds up, a writer.
* **Connections are pooled and the journal is a write-ahead log**, set up by
  a SQLAlchemy ``CreateEnginePlugin`` named in the URL through oslo.db's
  public ``connection_parameters``.  oslo.db gives SQLite files a
  ``NullPool``: a new connection per transaction repeats its PRAGMAs, and
  closing the last one checkpoints and deletes the WAL, so the next commit
  recreates it.  With the pool, a lone allocation's p50 was 2.3-2.5 ms
  instead of 4-28 ms on a loaded 2-core machine
  (``doc/source/admin/database.rst``).

PostgreSQL connections
----------------------

oslo.db makes the pool ping every connection it hands out (``SELECT 1``,
one round trip before each transaction, which on a loaded host means one
more wait for the server to be scheduled).  On PostgreSQL a
:class:`PostgreSQLPoolPlugin` keeps the ping only for a connection that
sat idle in the pool for more than :data:`PING_AFTER_IDLE_SECONDS`, and
for one in steady use looks at its socket instead, without a round trip:
nothing may arrive on an idle connection, so a socket with something to
read (the server's "terminating connection" message, or the end of the
stream when it restarted, crashed, or closed an idle session) is a dead
connection, and the pool replaces it before anyone uses it.  The ping of
connections idle for longer catches what the socket cannot show: an
address that moved to another host (a failover), which answers the first
packet with a reset.  A busy API hands its connections out again within
milliseconds and pays no round trip.

The plugin also sets each new connection's ``TimeZone`` to UTC
(:func:`set_utc_time_zone`): every timestamp column is UTC without a time
zone, whatever the server's own setting.

Each of these is checked when the :class:`Database` is built
(:func:`check_sqlite_engines`): if one is not in effect, say because a
library changed the way it starts transactions or builds its pool, the
service refuses to start with :class:`DatabaseSetupError` rather than run
without it.  An in-memory SQLite database (one shared connection) gets none
of this.  Nothing here is specific to MySQL or PostgreSQL, whose engines are
oslo.db's own.
"""

import os
import re
import select
import sqlite3
import time

from oslo_db.sqlalchemy import enginefacade
import sqlalchemy
import sqlalchemy.dialects
import sqlalchemy.engine
import sqlalchemy.event
import sqlalchemy.exc
import sqlalchemy.pool


def ensure_sqlite_dir(url):
    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() == 'sqlite' and parsed.database not in (
            None, '', ':memory:'):
        directory = os.path.dirname(os.path.abspath(parsed.database))
        os.makedirs(directory, exist_ok=True)


class DatabaseSetupError(Exception):
    """The database is not set up the way the service relies on.

    Raised when a :class:`Database` is built, so that a service refuses to
    start instead of running, for instance, with writers that may
    over-commit.
    """


# How long a SQLite connection waits for another process's write lock.
SQLITE_BUSY_TIMEOUT_MS = 30000

# Connections a SQLite engine keeps open (one per busy API thread).
SQLITE_POOL_SIZE = 8

# The name by which a database URL asks for SQLitePoolPlugin.
SQLITE_PLUGIN = 'arbiter_sqlite'


class SQLitePoolPlugin(sqlalchemy.engine.CreateEnginePlugin):
    """Pooled, write-ahead-logged connections for a SQLite file.

    Named in a URL as ``?plugin=arbiter_sqlite``.  It asks
    :func:`sqlalchemy.create_engine` for a ``QueuePool`` (SQLAlchemy's own
    default for SQLite files, which oslo.db replaces with a ``NullPool``)
    and sets each new connection's busy timeout and journal mode.  A pooled
    connection is used by one thread at a time, not always the one that
    opened it, which SQLAlchemy's pysqlite dialect allows for file
    databases (``check_same_thread`` is off).
    """

    def __init__(self, url, kwargs):
        super(SQLitePoolPlugin, self).__init__(url, kwargs)
        kwargs['poolclass'] = sqlalchemy.pool.QueuePool
        kwargs['pool_size'] = SQLITE_POOL_SIZE
        kwargs['max_overflow'] = -1
        # The connection returned last is the next one out: each SQLite
        # connection has its own page cache, which a write by another
        # connection invalidates, so taking turns round the pool would
        # read every page afresh.
        kwargs['pool_use_lifo'] = True

    def update_url(self, url):
        # The plugin takes no parameters of its own from the URL.
        return url

    def engine_created(self, engine):
        # Registered here, before oslo.db's first test connection, so that
        # every pooled connection has these settings.
        sqlalchemy.event.listen(engine, 'connect', _set_sqlite_pragmas)


# The name by which a database URL asks for PostgreSQLPoolPlugin.
POSTGRESQL_PLUGIN = 'arbiter_postgresql'


def connection_closed_by_server(dbapi_connection):
    """Whether an idle connection has something to read: the server's
    last words or the end of the stream.  A poll of the socket, no round
    trip."""
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


#: A pooled PostgreSQL connection idle for longer than this is pinged
#: (``SELECT 1``) before it is handed out; one used more recently is only
#: checked by :func:`connection_closed_by_server`.
PING_AFTER_IDLE_SECONDS = 1.0

# Where a pooled connection's record keeps when it was returned.
_RETURNED_AT = 'arbiter_returned_at'


class IdleConnectionCheck(object):
    """The pool's ``checkin`` and ``checkout`` listeners of
    :class:`PostgreSQLPoolPlugin`.

    :param dialect: the engine's dialect, whose ``do_ping`` pings.
    :param clock: seconds, monotonic (tests give their own).
    """

    def __init__(self, dialect, clock=time.monotonic):
        self.dialect = dialect
        self.clock = clock

    def checkin(self, dbapi_connection, record):
        if record is not None:
            record.info[_RETURNED_AT] = self.clock()

    def checkout(self, dbapi_connection, record, proxy):
        if connection_closed_by_server(dbapi_connection):
            # The pool's documented answer: drop this one, hand out
            # another.
            raise sqlalchemy.exc.DisconnectionError(
                'The database server closed this pooled connection.')
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and (self.clock() - returned <=
                                     PING_AFTER_IDLE_SECONDS):
            return
        try:
            alive = self.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sqlalchemy.exc.DisconnectionError(
                'A pooled connection idle for a while does not answer: '
                '%s' % exc) from exc
        if alive is False:
            raise sqlalchemy.exc.DisconnectionError(
                'A pooled connection idle for a while does not answer.')


class PostgreSQLPoolPlugin(sqlalchemy.engine.CreateEnginePlugin):
    """Pooled PostgreSQL connections checked without a round trip while
    they are in steady use.

    Named in a URL as ``?plugin=arbiter_postgresql``.  It turns off the
    ping that oslo.db asks the pool for on every checkout
    (``pool_pre_ping``) and checks each connection the pool hands out
    with :class:`IdleConnectionCheck` instead (see the module docstring).
    """

    def __init__(self, url, kwargs):
        super(PostgreSQLPoolPlugin, self).__init__(url, kwargs)
        kwargs['pool_pre_ping'] = False

    def update_url(self, url):
        # The plugin takes no parameters of its own from the URL.
        return url

    def engine_created(self, engine):
        sqlalchemy.event.listen(engine, 'connect', set_utc_time_zone)
        check = IdleConnectionCheck(engine.dialect)
        # A new connection counts as just returned: it was just opened.
        sqlalchemy.event.listen(engine, 'connect', check.checkin)
        sqlalchemy.event.listen(engine, 'checkin', check.checkin)
        sqlalchemy.event.listen(engine, 'checkout', check.checkout)


def set_utc_time_zone(dbapi_connection, record):
    """Set a new PostgreSQL connection's ``TimeZone`` to UTC.

    The services keep times in columns without a time zone and answer
    them as UTC (``...Z``).  ``now()`` and ``CURRENT_TIMESTAMP`` written
    into such a column (the ``server_default`` of ``created_at`` columns)
    are the time in the session's ``TimeZone``, which is the server's own
    unless the client sets it: on a server configured for New York a row
    made at 16:00 UTC said 11:00 UTC.  The setting is committed at once,
    so that no rollback of the connection's first transaction takes it
    back; it is one round trip per new connection, not per transaction.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET TIME ZONE 'UTC'")
    finally:
        cursor.close()
    dbapi_connection.commit()


sqlalchemy.dialects.plugins.register(POSTGRESQL_PLUGIN, __name__,
                                     'PostgreSQLPoolPlugin')


def _set_sqlite_pragmas(dbapi_con, record):
    dbapi_con.execute('PRAGMA busy_timeout = %d' % SQLITE_BUSY_TIMEOUT_MS)
    # Persistent in the file; readers then never wait for a writer.
    dbapi_con.execute('PRAGMA journal_mode = WAL')


sqlalchemy.dialects.plugins.register(SQLITE_PLUGIN, __name__,
                                     'SQLitePoolPlugin')


# A transaction start that takes no lock until the first statement.
_DEFERRED_BEGIN = re.compile(
    r'\s*BEGIN(\s+DEFERRED)?(\s+TRANSACTION)?\s*;?\s*\Z', re.IGNORECASE)


def _begin_immediately(conn, cursor, statement, parameters, context,
                       executemany):
    if _DEFERRED_BEGIN.match(statement):
        statement = 'BEGIN IMMEDIATE'
    return statement, parameters


def _begin_if_not_begun(begin_statement):
    def begin(conn):
        # Whoever runs before us (oslo.db) normally began the transaction
        # already; if it did not, the driver says so and we begin it.
        if not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql(begin_statement)
    return begin


def serialise_sqlite_writers(engine):
    """Make every transaction of ``engine`` take the write lock at BEGIN."""
    sqlalchemy.event.listen(engine, 'before_cursor_execute',
                            _begin_immediately, retval=True)
    sqlalchemy.event.listen(engine, 'begin',
                            _begin_if_not_begun('BEGIN IMMEDIATE'))


def defer_sqlite_readers(engine):
    """Make sure every transaction of ``engine`` is begun, deferred."""
    sqlalchemy.event.listen(engine, 'begin', _begin_if_not_begun('BEGIN'))


def _write_lock_free(path, timeout):
    """Whether another connection can take ``path``'s write lock now."""
    probe = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        probe.execute('BEGIN IMMEDIATE')
    except sqlite3.OperationalError as exc:
        code = getattr(exc, 'sqlite_errorcode', None)  # Python >= 3.11
        if code is not None and code & 0xff != 5:  # SQLITE_BUSY
            raise
        if code is None and 'locked' not in str(exc):
            raise
        return False
    else:
        probe.execute('ROLLBACK')
        return True
    finally:
        probe.close()


def check_sqlite_engines(writer_engine, reader_engine):
    """Check that a SQLite file's engines behave as the services rely on.

    Both pool their connections, the journal is a write-ahead log, a writer
    transaction holds the database's write lock from its start, and a
    reader transaction that has read does not hold it.  Raises
    :class:`DatabaseSetupError`, naming what is wrong, otherwise.
    """
    path = writer_engine.url.database
    for role, engine in (('writer', writer_engine),
                         ('reader', reader_engine)):
        if not isinstance(engine.pool, sqlalchemy.pool.QueuePool):
            raise DatabaseSetupError(
                'The SQLite %s engine of %s does not pool its connections '
                '(it has a %s, expected the QueuePool that the %r '
                'SQLAlchemy plugin asks for): every transaction would open '
                'a new connection.' % (role, path, type(engine.pool).__name__,
                                       SQLITE_PLUGIN))
    if reader_engine is writer_engine:
        raise DatabaseSetupError(
            'Readers of the SQLite database %s share the writer engine: '
            'every read would take the write lock.' % path)
    # Straight on the driver's connection: a SQLAlchemy statement would
    # begin a writer transaction, and wait for the write lock.
    raw = writer_engine.raw_connection()
    try:
        mode = raw.driver_connection.execute(
            'PRAGMA journal_mode').fetchone()[0]
    finally:
        raw.close()
    if str(mode).lower() != 'wal':
        raise DatabaseSetupError(
            'The SQLite database %s is in journal mode %r, not WAL: readers '
            'would wait for writers.  Is it on a file system without shared '
            'memory (NFS)?' % (path, mode))
    with writer_engine.connect() as conn, conn.begin():
        serialised = not _write_lock_free(path, timeout=0)
    if not serialised:
        raise DatabaseSetupError(
            'A writer transaction on the SQLite database %s does not take '
            'the write lock when it begins (BEGIN IMMEDIATE): API processes '
            'writing at once could over-commit or fail with "database is '
            'locked".  The database library may have changed the way it '
            'starts transactions.' % path)
    begins = _begin_statements(reader_engine)
    if not begins or not all(_DEFERRED_BEGIN.match(b) for b in begins):
        raise DatabaseSetupError(
            'A reader transaction on the SQLite database %s does not begin '
            'deferred (it sent %s): every read would take the write lock '
            'and wait for every writer.' % (path, begins or 'no BEGIN'))


def _begin_statements(engine):
    """The BEGIN statements one transaction of ``engine`` sends, as they
    reach the driver (after any listener that rewrites them).

    What a reader transaction sends is checked rather than whether it
    holds the write lock: the latter depends on what other processes are
    doing at that moment (a worker starting while the others write hard
    could wait for the lock longer than any timeout), the former does not.
    """
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)
        return statement, parameters

    sqlalchemy.event.listen(engine, 'before_cursor_execute', record,
                            retval=True)
    try:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql('SELECT count(*) FROM sqlite_master')
    finally:
        sqlalchemy.event.remove(engine, 'before_cursor_execute', record)
    return [statement for statement in sent
            if statement.lstrip().upper().startswith('BEGIN')]


def _in_memory(url):
    return sqlalchemy.engine.make_url(url).database in (None, '', ':memory:')


def _sqlite_file_settings(url, connection_parameters):
    """enginefacade settings: a reader engine, pooled by the plugin."""
    return {
        'slave_connection': url,
        'synchronous_reader': False,
        'connection_parameters': _with_plugin(connection_parameters,
                                              SQLITE_PLUGIN),
    }


def _with_plugin(connection_parameters, name):
    return '&'.join(p for p in (connection_parameters, 'plugin=%s' % name)
                    if p)


#: The databases the services are written for and tested on.
SUPPORTED_DIALECTS = ('postgresql', 'sqlite')


def check_supported(url):
    """Refuse a database the services are not tested on, at start."""
    dialect = sqlalchemy.engine.make_url(url).get_backend_name()
    if dialect not in SUPPORTED_DIALECTS:
        raise DatabaseSetupError(
            '[database] connection names a %s database; Arbiter services '
            'run on PostgreSQL (production) or SQLite (one host).'
            % dialect)


class Database(object):
    """The reader and writer transactions of one service's database."""

    def __init__(self, conf):
        connection = conf.database.connection
        check_supported(connection)
        ensure_sqlite_dir(connection)
        self.url = connection
        self._context = enginefacade.transaction_context()
        settings = dict(conf.database.items())
        settings['sqlite_fk'] = True
        # oslo.db's checkin hook calls time.sleep(0) so that eventlet
        # switches greenthreads; the services run on native threads, where
        # it only gives the CPU away (75 us a transaction on a busy host).
        settings['thread_checkin'] = False
        sqlite_file = self.dialect == 'sqlite' and not _in_memory(connection)
        if sqlite_file:
            settings.update(_sqlite_file_settings(
                connection, settings.get('connection_parameters')))
        if self.dialect == 'postgresql':
            settings['connection_parameters'] = _with_plugin(
                settings.get('connection_parameters'), POSTGRESQL_PLUGIN)
        self._context.configure(**settings)
        if sqlite_file:
            serialise_sqlite_writers(self.engine)
            defer_sqlite_readers(self.reader_engine)
            check_sqlite_engines(self.engine, self.reader_engine)

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
        """The engine of writer transactions."""
        return self._context.writer.get_engine()

    @property
    def reader_engine(self):
        """oslo.db's reader engine: on a SQLite file, that of readers."""
        return self._context.reader.get_engine()

    def dispose(self):
        """Close the pooled connections (tests, shutdown)."""
        self._context.dispose_pool()
