"""The cost of a PUT's first query and of the purge's read stays flat.

An allocation reads its chain and the limits along it; the engine's purge
reads the expired reservations.  Both must be answered by index look-ups
that touch a handful of rows whatever the number of projects, limits or
allocations: these tests read the plans the databases choose on a
database that has statistics (``ANALYZE``, which ``PRAGMA optimize`` and
autovacuum also take), and check that the purge still frees what it
should when it pages through expired reservations.
"""

import datetime

import sqlalchemy as sa
import testtools

from limits_svc.db import allocations
from limits_svc.db import keystone
from limits_svc.db import limits
from limits_svc.db import models
from limits_svc.db import tree
from limits_svc import quota_tree
from limits_svc import service
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends

NAMES = ['cores', 'disk', 'ram', 'servers']
# A chain of five levels, and many leaves with a limit of their own.
CHAIN = ['root', 'mid', 'low', 'inner', 'leaf']
LEAVES = 3000
MID_ALLOCATIONS = 1500


def _seed(url):
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            projects = [{'id': p, 'parent_id': parent, 'domain_id': 'd'}
                        for p, parent in zip(CHAIN, [None] + CHAIN)]
            projects += [{'id': 'leaf-%05d' % n, 'parent_id': 'inner',
                          'domain_id': 'd'} for n in range(LEAVES)]
            conn.execute(models.Project.__table__.insert(), projects)
            conn.execute(models.RegisteredLimit.__table__.insert(), [
                {'id': 'reg-' + name, 'service_id': 'nova',
                 'resource_name': name, 'default_limit': 1000}
                for name in NAMES])
            limits = [{'id': 'lim-%s-%s' % (p, name), 'project_id': p,
                       'service_id': 'nova', 'resource_name': name,
                       'resource_limit': 500, 'scope': 'subtree'}
                      for p in CHAIN[:3] for name in NAMES]
            limits += [{'id': 'lim-leaf-%05d-%s' % (n, name),
                        'project_id': 'leaf-%05d' % n, 'service_id': 'nova',
                        'resource_name': name, 'resource_limit': 40,
                        'scope': 'project'}
                       for n in range(LEAVES) for name in NAMES[:2]]
            conn.execute(models.ProjectLimit.__table__.insert(), limits)
            tomorrow = allocations.utcnow() + datetime.timedelta(days=1)
            conn.execute(models.Allocation.__table__.insert(), [
                {'consumer_id': 'vm-%05d' % n, 'resource_name': 'cores',
                 'project_id': 'leaf-%05d' % (n % LEAVES), 'amount': 1,
                 'expires_at': tomorrow if n % 10 == 0 else None}
                for n in range(5000)])
            # A project of many allocations (a quarter of them, their
            # consumers among the others'), whose pages are listed.
            conn.execute(models.Allocation.__table__.insert(), [
                {'consumer_id': 'vm-%05d-m' % (3 * n),
                 'resource_name': 'cores', 'project_id': 'mid', 'amount': 1,
                 'expires_at': None}
                for n in range(MID_ALLOCATIONS)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _Plans(backends.Seeded):

    seed = staticmethod(_seed)

    def chain_plan(self, statements):
        return self.plan(statements[self.engine.dialect.name],
                         consumer_id='vm-00001', project_id='leaf',
                         names=NAMES)

    def test_chain_and_limits_are_read_per_level(self):
        for statements in (allocations._HELD_CHAIN_AND_LIMITS,
                           allocations._CHAIN_AND_LIMITS):
            plan = self.chain_plan(statements)
            # No pass over every project limit: no Bloom filter built from
            # the whole table (SQLite), no scan of it (either).
            self.assertNotIn('BLOOM FILTER', plan)
            self.assertNotIn('SCAN project_limits', plan)
            self.assertNotIn('Seq Scan on project_limits', plan)
            self.assertNotIn('Hash', plan)
            self.assertIn('project_limits_project_resource_idx', plan)

    def test_chain_and_limits_answer(self):
        with self.engine.connect() as conn:
            chain, catalog, kept = allocations.chain_and_limits(
                conn, 'leaf', NAMES, quota_tree.NO_LIMIT_DENY)
            conn.rollback()
        self.assertEqual(list(reversed(CHAIN)), chain)
        self.assertEqual([], kept)
        self.assertEqual({(p, name, 'subtree'): 500 for p in CHAIN[:3]
                          for name in NAMES}, catalog.overrides)
        self.assertEqual({name: 1000 for name in NAMES}, catalog.registered)

    def test_a_resync_reads_only_the_kept_projects(self):
        # A resync (under the tree lock that holds off every allocation)
        # reads which projects are marked as kept after they left
        # Keystone: a handful, read through their own partial index, not
        # by a pass over every project.
        plan = self.plan(keystone._MARKED)
        self.assertIn('projects_left_keystone_idx', plan)
        self.assertNotIn('Seq Scan on projects', plan)
        # (SQLite scans the partial index: the marked projects only.)
        self.assertEqual([], [line for line in plan.splitlines()
                              if 'SCAN projects' in line and
                              'projects_left_keystone_idx' not in line])

    def test_purge_reads_only_expired_reservations(self):
        now = allocations.utcnow()
        for first, params in ((True, {}), (False, {
                'after_expiry': now - datetime.timedelta(days=1),
                'after_consumer': 'vm-00000'})):
            plan = self.plan(allocations._EXPIRED[first], now=now,
                             batch=100, **params)
            self.assertIn('allocations_expiring_idx', plan)
            self.assertNotIn('SCAN allocations ', plan + ' ')
            self.assertNotIn('Seq Scan on allocations', plan)

    def test_a_project_page_of_allocations_reads_that_page(self):
        # mid holds 1,500 of 6,500 allocations, leaf-00007 two: either
        # page is read through the project's index in consumer order, not
        # by a walk through every allocation (nor, for mid, by reading all
        # of its allocations to sort them).
        allocation = models.Allocation.__table__
        page = sa.select(allocation.c.consumer_id).distinct().where(
            allocation.c.project_id == sa.bindparam('project_id'),
            allocation.c.consumer_id > sa.bindparam('marker')).order_by(
            allocation.c.consumer_id).limit(sa.bindparam('limit'))
        for project_id, marker in (('mid', ''), ('mid', 'vm-02100-m'),
                                   ('leaf-00007', '')):
            plan = self.plan(page, project_id=project_id, marker=marker,
                             limit=100)
            self.assertIn('allocations_project_consumer_idx', plan)
            self.assertNotIn('SCAN allocations ', plan + ' ')
            self.assertNotIn('Rows Removed by Filter', plan)
            if project_id == 'mid':
                self.assertNotIn('TEMP B-TREE', plan)
                self.assertNotIn('Sort', plan)

    def test_a_run_of_children_reads_that_run(self):
        # A page of a subtree's usage report reads the children it draws
        # (inner has 3,000), in their order, and looks each one's first
        # child up in the index: no scan of the projects, no sort.
        statement = tree.CHILDREN[self.engine.dialect.name]
        for after in ('', 'leaf-01500'):
            plan = self.plan(statement, parent_id='inner', after=after,
                             n=100)
            self.assertIn('projects_children_idx', plan)
            self.assertNotIn('SCAN projects ', plan + ' ')
            self.assertNotIn('SCAN below ', plan + ' ')
            self.assertNotIn('Seq Scan', plan)
            self.assertNotIn('Sort', plan)
            self.assertNotIn('TEMP B-TREE', plan)
        if self.engine.dialect.name == 'postgresql':
            with self.engine.connect() as conn:
                definition = conn.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = "
                    "'projects_children_idx'").scalar()
            self.assertIn('(parent_id, id COLLATE "C")', definition)

    def test_limited_resource_names_are_one_look_up_each(self):
        plan = self.plan(limits._LIMITED_NAMES)
        self.assertIn('project_limits_resource_idx', plan)
        self.assertNotIn('Seq Scan', plan)
        self.assertNotIn('SCAN project_limits ', plan + ' ')
        with self.engine.connect() as conn:
            self.assertEqual(['cores', 'disk', 'ram', 'servers'],
                             sorted(conn.scalars(limits._LIMITED_NAMES)))

    def test_expiring_index_leaves_out_allocations_that_never_expire(self):
        with self.engine.connect() as conn:
            if conn.dialect.name == 'sqlite':
                definition = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = "
                    "'allocations_expiring_idx'").scalar()
            else:
                definition = conn.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = "
                    "'allocations_expiring_idx'").scalar()
        self.assertIn('expires_at IS NOT NULL', definition)


class TestPlansOnSQLite(backends.OnSQLite, _Plans, testtools.TestCase):
    pass


class TestPlansOnPostgreSQL(backends.OnPostgreSQL, _Plans,
                            testtools.TestCase):
    pass


class _Purge(object):
    """The purge pages through expired reservations by (expiry, consumer)
    and frees each consumer whole."""

    def setUp(self):
        super().setUp()
        self.db = backends.migrated_database(self, service.SPEC)
        self.ctx = context.admin_context()
        with self.db.writer.connection.using(self.ctx) as conn:
            conn.execute(models.Project.__table__.insert(), [
                {'id': 'root', 'parent_id': None, 'domain_id': 'd'},
                {'id': 'leaf', 'parent_id': 'root', 'domain_id': 'd'}])
            conn.execute(models.RegisteredLimit.__table__.insert(), [
                {'id': 'reg-' + name, 'service_id': 'nova',
                 'resource_name': name, 'default_limit': 1000}
                for name in NAMES])

    def put(self, consumer_id, expires_at):
        allocations.put_allocation(
            self.db, self.ctx, consumer_id, 'leaf',
            {'cores': 2, 'ram': 3, 'disk': 4}, quota_tree.NO_LIMIT_DENY,
            expires_at=expires_at)

    def usage(self):
        with self.db.reader.connection.using(self.ctx) as conn:
            return {(row.project_id, row.resource_name):
                    (row.own_used, row.subtree_used)
                    for row in conn.execute(sa.select(
                        models.Usage.__table__))}

    def test_a_sweep_in_small_batches_frees_every_expired_consumer(self):
        now = allocations.utcnow()
        # Several consumers expire at one instant, others at other
        # instants; each holds three rows, more than a batch.
        for n in range(7):
            self.put('res-%d' % n, now - datetime.timedelta(
                seconds=60 * (n % 3) + 1))
        self.put('live', now + datetime.timedelta(hours=1))
        self.put('kept', None)
        self.assertEqual(7, allocations.purge_expired(
            self.db, self.ctx, now=now, batch=2))
        listed = allocations.list_allocations(self.db, self.ctx, 100)
        self.assertEqual(['kept', 'live'],
                         [a['consumer_id'] for a in listed])
        self.assertEqual((4, 4), self.usage()[('leaf', 'cores')])
        self.assertEqual((0, 6), self.usage()[('root', 'ram')])
        self.assertEqual(0, allocations.purge_expired(
            self.db, self.ctx, now=now, batch=2))


class TestPurgeOnSQLite(backends.OnSQLite, _Purge, testtools.TestCase):
    pass


class TestPurgeOnPostgreSQL(backends.OnPostgreSQL, _Purge,
                            testtools.TestCase):
    pass
