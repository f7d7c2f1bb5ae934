"""The API keeps answering across a restart of its PostgreSQL server.

Pooled connections die with the server.  The pool does not ping them
before each transaction (one round trip); it looks at each idle
connection's socket instead (:class:`svc_common.db.database.
PostgreSQLPoolPlugin`).  After a restart, fast (the server says goodbye
to every client) or immediate (as after a crash), the very first
requests must be answered as if nothing had happened.
"""

import os

import fixtures
import sqlalchemy as sa

from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql


class _RestartedServer(object):

    MODE = None
    DRIVER = None

    def setUp(self):
        # A server of this test's own: the process's shared one is not
        # restarted under other tests.
        self.server = postgresql.Server()
        self.server.start()
        self.addCleanup(self.server.stop)
        url = self.server.url(self.server.create_database(), self.DRIVER)
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()
        self.tree()

    def checkpoint(self):
        # The test server commits asynchronously (see the fixture): an
        # immediate stop would lose the last commits, not the connections
        # this test is about.
        engine = sa.create_engine(self.server.admin_url,
                                  isolation_level='AUTOCOMMIT')
        with engine.connect() as conn:
            conn.exec_driver_sql('CHECKPOINT')
        engine.dispose()

    def pg_ctl(self, action):
        """``restart`` starts a stopped server too, with its options."""
        postgresql._as_postgres([
            os.path.join(self.server.bin, 'pg_ctl'), '-D', self.server.data,
            '-l', os.path.join(self.server.dir, 'log'), '-m', self.MODE,
            '-w', '-t', '60', action])

    def restart(self):
        self.checkpoint()
        self.pg_ctl('restart')

    def test_requests_while_the_server_is_down_are_503(self):
        """While PostgreSQL is down, requests are 503 limits.
        service_unavailable (try again), logged as one warning line each;
        they were 500 internal_error with a traceback.  Once it is back,
        they are answered."""
        self.allocate('vm-1', 'leaf', cores=2)
        self.checkpoint()
        self.pg_ctl('stop')
        log = self.useFixture(fixtures.FakeLogger())
        for resp in (
                self.app.get('/v1/allocations/vm-1', headers=af.SERVICE,
                             status=503),
                self.app.put_json('/v1/allocations/vm-2', {
                    'project_id': 'leaf', 'resources': {'cores': 1}},
                    headers=af.SERVICE, status=503)):
            self.assertEqual('limits.service_unavailable',
                             resp.json['errors'][0]['code'])
        self.assertIn('Database unreachable answering PUT', log.output)
        self.assertNotIn('Traceback', log.output)
        self.pg_ctl('restart')
        self.allocate('vm-2', 'leaf', cores=1)
        resp = self.app.get('/v1/allocations/vm-1', headers=af.SERVICE)
        self.assertEqual({'cores': 2}, resp.json['allocation']['resources'])

    def test_first_requests_after_a_restart_are_answered(self):
        self.allocate('vm-1', 'leaf', cores=2)
        self.restart()
        self.allocate('vm-2', 'leaf', cores=3)
        resp = self.app.get('/v1/allocations/vm-1', headers=af.SERVICE)
        self.assertEqual({'cores': 2}, resp.json['allocation']['resources'])
        usage = self.app.get('/v1/projects/leaf/usage',
                             headers=af.SYSTEM_READER)
        self.assertEqual(
            5, usage.json['projects'][0]['resources']['cores']['own_usage'])


class TestFastRestart(_RestartedServer, base.LimitsApiTestCase):
    MODE = 'fast'


class TestImmediateRestart(_RestartedServer, base.LimitsApiTestCase):
    MODE = 'immediate'


class TestFastRestartPsycopg3(TestFastRestart):
    DRIVER = 'psycopg'


class TestImmediateRestartPsycopg3(TestImmediateRestart):
    DRIVER = 'psycopg'
