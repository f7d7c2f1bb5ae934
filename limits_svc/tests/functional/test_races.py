"""Two requests on the same object at once, on PostgreSQL.

The test plays the other request itself, on a connection of its own as
another API process would: it takes the locks that request takes, makes
its change and keeps its transaction open, starts the API request, waits
until PostgreSQL shows that request waiting for it (or until the request
is over without waiting: it then ran on what was committed before), then
commits.  The request must answer what it answers when it comes second,
never a 500, and leave nothing half-written.
"""

import sqlalchemy as sa

from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import races

_PROJECTS = models.Project.__table__
_LIMITS = models.ProjectLimit.__table__
_ALLOCATIONS = models.Allocation.__table__
ADMIN = af.SYSTEM_ADMIN


class RaceTestCase(races.OnPostgreSQL, base.LimitsApiTestCase):

    def setUp(self):
        super().setUp()
        for body in ({'id': 'root'}, {'id': 'p1', 'parent_id': 'root'}):
            self.app.post_json('/v1/projects', body, headers=ADMIN)

    def during(self, change, call):
        """The answer of ``call()`` (an API request) made while another
        transaction runs ``change(conn)`` and commits."""
        return races.during(self.engine, change, call)

    def assertError(self, answer, status, code):
        self.assertEqual(status, answer.status_int, answer.body)
        self.assertEqual('limits.' + code, answer.json['errors'][0]['code'])


class TestProjectRaces(RaceTestCase):

    def create_child(self):
        return self.app.post_json('/v1/projects', {
            'id': 'child', 'parent_id': 'p1'}, headers=ADMIN,
            expect_errors=True)

    def assertNoChild(self):
        self.assertEqual(404, self.app.get(
            '/v1/projects/child', headers=ADMIN,
            expect_errors=True).status_int)

    def test_creating_a_project_another_request_is_creating(self):
        def first(conn):
            # What the first POST does: the tree lock, then the row.
            tree.lock_tree(conn, exclusive=True)
            conn.execute(_PROJECTS.insert(), {'id': 'p2', 'name': 'first'})
        answer = self.during(first, lambda: self.app.post_json(
            '/v1/projects', {'id': 'p2', 'name': 'second'}, headers=ADMIN,
            expect_errors=True))
        self.assertError(answer, 409, 'project_exists')
        self.assertEqual('first', self.app.get(
            '/v1/projects/p2', headers=ADMIN).json['project']['name'])

    def test_the_parent_deleted_meanwhile_is_a_404_and_no_orphan(self):
        def delete(conn):
            tree.lock_tree(conn, exclusive=True)
            conn.execute(_PROJECTS.delete().where(_PROJECTS.c.id == 'p1'))
        self.assertError(self.during(delete, self.create_child), 404,
                         'project_not_found')
        self.assertNoChild()

    def test_the_parent_moved_deeper_meanwhile_is_too_deep(self):
        """p1 is moved to the bottom of a chain one level short of
        ``tree.MAX_DEPTH``: a child of p1 would sit deeper than that."""
        with self.engine.begin() as conn:
            conn.execute(_PROJECTS.insert(), [
                {'id': 'd%d' % n, 'parent_id': 'd%d' % (n - 1) if n else None}
                for n in range(tree.MAX_DEPTH - 1)])

        def move(conn):
            tree.lock_tree(conn, exclusive=True)
            conn.execute(_PROJECTS.update().where(
                _PROJECTS.c.id == 'p1').values(
                parent_id='d%d' % (tree.MAX_DEPTH - 2)))
        self.assertError(self.during(move, self.create_child), 409,
                         'tree_too_deep')
        self.assertNoChild()


class TestLimitRaces(RaceTestCase):

    def setUp(self):
        super().setUp()
        self.limit_id = self.app.post_json('/v1/limits', {
            'project_id': 'root', 'service_id': 'nova',
            'resource_name': 'cores', 'resource_limit': 8},
            headers=ADMIN).json['limit']['id']

    def delete_limit(self, conn):
        conn.execute(_LIMITS.delete().where(_LIMITS.c.id == self.limit_id))

    def limits(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(_LIMITS.c.project_id)).all()

    def test_a_limit_of_a_project_deleted_meanwhile_is_a_404(self):
        def delete_project(conn):
            tree.lock_tree(conn, exclusive=True)
            conn.execute(_PROJECTS.delete().where(_PROJECTS.c.id == 'p1'))
        answer = self.during(delete_project, lambda: self.app.post_json(
            '/v1/limits', {'project_id': 'p1', 'service_id': 'nova',
                           'resource_name': 'cores', 'resource_limit': 4},
            headers=ADMIN, expect_errors=True))
        self.assertError(answer, 404, 'project_not_found')
        self.assertEqual([('root',)], self.limits())

    def test_a_change_of_a_limit_deleted_meanwhile_is_a_404(self):
        answer = self.during(self.delete_limit, lambda: self.app.patch_json(
            '/v1/limits/%s' % self.limit_id, {'resource_limit': 2},
            headers=ADMIN, expect_errors=True))
        self.assertError(answer, 404, 'limit_not_found')
        self.assertEqual([], self.limits())

    def test_a_delete_of_a_limit_deleted_meanwhile_is_a_404(self):
        answer = self.during(self.delete_limit, lambda: self.app.delete(
            '/v1/limits/%s' % self.limit_id, headers=ADMIN,
            expect_errors=True))
        self.assertError(answer, 404, 'limit_not_found')


class TestAllocationListRaces(RaceTestCase):

    def test_an_allocation_freed_while_the_list_is_read(self):
        """The list reads its page, then the page's rows: a free
        committed in between (placed there by a SQLAlchemy event of the
        service's engine) must not make the answer fail or list a
        consumer half."""
        for name in ('cores', 'ram'):
            self.app.post_json('/v1/registered_limits', {
                'service_id': 'nova', 'resource_name': name,
                'default_limit': 100}, headers=ADMIN)
        for consumer in ('vm-1', 'vm-2'):
            self.app.put_json('/v1/allocations/' + consumer, {
                'project_id': 'p1', 'resources': {'cores': 1, 'ram': 2}},
                headers=ADMIN)
        freed = []

        def free_after_the_first_read(conn, cursor, statement, *args):
            if (freed or conn.engine is self.engine or
                    'FROM allocations' not in statement):
                return
            freed.append(statement)
            with self.engine.begin() as other:
                other.execute(_ALLOCATIONS.delete().where(
                    _ALLOCATIONS.c.consumer_id == 'vm-1'))
        sa.event.listen(sa.engine.Engine, 'after_cursor_execute',
                        free_after_the_first_read)
        self.addCleanup(sa.event.remove, sa.engine.Engine,
                        'after_cursor_execute', free_after_the_first_read)
        answer = self.app.get('/v1/allocations', headers=ADMIN,
                              expect_errors=True)
        self.assertEqual(1, len(freed))
        self.assertEqual(200, answer.status_int, answer.body)
        # Read as it was when the list started: both, each whole.
        both = {'cores': 1, 'ram': 2}
        self.assertEqual([('vm-1', both), ('vm-2', both)],
                         [(a['consumer_id'], a['resources'])
                          for a in answer.json['allocations']])
        self.assertEqual(['vm-2'], [a['consumer_id'] for a in self.app.get(
            '/v1/allocations', headers=ADMIN).json['allocations']])


class TestReplaceOnlyRaces(RaceTestCase):

    def test_a_free_committed_first_wins_over_if_match(self):
        """A PUT with ``If-Match: *`` (the hook's end of a resize) that
        waits behind the consumer's free must not make the allocation
        again: 412, and the consumer holds nothing."""
        self.app.post_json('/v1/registered_limits', {
            'service_id': 'nova', 'resource_name': 'cores',
            'default_limit': 100}, headers=ADMIN)
        self.app.put_json('/v1/allocations/vm-1', {
            'project_id': 'p1', 'resources': {'cores': 4}}, headers=ADMIN)

        def free(conn):
            # What DELETE /v1/allocations/vm-1 takes and does (the usage
            # counters are left aside: only the rows matter here).
            tree.lock_for_ledger(conn, 'vm-1')
            conn.execute(_ALLOCATIONS.delete().where(
                _ALLOCATIONS.c.consumer_id == 'vm-1'))
        answer = self.during(free, lambda: self.app.put_json(
            '/v1/allocations/vm-1', {
                'project_id': 'p1', 'resources': {'cores': 2}},
            headers=dict(ADMIN, **{'If-Match': '*'}), expect_errors=True))
        self.assertError(answer, 412, 'allocation_absent')
        self.assertEqual(404, self.app.get(
            '/v1/allocations/vm-1', headers=ADMIN,
            expect_errors=True).status_int)
