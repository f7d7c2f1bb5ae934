"""A service on a SQLite file (the local run's default) whose file another
connection keeps locked for writing past the busy timeout: the request
that cannot get the lock is told to try again (503), not 500 with a
traceback, and the same request succeeds once the lock is released."""

import sqlite3

import fixtures
import sqlalchemy.engine
import testtools

from image_family_svc import service
from svc_common.db import database
from svc_common.tests.fixtures import api

ADMIN = api.SYSTEM_ADMIN


class TestDatabaseLocked(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # 30 s in production; a test that waits that long for each
        # request proves nothing more.
        self.useFixture(fixtures.MonkeyPatch(
            'svc_common.db.database.SQLITE_BUSY_TIMEOUT_MS', 300))
        self.service = self.useFixture(api.ServiceApp(service.SPEC))
        self.app = self.service.app
        self.path = sqlalchemy.engine.make_url(
            self.service.conf.database.connection).database

    def hold_write_lock(self):
        """A second connection to the same file, in a write transaction
        until the returned connection is rolled back."""
        other = sqlite3.connect(self.path, isolation_level=None)
        self.addCleanup(other.close)
        other.execute('BEGIN IMMEDIATE')
        return other

    def test_a_writer_that_times_out_on_the_lock_is_503(self):
        self.assertEqual(300, database.SQLITE_BUSY_TIMEOUT_MS)
        log = self.useFixture(fixtures.FakeLogger())
        other = self.hold_write_lock()
        resp = self.app.post_json('/v1/families', {'name': 'centos-7'},
                                  headers=ADMIN, status=503)
        [error] = resp.json['errors']
        self.assertEqual(('image_family.service_unavailable', 503),
                         (error['code'], error['status']))
        self.assertIn('try again', error['detail'])
        self.assertIn('Database busy answering POST /v1/families',
                      log.output)
        self.assertIn('database is locked', log.output)
        self.assertNotIn('Traceback', log.output)
        # Readers do not wait for the writer (write-ahead log).
        self.app.get('/v1/families', headers=ADMIN, status=200)
        other.execute('ROLLBACK')
        self.app.post_json('/v1/families', {'name': 'centos-7'},
                           headers=ADMIN, status=201)
        resp = self.app.get('/v1/families/centos-7', headers=ADMIN)
        self.assertEqual('centos-7', resp.json['family']['name'])
