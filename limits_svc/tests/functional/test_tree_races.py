"""A project or a limit created while the tree changes, on PostgreSQL.

The test plays the tree change itself, on a connection of its own as
another API process would: it takes the tree lock as a delete or a move
does, changes the tree and keeps its transaction open, starts the API
request, waits until PostgreSQL shows that request waiting for it, then
commits.  The request must then answer as it does when it comes second.
"""

import threading
import time

import sqlalchemy as sa

from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql

_PROJECTS = models.Project.__table__


class TestCreateWhileTheTreeChanges(base.LimitsApiTestCase):

    def setUp(self):
        self.url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): self.url}
        super().setUp()
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)
        for body in ({'id': 'root'}, {'id': 'p1', 'parent_id': 'root'}):
            self.app.post_json('/v1/projects', body,
                               headers=af.SYSTEM_ADMIN)

    def _wait_for_a_lock_wait(self, conn, post):
        """Until PostgreSQL shows a lock waited for, or the request is
        over without waiting (it then ran on the tree as it was)."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and post.is_alive():
            if conn.exec_driver_sql(
                    'SELECT count(*) FROM pg_locks WHERE NOT granted'
            ).scalar():
                return
            time.sleep(0.05)

    def _create_during(self, change, path='/v1/projects', body=None):
        """POST ``body`` to ``path`` (by default the project ``child``
        under ``p1``) while another transaction holding the tree lock runs
        ``change(conn)``."""
        body = body or {'id': 'child', 'parent_id': 'p1'}
        answers = []
        with self.engine.connect() as other, self.engine.connect() as look:
            with other.begin():
                tree.lock_tree(other, exclusive=True)
                change(other)
                post = threading.Thread(target=lambda: answers.append(
                    self.app.post_json(path, body, headers=af.SYSTEM_ADMIN,
                                       expect_errors=True)))
                post.start()
                self.addCleanup(post.join, 30)
                self._wait_for_a_lock_wait(look, post)
        post.join(30)
        self.assertEqual(1, len(answers))
        return answers[0]

    def test_the_parent_deleted_meanwhile_is_a_404_and_no_orphan(self):
        answer = self._create_during(lambda conn: conn.execute(
            _PROJECTS.delete().where(_PROJECTS.c.id == 'p1')))
        self.assertEqual(404, answer.status_int, answer.body)
        self.assertEqual('limits.project_not_found',
                         answer.json['errors'][0]['code'])
        self.assertEqual(404, self.app.get(
            '/v1/projects/child', headers=af.SYSTEM_ADMIN,
            expect_errors=True).status_int)

    def test_the_parent_moved_deeper_meanwhile_is_too_deep(self):
        """p1 is moved to the bottom of a chain one level short of
        ``tree.MAX_DEPTH``: a child of p1 would sit deeper than that."""
        with self.engine.begin() as conn:
            conn.execute(_PROJECTS.insert(), [
                {'id': 'd%d' % n, 'parent_id': 'd%d' % (n - 1) if n else None}
                for n in range(tree.MAX_DEPTH - 1)])
        deepest = 'd%d' % (tree.MAX_DEPTH - 2)
        answer = self._create_during(lambda conn: conn.execute(
            _PROJECTS.update().where(_PROJECTS.c.id == 'p1').values(
                parent_id=deepest)))
        self.assertEqual(409, answer.status_int, answer.body)
        self.assertEqual('limits.tree_too_deep',
                         answer.json['errors'][0]['code'])
        self.assertEqual(404, self.app.get(
            '/v1/projects/child', headers=af.SYSTEM_ADMIN,
            expect_errors=True).status_int)

    def test_a_limit_of_a_project_deleted_meanwhile_is_a_404(self):
        answer = self._create_during(
            lambda conn: conn.execute(
                _PROJECTS.delete().where(_PROJECTS.c.id == 'p1')),
            '/v1/limits', {'project_id': 'p1', 'service_id': 'nova',
                           'resource_name': 'cores', 'resource_limit': 4})
        self.assertEqual(404, answer.status_int, answer.body)
        self.assertEqual('limits.project_not_found',
                         answer.json['errors'][0]['code'])
        with self.engine.connect() as conn:
            self.assertEqual([], conn.execute(sa.select(
                models.ProjectLimit.__table__)).all())
