"""Two API requests creating the same project at once, on PostgreSQL.

The test plays the first request itself, on a connection of its own as
another API process would: it takes the tree lock, writes the project
and keeps its transaction open, starts the API request, waits until
PostgreSQL shows that request waiting for it, then commits.  The request
must answer what it answers when it comes second (a 409), never a 500.
"""

import threading
import time

import sqlalchemy as sa

from limits_svc.db import models
from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql

_PROJECTS = models.Project.__table__
# tree.lock_for_ledger's lock class of the tree.
_TREE_LOCK_CLASS = 0x4c4954


class TestProjectRacesOnPostgreSQL(base.LimitsApiTestCase):

    def setUp(self):
        self.url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): self.url}
        super().setUp()
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def _waiting_for_a_lock(self, conn):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if conn.exec_driver_sql(
                    'SELECT count(*) FROM pg_locks WHERE NOT granted'
            ).scalar():
                return
            time.sleep(0.05)
        self.fail('the request never waited for the other transaction')

    def test_creating_a_project_another_request_is_creating(self):
        answers = []
        with self.engine.connect() as other, self.engine.connect() as look:
            with other.begin():
                # What the first POST does: the tree lock, then the row.
                other.exec_driver_sql('SELECT pg_advisory_xact_lock(%d, 0)'
                                      % _TREE_LOCK_CLASS)
                other.execute(_PROJECTS.insert(), {'id': 'p1',
                                                   'name': 'first'})
                post = threading.Thread(target=lambda: answers.append(
                    self.app.post_json('/v1/projects', {
                        'id': 'p1', 'name': 'second'},
                        headers=af.SYSTEM_ADMIN, expect_errors=True)))
                post.start()
                self.addCleanup(post.join, 30)
                self._waiting_for_a_lock(look)
        post.join(30)
        self.assertEqual(1, len(answers))
        self.assertEqual(409, answers[0].status_int, answers[0].body)
        self.assertEqual('limits.project_exists',
                         answers[0].json['errors'][0]['code'])
        self.assertEqual('first', self.app.get(
            '/v1/projects/p1', headers=af.SYSTEM_ADMIN).json[
                'project']['name'])
