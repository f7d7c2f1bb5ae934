"""The first start of the API under an https issuer after the upgrade to
the ``__Host-`` cookie names ends the sessions of plain-named cookies a
batch at a time, each batch committed on its own (PostgreSQL): with
thousands of sessions another connection sees the work progress, a
start interrupted after a batch keeps what it did and the next start
ends the rest, and two processes starting at once end each session once
and do not deadlock."""

import datetime
import threading
import time

import fixtures
import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy import service
from federation_proxy.tests.functional import base
from svc_common.tests.fixtures import postgresql

#: Sessions of plain-named cookies made before the upgrade: several of
#: the start's batches.
SESSIONS = 2600
#: Sessions of __Host- cookies, made after it: they stay.
KEPT = 5


class Interrupted(BaseException):
    """The worker is killed (a WSGI server's timeout) mid-start."""


class SessionBatchesTest(base.FederationTestCase):

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {
            ('federation', 'secret_key'): 'test key of the proxy',
            ('federation', 'issuer'): 'https://127.0.0.1:9873',
            ('database', 'connection'): url}
        super().setUp()
        # Another process's view of the database.
        self.other = sa.create_engine(url)
        self.addCleanup(self.other.dispose)
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='federation_proxy.startup'))
        later = datetime.datetime.utcnow() + datetime.timedelta(days=1)
        with self.writer() as session:
            session.execute(sa.insert(models.Session), [
                {'id': 'old-%05d' % i, 'user_id': 'person-%d' % (i % 40),
                 'expires_at': later, 'host_prefixed': False}
                for i in range(SESSIONS)])
            session.execute(sa.insert(models.Session), [
                {'id': 'new-%d' % i, 'user_id': 'person-%d' % i,
                 'expires_at': later, 'host_prefixed': True}
                for i in range(KEPT)])
            # A grant authorized by every tenth old session.
            session.execute(sa.insert(models.RefreshToken), [
                {'token_hash': '%064x' % i, 'client_id': 'rp',
                 'user_id': 'person-%d' % (i % 40), 'scope': 'openid',
                 'revoked': False, 'session_id': 'old-%05d' % i,
                 'expires_at': later}
                for i in range(0, SESSIONS, 10)])

    def old_sessions(self):
        """The plain-named sessions left, as another connection sees
        them (what is committed)."""
        with self.other.connect() as conn:
            return conn.scalar(sa.select(sa.func.count()).select_from(
                models.Session).where(models.Session.host_prefixed.is_(
                    False)))

    def on_session_delete(self, action):
        """Call ``action()`` whenever the start deletes sessions."""
        def deleted(conn, cursor, statement, parameters, context,
                    executemany):
            if statement.startswith('DELETE FROM sessions'):
                action()
        sa.event.listen(self.fixture.db.engine, 'after_cursor_execute',
                        deleted)
        self.addCleanup(sa.event.remove, self.fixture.db.engine,
                        'after_cursor_execute', deleted)

    def start(self):
        service.SPEC.start(self.fixture.conf, self.fixture.db)

    def assertAllEndedOnce(self):
        self.assertEqual(0, self.old_sessions())
        with self.other.connect() as conn:
            self.assertEqual(KEPT, conn.scalar(
                sa.select(sa.func.count()).select_from(models.Session)))
            self.assertEqual(0, conn.scalar(sa.select(
                sa.func.count()).select_from(models.RefreshToken)))
            # Each ended as a logout, once.
            ended = conn.scalars(sa.select(
                models.AuditRecord.object_id).where(
                    models.AuditRecord.action == 'logout')).all()
        self.assertEqual(SESSIONS, len(ended))
        self.assertEqual(SESSIONS, len(set(ended)))
        self.assertNotIn('not the others', self.logs.output)

    def test_each_batch_is_committed_on_its_own(self):
        # What another connection sees each time the start deletes a
        # batch: the batches before it are committed already.  (In one
        # transaction it saw every session until the end.)
        seen = []
        self.on_session_delete(lambda: seen.append(self.old_sessions()))
        self.start()
        self.assertGreater(len(seen), 2)
        self.assertEqual(SESSIONS, seen[0])
        self.assertEqual(sorted(set(seen), reverse=True), seen)
        self.assertAllEndedOnce()
        self.assertIn('Ended %d proxy sessions' % SESSIONS,
                      self.logs.output)

    def test_an_interrupted_start_is_finished_by_the_next(self):
        deletes = []

        def second_batch_killed():
            deletes.append(1)
            if len(deletes) == 2:
                raise Interrupted()
        self.on_session_delete(second_batch_killed)
        self.assertRaises(Interrupted, self.start)
        # The first batch stays ended; the second was rolled back.
        left = self.old_sessions()
        self.assertLess(left, SESSIONS)
        self.assertGreater(left, 0)
        # The worker starts again.
        self.start()
        self.assertAllEndedOnce()
        self.assertIn('Ended %d proxy sessions' % left, self.logs.output)

    def test_two_processes_starting_at_once(self):
        # The second process starts while the first holds its first
        # batch; it waits for those sessions, then both go on.
        errors = []
        second = threading.Thread(target=self.start_recording,
                                  args=(errors,))
        state = {}

        def first_batch():
            if state:
                return
            state['started'] = True
            second.start()
            self.wait_for_a_lock_wait()
        self.on_session_delete(first_batch)
        self.start_recording(errors)
        second.join(120)
        self.assertFalse(second.is_alive())
        self.assertEqual([], errors)
        self.assertAllEndedOnce()

    def start_recording(self, errors):
        try:
            self.start()
        except Exception as exc:
            errors.append(exc)

    def wait_for_a_lock_wait(self):
        """Until another connection waits for a row lock (bounded)."""
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE "
                        "wait_event_type = 'Lock' AND datname = "
                        "current_database()")
        for _ in range(600):
            with self.other.connect() as conn:
                if conn.scalar(query):
                    return
            time.sleep(0.05)
        self.fail('The second start never waited for the first one\'s '
                  'sessions.')
