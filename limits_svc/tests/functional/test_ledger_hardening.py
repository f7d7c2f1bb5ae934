"""What an outside tester broke in the ledger, each on SQLite and PostgreSQL.

* a project move checks only the levels whose subtree usage grows, and
  moves the subtree's usage from the chain it leaves to the one it joins;
* the usage report of one project shows its real subtree usage;
* two equal limits created at the same moment: the database keeps one;
* a write that would take a counter past its bound is refused whole;
* drift between the counters and the allocation rows is reported by
  ``limits-manage usage audit`` and ``limits-status upgrade check``, and
  repaired by ``usage audit --fix``.
"""

import concurrent.futures
import os
import subprocess
import sys

import fixtures
import sqlalchemy as sa
import webtest

from limits_svc.db import audit
from limits_svc.db import tree
from limits_svc import quota_tree
from limits_svc.tests.functional import base
from svc_common.tests.fixtures import postgresql
from svc_common.tests.functional import api_fixture as af


class _Hardening(object):

    def setUp(self):
        super().setUp()
        self.engine = sa.create_engine(self.fixture.conf.database.connection)
        self.addCleanup(self.engine.dispose)

    def counters(self):
        with self.engine.connect() as conn:
            return audit.stored_usages(conn)

    def drift(self):
        with self.engine.connect() as conn:
            return audit.find_drift(conn)

    def two_branches(self):
        """root -> A -> X -> X0, root -> B -> Y0; cores limited by
        subtree at root (100), A (50) and B (20)."""
        for project_id, parent_id in (('root', None), ('A', 'root'),
                                      ('X', 'A'), ('X0', 'X'), ('B', 'root'),
                                      ('Y0', 'B')):
            self.project(project_id, parent_id)
        self.registered_limit('cores', 100)
        self.limit('root', 'cores', 100, scope='subtree')
        self.limit('A', 'cores', 50, scope='subtree')
        self.limit('B', 'cores', 20, scope='subtree')

    def move(self, project_id, parent_id, status=200):
        return self.app.patch_json('/v1/projects/%s' % project_id,
                                   {'parent_id': parent_id},
                                   headers=af.SYSTEM_ADMIN, status=status)

    # -- moves ----------------------------------------------------------------
    def test_move_carries_the_subtree_usage_between_chains(self):
        self.two_branches()
        self.allocate('vm-1', 'X0', cores=7)
        self.allocate('vm-2', 'X', cores=3)
        self.allocate('vm-3', 'Y0', cores=5)
        self.move('X', 'B')
        counters = self.counters()
        self.assertEqual((0, 0), counters[('A', 'cores')])
        self.assertEqual((0, 15), counters[('B', 'cores')])
        self.assertEqual((0, 15), counters[('root', 'cores')])
        self.assertEqual((3, 10), counters[('X', 'cores')])
        self.assertEqual([], self.drift())
        usage = self.app.get('/v1/projects/B/usage', headers=af.SYSTEM_ADMIN)
        self.assertEqual(15, usage.json['projects'][0]['resources'][
            'cores']['subtree_usage'])

    def test_move_refused_where_usage_would_pass_a_subtree_limit(self):
        self.two_branches()
        self.allocate('vm-1', 'X0', cores=15)
        self.allocate('vm-2', 'Y0', cores=10)
        before = self.counters()
        resp = self.move('X', 'B', status=409)
        error = resp.json['errors'][0]
        self.assertEqual('limits.over_limit', error['code'])
        self.assertEqual([{'project_id': 'B', 'resource': 'cores',
                           'scope': 'subtree', 'limit': 20, 'usage': 10,
                           'delta': 15}], error['blocking'])
        self.assertEqual(before, self.counters())
        project = self.app.get('/v1/projects/X', headers=af.SYSTEM_ADMIN)
        self.assertEqual('A', project.json['project']['parent_id'])

    def test_move_under_a_common_ancestor_over_its_limit_is_allowed(self):
        """root is over its limit after the operator lowered it; a move
        between A and B changes nothing at root, so root does not refuse
        it (B, which grows, has room)."""
        self.two_branches()
        self.allocate('vm-1', 'X0', cores=15)
        root_limit = [lim for lim in self.app.get(
            '/v1/limits?project_id=root',
            headers=af.SYSTEM_ADMIN).json['limits']][0]
        self.app.patch_json('/v1/limits/%s' % root_limit['id'],
                            {'resource_limit': 5}, headers=af.SYSTEM_ADMIN)
        self.move('X', 'B')
        self.assertEqual((0, 15), self.counters()[('B', 'cores')])
        self.assertEqual((0, 15), self.counters()[('root', 'cores')])
        self.assertEqual([], self.drift())

    def test_move_to_the_root_and_back(self):
        self.two_branches()
        self.allocate('vm-1', 'X0', cores=4)
        self.move('X', None)
        counters = self.counters()
        self.assertEqual((0, 0), counters[('A', 'cores')])
        self.assertEqual((0, 0), counters[('root', 'cores')])
        self.assertEqual((0, 4), counters[('X', 'cores')])
        self.move('X', 'A')
        self.assertEqual((0, 4), self.counters()[('root', 'cores')])
        self.assertEqual([], self.drift())

    def test_move_into_its_own_subtree_is_refused(self):
        self.two_branches()
        resp = self.move('A', 'X0', status=409)
        self.assertEqual('limits.project_cycle',
                         resp.json['errors'][0]['code'])

    def test_moving_a_consumer_after_a_lowering_reconcile(self):
        """A reconcile found less in use than the allocations say; the
        consumer that moves away frees only what is really in use, and
        the shared ancestor is decided on that."""
        self.project('R')
        self.project('P', 'R')
        self.project('Q', 'R')
        self.registered_limit('cores', 100)
        self.limit('R', 'cores', 8, scope='subtree')
        self.allocate('c', 'P', cores=8)
        resp = self.app.put_json('/v1/usages/P', {'resources': {'cores': 4}},
                                 headers=af.SYSTEM_ADMIN)
        self.assertEqual({'cores': -4}, resp.json['adjusted'])
        dry = self.app.post_json('/v1/enforce', {
            'project_id': 'Q', 'consumer_id': 'c',
            'resources': {'cores': 12}}, headers=af.SERVICE).json
        self.assertFalse(dry['allowed'])
        self.assertEqual([{'project_id': 'R', 'resource': 'cores',
                           'scope': 'subtree', 'limit': 8, 'usage': 0,
                           'delta': 12}], dry['blocking'])
        resp = self.allocate('c', 'Q', status=409, cores=12)
        self.assertEqual('limits.over_limit', resp.json['errors'][0]['code'])
        self.allocate('c', 'Q', cores=8)
        self.assertEqual((0, 8), self.counters()[('R', 'cores')])
        self.assertEqual([], self.drift())

    def test_the_tree_never_gets_deeper_than_its_bound(self):
        """A chain of MAX_DEPTH projects takes no child, and no subtree
        moves to where it would be deeper; nothing is cut short."""
        parent = None
        for n in range(tree.MAX_DEPTH):
            self.project('d%02d' % n, parent)
            parent = 'd%02d' % n
        resp = self.app.post_json('/v1/projects', {'id': 'deeper',
                                                   'parent_id': parent},
                                  headers=af.SYSTEM_ADMIN, status=409)
        self.assertEqual(('limits.tree_too_deep',
                          'The tree at project "deeper" would be deeper '
                          'than %d levels (or its parents loop).'
                          % tree.MAX_DEPTH),
                         (resp.json['errors'][0]['code'],
                          resp.json['errors'][0]['detail']))
        self.project('top')
        self.project('below', 'top')
        resp = self.move('top', 'd%02d' % (tree.MAX_DEPTH - 2), status=409)
        self.assertEqual('limits.tree_too_deep',
                         resp.json['errors'][0]['code'])
        self.move('top', 'd%02d' % (tree.MAX_DEPTH - 3))
        # Allocations at the deepest level count at every level.
        self.registered_limit('cores', 10)
        self.limit('d00', 'cores', 3, scope='subtree')
        self.allocate('vm-1', 'below', cores=3)
        self.allocate('vm-2', parent, status=409, cores=1)
        self.assertEqual([], self.drift())

    # -- reports --------------------------------------------------------------
    def test_usage_of_one_project_shows_its_subtree_usage(self):
        self.two_branches()
        self.allocate('vm-1', 'X0', cores=6)
        self.allocate('vm-2', 'A', cores=2)
        resp = self.app.get('/v1/projects/A/usage', headers=af.SYSTEM_ADMIN)
        cores = resp.json['projects'][0]['resources']['cores']
        self.assertEqual({'own_limit': 100, 'subtree_limit': 50,
                          'own_usage': 2, 'subtree_usage': 8}, cores)
        # A project with nothing of its own still reports what is below.
        resp = self.app.get('/v1/projects/X/usage', headers=af.SYSTEM_ADMIN)
        self.assertEqual(6, resp.json['projects'][0]['resources']['cores'][
            'subtree_usage'])

    # -- equal limits -----------------------------------------------------
    def test_equal_limits_created_at_once_leave_one(self):
        self.project('p')
        body = {'project_id': 'p', 'service_id': 'nova',
                'resource_name': 'cores', 'resource_limit': 5}

        def create(_):
            app = webtest.TestApp(self.fixture.wsgi)
            resp = app.post_json('/v1/limits', body,
                                 headers=af.SYSTEM_ADMIN, expect_errors=True)
            return resp.status_int, resp.json

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(create, range(8)))
        self.assertEqual(1, [s for s, _ in answers].count(201), answers)
        for status, body in answers:
            if status != 201:
                self.assertEqual(409, status, body)
                self.assertEqual('limits.limit_exists',
                                 body['errors'][0]['code'])
        listed = self.app.get('/v1/limits?project_id=p',
                              headers=af.SYSTEM_ADMIN).json['limits']
        self.assertEqual(1, len(listed))

    def test_database_refuses_an_equal_limit_with_no_region(self):
        self.project('p')
        self.limit('p', 'cores', 5)
        with self.engine.connect() as conn:
            self.assertRaises(sa.exc.IntegrityError, conn.execute, sa.text(
                "INSERT INTO project_limits (id, project_id, service_id, "
                "resource_name, resource_limit, scope) VALUES ('dup', 'p', "
                "'nova', 'cores', 9, 'project')"))

    # -- bounds -----------------------------------------------------------
    def _set_counter(self, project_id, own, subtree):
        with self.engine.begin() as conn:
            conn.execute(sa.text(
                'UPDATE usages SET own_used = :own, subtree_used = :sub '
                "WHERE project_id = :p AND resource_name = 'cores'"),
                {'own': own, 'sub': subtree, 'p': project_id})

    def test_a_counter_never_passes_its_bound(self):
        """Siblings under an unlimited parent; a counter already near the
        bound (as after many large allocations) refuses the next one."""
        self.project('top')
        self.project('s1', 'top')
        self.project('s2', 'top')
        self.registered_limit('cores', -1)
        self.allocate('vm-1', 's1', cores=1)
        self.allocate('vm-2', 's2', cores=1)
        near = quota_tree.MAX_USAGE - 10
        self._set_counter('top', 0, near)
        before = self.counters()
        resp = self.allocate('vm-3', 's2', status=409, cores=2 ** 40)
        error = resp.json['errors'][0]
        self.assertEqual('limits.usage_overflow', error['code'])
        self.assertIn('top', error['detail'])
        self.assertEqual(before, self.counters())
        resp = self.app.put_json('/v1/usages/s1',
                                 {'resources': {'cores': 2 ** 40}},
                                 headers=af.SYSTEM_ADMIN, status=409)
        self.assertEqual('limits.usage_overflow',
                         resp.json['errors'][0]['code'])
        self.assertEqual(before, self.counters())
        # Within the bound it still works.
        self.allocate('vm-3', 's2', cores=5)

    # -- drift: audit and repair ------------------------------------------
    def manage_conf(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'limits.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = '
                    '%s\n' % (tmp, self.fixture.conf.database.connection))
        return path

    def run_command(self, name, *args):
        script = os.path.join(os.path.dirname(sys.executable), name)
        return subprocess.run([script, '--config-file', self.manage_conf()] +
                              list(args), capture_output=True, text=True,
                              timeout=120)

    def test_audit_reports_and_repairs_drift(self):
        self.two_branches()
        self.allocate('vm-1', 'X0', cores=7)
        self.allocate('vm-2', 'Y0', cores=3)
        self._set_counter('A', 0, 2)       # should be 7
        with self.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM usages WHERE project_id = 'B'"))
        result = self.run_command('limits-manage', 'usage', 'audit')
        self.assertEqual(1, result.returncode, result.stdout + result.stderr)
        self.assertIn('A cores: own 0 (should be 0), subtree 2 (should be 7)',
                      result.stdout)
        self.assertIn('B cores: own 0 (should be 0), subtree 0 (should be 3)',
                      result.stdout)
        self.assertIn('2 usage counters differ', result.stdout)
        status = self.run_command('limits-status', 'upgrade', 'check')
        self.assertEqual(1, status.returncode, status.stdout)   # warning
        self.assertIn('usage audit --fix', status.stdout)

        result = self.run_command('limits-manage', 'usage', 'audit', '--fix')
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        self.assertIn('Repaired 2 usage counters.', result.stdout)
        self.assertEqual([], self.drift())
        self.assertEqual((0, 7), self.counters()[('A', 'cores')])
        result = self.run_command('limits-manage', 'usage', 'audit')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('Every usage counter matches', result.stdout)
        status = self.run_command('limits-status', 'upgrade', 'check')
        self.assertEqual(0, status.returncode, status.stdout)
        # Decisions read the repaired counters: A has 50 - 7 left.
        self.allocate('vm-3', 'X0', status=409, cores=44)
        self.allocate('vm-3', 'X0', cores=43)


class TestLedgerHardeningOnSQLite(_Hardening, base.LimitsApiTestCase):
    pass


class TestLedgerHardeningOnPostgreSQL(_Hardening, base.LimitsApiTestCase):

    DRIVER = None

    def setUp(self):
        url = self.useFixture(postgresql.Database(self.DRIVER)).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()


class TestLedgerHardeningOnPsycopg3(TestLedgerHardeningOnPostgreSQL):
    """Through psycopg 3."""

    DRIVER = 'psycopg'
