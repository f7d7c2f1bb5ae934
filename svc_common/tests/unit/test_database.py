"""SQLite transactions of svc_common.db.database: who takes the write lock.

Each :class:`Database` here stands for one API process (its own pools of
connections) on a shared SQLite file.  Readers must neither wait for a
writer nor hold one up; writers doing read-then-write must serialise; and a
:class:`Database` must refuse to be built when either is not in effect.
"""

import os
import sqlite3
import threading
import time

import fixtures
from oslo_config import cfg
from oslo_db import options
from oslo_db.sqlalchemy import engines
import sqlalchemy.event
import testtools

from svc_common import context
from svc_common.db import database

# Longer than an uncontended transaction by far, shorter than the busy
# timeout (30 s) that a wrongly blocked reader would wait.
PATIENCE_S = 5


def run_in_thread(fn):
    """Start ``fn`` in a thread; returns the thread and its outcome."""
    outcome = {}

    def target():
        try:
            outcome['value'] = fn()
        except Exception as exc:  # reported by the test, not lost
            outcome['error'] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


class SQLiteFileTestCase(testtools.TestCase):

    def setUp(self):
        super(SQLiteFileTestCase, self).setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'svc.sqlite')
        self.url = 'sqlite:///%s' % self.path
        db = self.database()
        with db.writer.connection.using(context.admin_context()) as conn:
            conn.exec_driver_sql(
                'CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)')
            conn.exec_driver_sql('INSERT INTO counter VALUES (1, 0)')

    def database(self):
        """A Database on the test's file, as one API process has it."""
        conf = cfg.ConfigOpts()
        options.set_defaults(conf, connection=self.url)
        conf([])
        db = database.Database(conf)
        self.addCleanup(db.dispose)
        return db

    @staticmethod
    def read(db):
        with db.reader.connection.using(context.admin_context()) as conn:
            return conn.exec_driver_sql(
                'SELECT value FROM counter').scalar_one()


class TestReaders(SQLiteFileTestCase):

    def test_reader_proceeds_while_another_process_writes(self):
        reader_db, writer_db = self.database(), self.database()
        with writer_db.writer.connection.using(
                context.admin_context()) as conn:
            conn.exec_driver_sql('UPDATE counter SET value = 1')
            # The writer holds the write lock until the block ends.
            thread, outcome = run_in_thread(lambda: self.read(reader_db))
            thread.join(PATIENCE_S)
            waited = thread.is_alive()
        thread.join()
        self.assertFalse(waited, 'the reader waited for the writer')
        # It read what was committed, not the writer's pending change.
        self.assertEqual({'value': 0}, outcome)

    def test_open_reader_does_not_hold_up_a_writer(self):
        reader_db, writer_db = self.database(), self.database()

        def increment():
            with writer_db.writer.connection.using(
                    context.admin_context()) as conn:
                conn.exec_driver_sql('UPDATE counter SET value = value + 1')

        with reader_db.reader.connection.using(
                context.admin_context()) as conn:
            before = conn.exec_driver_sql('SELECT value FROM counter').scalar()
            thread, outcome = run_in_thread(increment)
            thread.join(PATIENCE_S)
            waited = thread.is_alive()
            during = conn.exec_driver_sql('SELECT value FROM counter').scalar()
        thread.join()
        self.assertFalse(waited, 'the writer waited for the reader')
        self.assertNotIn('error', outcome)
        # The reader's transaction kept one snapshot throughout.
        self.assertEqual((0, 0), (before, during))
        self.assertEqual(1, self.read(reader_db))


class TestWriters(SQLiteFileTestCase):

    @staticmethod
    def read_then_write(db, after_read=None):
        with db.writer.connection.using(context.admin_context()) as conn:
            value = conn.exec_driver_sql(
                'SELECT value FROM counter').scalar_one()
            if after_read:
                after_read()
            conn.exec_driver_sql('UPDATE counter SET value = ?',
                                 (value + 1,))

    def test_second_writer_waits_for_the_first(self):
        first_db, second_db = self.database(), self.database()
        first_read = threading.Event()

        def first():
            # Let the second writer start while this one is between its
            # read and its write.
            self.read_then_write(
                first_db, after_read=lambda: (first_read.set(),
                                              time.sleep(0.3)))

        def second():
            first_read.wait(PATIENCE_S)
            self.read_then_write(second_db)

        threads = [run_in_thread(first), run_in_thread(second)]
        for thread, _ in threads:
            thread.join(4 * PATIENCE_S)
        self.assertEqual([{'value': None}, {'value': None}],
                         [outcome for _, outcome in threads])
        self.assertEqual(2, self.read(first_db))

    def test_concurrent_read_then_write_loses_no_update(self):
        processes, rounds = 4, 15
        dbs = [self.database() for _ in range(processes)]

        def work(db):
            for _ in range(rounds):
                self.read_then_write(db, after_read=lambda: time.sleep(0.001))

        threads = [run_in_thread(lambda db=db: work(db)) for db in dbs]
        for thread, _ in threads:
            thread.join(60)
        self.assertEqual([{'value': None}] * processes,
                         [outcome for _, outcome in threads])
        self.assertEqual(processes * rounds, self.read(dbs[0]))


class TestStartupCheck(SQLiteFileTestCase):

    def engine(self, pooled=True):
        """An engine made by oslo.db's public create_engine."""
        url = self.url + ('?plugin=%s' % database.SQLITE_PLUGIN
                          if pooled else '')
        engine = engines.create_engine(url, sqlite_fk=True)
        self.addCleanup(engine.dispose)
        return engine

    def test_database_passes(self):
        db = self.database()
        self.assertIsNot(db.engine, db.reader_engine)
        database.check_sqlite_engines(db.engine, db.reader_engine)

    def test_passes_while_other_processes_keep_the_write_lock_busy(self):
        """A worker that starts while the others write hard must start: a
        gunicorn worker that fails to boot takes the whole server down."""
        self.database()   # the file exists, in WAL mode
        stop = threading.Event()

        def write_hard():
            busy = sqlite3.connect(self.path, timeout=30,
                                   isolation_level=None)
            try:
                while not stop.is_set():
                    busy.execute('BEGIN IMMEDIATE')
                    time.sleep(0.05)   # hold the lock most of the time
                    busy.execute('COMMIT')
                    time.sleep(0.01)
            finally:
                busy.close()

        thread, outcome = run_in_thread(write_hard)
        try:
            for _ in range(5):
                self.database()   # runs the start-up check
        finally:
            stop.set()
            thread.join(10)
        self.assertNotIn('error', outcome)

    def test_refuses_to_start_when_writers_are_not_serialised(self):
        # As if oslo.db started transactions in a way the writer engine's
        # events no longer turn into BEGIN IMMEDIATE.
        self.useFixture(fixtures.MockPatchObject(
            database, 'serialise_sqlite_writers'))
        error = self.assertRaises(database.DatabaseSetupError,
                                  self.database)
        self.assertIn('does not take the write lock', str(error))
        self.assertIn(self.path, str(error))

    def test_writer_without_begin_immediate(self):
        writer, reader = self.engine(), self.engine()
        database.defer_sqlite_readers(writer)
        database.defer_sqlite_readers(reader)
        error = self.assertRaises(database.DatabaseSetupError,
                                  database.check_sqlite_engines,
                                  writer, reader)
        self.assertIn('does not take the write lock', str(error))

    def test_reader_that_takes_the_write_lock(self):
        writer, reader = self.engine(), self.engine()
        database.serialise_sqlite_writers(writer)
        database.serialise_sqlite_writers(reader)
        error = self.assertRaises(database.DatabaseSetupError,
                                  database.check_sqlite_engines,
                                  writer, reader)
        self.assertIn('reader transaction', str(error))

    def test_readers_sharing_the_writer_engine(self):
        writer = self.engine()
        database.serialise_sqlite_writers(writer)
        error = self.assertRaises(database.DatabaseSetupError,
                                  database.check_sqlite_engines,
                                  writer, writer)
        self.assertIn('share the writer engine', str(error))

    def test_connections_not_pooled(self):
        # oslo.db's own choice for SQLite files, without the plugin.
        writer, reader = self.engine(pooled=False), self.engine(pooled=False)
        database.serialise_sqlite_writers(writer)
        database.defer_sqlite_readers(reader)
        error = self.assertRaises(database.DatabaseSetupError,
                                  database.check_sqlite_engines,
                                  writer, reader)
        self.assertIn('does not pool its connections', str(error))
        self.assertIn('NullPool', str(error))

    def test_journal_not_wal(self):
        # A file of its own: leaving WAL needs the only connection to it.
        self.url = 'sqlite:///%s' % os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'other.sqlite')
        writer, reader = self.engine(), self.engine()
        database.serialise_sqlite_writers(writer)
        database.defer_sqlite_readers(reader)
        for engine in (writer, reader):
            engine.dispose()

        @sqlalchemy.event.listens_for(writer, 'connect')
        def rollback_journal(dbapi_con, record):
            dbapi_con.execute('PRAGMA journal_mode = DELETE')

        error = self.assertRaises(database.DatabaseSetupError,
                                  database.check_sqlite_engines,
                                  writer, reader)
        self.assertIn("journal mode 'delete', not WAL", str(error))


class TestInMemory(testtools.TestCase):

    def test_in_memory_database_works(self):
        conf = cfg.ConfigOpts()
        options.set_defaults(conf, connection='sqlite://')
        conf([])
        db = database.Database(conf)
        self.addCleanup(db.dispose)
        with db.writer.connection.using(context.admin_context()) as conn:
            conn.exec_driver_sql('CREATE TABLE t (id INTEGER PRIMARY KEY)')
            conn.exec_driver_sql('INSERT INTO t VALUES (1)')
        with db.reader.connection.using(context.admin_context()) as conn:
            self.assertEqual(
                1, conn.exec_driver_sql('SELECT count(*) FROM t').scalar())


class TestSupportedDatabases(testtools.TestCase):

    def test_other_databases_are_refused_at_start(self):
        conf = cfg.ConfigOpts()
        options.set_defaults(
            conf, connection='mysql+pymysql://u:p@127.0.0.1/limits')
        conf([])
        error = self.assertRaises(database.DatabaseSetupError,
                                  database.Database, conf)
        self.assertIn('mysql', str(error))
        self.assertIn('PostgreSQL', str(error))
        self.assertRaises(database.DatabaseSetupError,
                          database.check_supported,
                          'oracle://u:p@127.0.0.1/x')
        database.check_supported('postgresql://u:p@127.0.0.1/x')
        database.check_supported('sqlite://')
