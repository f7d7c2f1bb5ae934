"""A resync from Keystone writes what changed, and only that.

``limits-engine`` resyncs after every project change Keystone announces,
under the exclusive tree lock that holds off every allocation; these tests
drive :func:`limits_svc.db.keystone.replace_from_keystone` on SQLite and
PostgreSQL with a snapshot as :mod:`limits_svc.keystone_sync` makes it:
new, changed and vanished projects and limits, a vanished project that
still holds allocations, the subtree counters of the new shape, and a
resync of an unchanged Keystone that writes no row at all.
"""

import datetime
import threading
import urllib.parse

import fixtures
import hypothesis
from hypothesis import strategies as st
import sqlalchemy as sa
import testtools

from limits_svc.cmd import sync as sync_command
from limits_svc.db import allocations
from limits_svc.db import audit
from limits_svc.db import keystone
from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.db import usages
from limits_svc import keystone_engine
from limits_svc import keystone_sync
from limits_svc import quota_tree
from limits_svc import service
from svc_common import config
from svc_common import context
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import backends
from svc_common.tests.fixtures import races

LONG_AGO = datetime.datetime(2020, 1, 2, 3, 4, 5)


def _project(project_id, parent_id=None, name=None):
    # As Keystone lists it: a top-level project's parent is its domain.
    return {'id': project_id, 'name': name or project_id,
            'parent_id': parent_id or 'default', 'domain_id': 'default'}


def _limit(limit_id, project_id, amount, description=None):
    return {'id': limit_id, 'project_id': project_id, 'service_id': 'nova',
            'resource_name': 'cores', 'resource_limit': amount,
            'description': description}


REGISTERED = [{'id': 'reg-cores', 'service_id': 'nova',
               'resource_name': 'cores', 'default_limit': 100}]


class _Resync(object):

    def setUp(self):
        super().setUp()
        self.db = backends.migrated_database(self, service.SPEC)
        self.ctx = context.admin_context()
        self.projects = [_project('top'), _project('mid', 'top'),
                         _project('leaf', 'mid'), _project('other')]
        self.limits = [_limit('lim-top', 'top', 10, 'tree [subtree]'),
                       _limit('lim-leaf', 'leaf', 6)]
        self.resync()

    def resync(self):
        return keystone.replace_from_keystone(
            self.db, self.ctx, keystone_sync.snapshot(
                self.projects, REGISTERED, self.limits))

    def rows(self, table, *columns):
        with self.db.reader.connection.using(self.ctx) as conn:
            return sorted(tuple(row) for row in conn.execute(sa.select(
                *[table.c[name] for name in columns])))

    def tree(self):
        return self.rows(models.Project.__table__, 'id', 'parent_id', 'name')

    def usage(self):
        return {(p, name): (own, sub) for p, name, own, sub in self.rows(
            models.Usage.__table__, 'project_id', 'resource_name',
            'own_used', 'subtree_used')}

    def allocate(self, consumer_id, project_id, cores):
        allocations.put_allocation(
            self.db, self.ctx, consumer_id, project_id, {'cores': cores},
            quota_tree.NO_LIMIT_DENY)

    def test_first_sync_copies_the_tree_and_the_limits(self):
        self.assertEqual([('leaf', 'mid', 'leaf'), ('mid', 'top', 'mid'),
                          ('other', None, 'other'), ('top', None, 'top')],
                         self.tree())
        self.assertEqual(
            [('lim-leaf', 'leaf', 6, 'project'),
             ('lim-top', 'top', 10, 'subtree')],
            self.rows(models.ProjectLimit.__table__, 'id', 'project_id',
                      'resource_limit', 'scope'))

    def test_changes_are_applied(self):
        self.projects = [_project('top', name='renamed'),
                         _project('mid', 'other'), _project('leaf', 'mid'),
                         _project('other'), _project('new', 'top')]
        self.limits = [_limit('lim-top', 'top', 12, 'tree [subtree]'),
                       _limit('lim-new', 'new', 3)]
        self.assertEqual({'projects': 5, 'registered_limits': 1,
                          'limits': 2}, self.resync())
        self.assertEqual([('leaf', 'mid', 'leaf'), ('mid', 'other', 'mid'),
                          ('new', 'top', 'new'), ('other', None, 'other'),
                          ('top', None, 'renamed')], self.tree())
        self.assertEqual(
            [('lim-new', 'new', 3, 'project'),
             ('lim-top', 'top', 12, 'subtree')],
            self.rows(models.ProjectLimit.__table__, 'id', 'project_id',
                      'resource_limit', 'scope'))

    def test_a_vanished_project_with_allocations_stays(self):
        self.allocate('vm-1', 'other', 2)
        self.projects = [_project('top'), _project('mid', 'top')]
        self.resync()
        self.assertEqual([('mid', 'top', 'mid'), ('other', None, 'other'),
                          ('top', None, 'top')], self.tree())

    def test_a_kept_project_whose_parent_is_gone_is_shown_as_a_root(self):
        """Keystone deletes leaf (kept: it holds allocations), below it
        kept (holds one too) and mid above it.  The ledger counts leaf
        as a root, as its usage report says; ``GET /v1/projects/leaf``
        said its parent was mid, a project that ``GET /v1/projects/mid``
        answers 404 for, and ``?parent_id=mid`` listed leaf."""
        self.projects.append(_project('kept', 'leaf'))
        self.resync()
        self.allocate('vm-1', 'leaf', 2)
        self.allocate('vm-2', 'kept', 1)
        self.projects = [_project('top'), _project('other')]
        self.resync()
        api = self.useFixture(af.ServiceApp(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone',
            ('database', 'connection'): self.db.url})).app
        reader = af.SYSTEM_READER

        def shown(project_id):
            return api.get('/v1/projects/%s' % project_id,
                           headers=reader).json['project']['parent_id']
        report = api.get('/v1/projects/top/usage?subtree=true',
                         headers=reader).json
        self.assertEqual(['top'], [p['project_id']
                                   for p in report['projects']])
        report = api.get('/v1/projects/leaf/usage?subtree=true',
                         headers=reader).json
        self.assertEqual([('leaf', None, 3), ('kept', 'leaf', 1)], [
            (p['project_id'], p['parent_id'],
             p['resources']['cores']['subtree_usage'])
            for p in report['projects']])
        self.assertEqual((None, 'leaf'), (shown('leaf'), shown('kept')))
        api.get('/v1/projects/mid', headers=reader, status=404)
        self.assertEqual([], api.get('/v1/projects?parent_id=mid',
                                     headers=reader).json['projects'])
        self.assertEqual([], audit.audit(self.db, self.ctx))

    def put(self, consumer_id, project_id, cores, expires_in=None):
        return allocations.put_allocation(
            self.db, self.ctx, consumer_id, project_id, {'cores': cores},
            quota_tree.NO_LIMIT_DENY, expires_in=expires_in)

    def assert_project_deleted(self, project_id, call, *args, **kwargs):
        exc = self.assertRaises(allocations.ProjectDeleted, call, *args,
                                **kwargs)
        self.assertEqual((409, 'project_deleted'), (exc.status, exc.code))
        self.assertIn('Project %s was deleted in Keystone' % project_id,
                      exc.detail)
        self.assertIn('can only be reduced, moved to another project or '
                      'deleted', exc.detail)

    def test_growth_in_a_project_gone_from_keystone_is_refused(self):
        """Keystone deletes leaf, and its limit of 6 cores with it, while
        leaf holds allocations: the resync keeps leaf until they are
        freed.  An allocation that grew there was taken with leaf's
        limit gone (8 cores in a project of 6); now every growth is
        refused, 409 limits.project_deleted, nothing written, and the
        dry run says so too.  A shrink, a confirmation of a reservation,
        a move out and a free go on, and once leaf holds nothing the
        next resync removes it."""
        self.put('vm-1', 'leaf', 4)
        self.put('vm-2', 'leaf', 2, expires_in=600)
        self.put('vm-3', 'other', 1)
        self.projects = [p for p in self.projects if p['id'] != 'leaf']
        self.limits = [lim for lim in self.limits if lim['id'] != 'lim-leaf']
        self.resync()
        self.assertIn(('leaf', 'mid', 'leaf'), self.tree())
        counters = self.usage()
        for consumer_id, project_id, cores, expires_in in (
                ('vm-1', 'leaf', 6, None),      # grows
                ('vm-new', 'leaf', 1, None),    # a new consumer
                ('vm-new', 'leaf', 1, 60),      # a new reservation
                ('vm-2', 'leaf', 3, 600),       # a reservation grows
                ('vm-3', 'leaf', 1, None)):     # moves in
            self.assert_project_deleted(
                'leaf', self.put, consumer_id, project_id, cores,
                expires_in=expires_in)
            self.assert_project_deleted(
                'leaf', allocations.decide, self.db, self.ctx, consumer_id,
                project_id, {'cores': cores}, quota_tree.NO_LIMIT_DENY)
        self.assertEqual(counters, self.usage())
        self.assertRaises(allocations.AllocationNotFound,
                          allocations.get_allocation, self.db, self.ctx,
                          'vm-new')
        self.assertEqual({'cores': 1}, allocations.get_allocation(
            self.db, self.ctx, 'vm-3')['resources'])
        # Giving back goes on.
        self.assertTrue(allocations.decide(
            self.db, self.ctx, 'vm-1', 'leaf', {'cores': 3},
            quota_tree.NO_LIMIT_DENY).allowed)
        self.put('vm-1', 'leaf', 3)                 # shrinks
        self.put('vm-2', 'leaf', 2)                 # confirmed, as it was
        self.put('vm-1', 'other', 3)                # moves out
        allocations.delete_allocation(self.db, self.ctx, 'vm-2')
        self.assertEqual((0, 0), self.usage()[('leaf', 'cores')])
        self.assertEqual([], audit.audit(self.db, self.ctx))
        self.resync()
        self.assertNotIn('leaf', [row[0] for row in self.tree()])

    def test_growth_below_a_detached_project_is_refused(self):
        """Keystone deletes top, mid and leaf, and their limits; mid and
        leaf below it hold allocations: both are kept, mid detached as a
        root, with no limit of theirs left (the registered default
        aside).  Growth is refused in either, also once mid is freed and
        gone and leaf is a root of its own."""
        self.put('vm-1', 'leaf', 2)
        self.put('vm-2', 'mid', 2)
        self.projects = [_project('other')]
        self.limits = []
        self.resync()
        self.assertEqual([('leaf', 'mid', 'leaf'), ('mid', None, 'mid'),
                          ('other', None, 'other')], self.tree())
        self.assert_project_deleted('leaf', self.put, 'vm-1', 'leaf', 20)
        self.assert_project_deleted('mid', self.put, 'vm-2', 'mid', 20)
        self.assert_project_deleted('leaf', self.put, 'vm-2', 'leaf', 1)
        allocations.delete_allocation(self.db, self.ctx, 'vm-2')
        self.put('vm-1', 'leaf', 1)
        # Only leaf holds allocations now: mid goes, leaf stays.
        self.resync()
        self.assertEqual([('leaf', None, 'leaf'), ('other', None, 'other')],
                         self.tree())
        self.assert_project_deleted('leaf', self.put, 'vm-1', 'leaf', 2)
        self.assertEqual({'cores': 1}, allocations.get_allocation(
            self.db, self.ctx, 'vm-1')['resources'])

    def test_local_mode_takes_no_mark_from_keystone(self):
        """A database once synced from Keystone, served in local mode
        (the operator now manages the tree through the API): the marks
        of the projects kept after they left Keystone are not the local
        tree's, and their allocations grow as in any local project,
        under the limits the operator sets (they were refused, 409
        limits.project_deleted, for good).  In keystone mode the same
        database refuses."""
        self.put('vm-1', 'leaf', 2)
        self.projects = [_project('top'), _project('mid', 'top'),
                         _project('other')]
        self.limits = [self.limits[0]]
        self.resync()
        body = {'project_id': 'leaf', 'resources': {'cores': 3}}
        apps = {mode: self.useFixture(af.ServiceApp(service.SPEC, overrides={
            ('limits', 'mode'): mode,
            ('database', 'connection'): self.db.url})).app
            for mode in ('keystone', 'local')}
        for path in ('/v1/enforce', '/v1/allocations/vm-1'):
            send = (apps['keystone'].post_json if path == '/v1/enforce'
                    else apps['keystone'].put_json)
            self.assertEqual('limits.project_deleted', send(
                path, body, headers=af.SERVICE,
                status=409).json['errors'][0]['code'])
        self.assertTrue(apps['local'].post_json(
            '/v1/enforce', body, headers=af.SERVICE).json['allowed'])
        self.assertEqual({'cores': 3}, apps['local'].put_json(
            '/v1/allocations/vm-1', body,
            headers=af.SERVICE).json['allocation']['resources'])

    def test_a_project_back_in_keystone_grows_again(self):
        """A kept project that Keystone has again (a restore of its
        database, a sync that read an inconsistent list) is Keystone's
        again: its allocations grow under its limits as before."""
        self.put('vm-1', 'leaf', 2)
        self.projects = [_project('top'), _project('mid', 'top'),
                         _project('other')]
        self.limits = [self.limits[0]]
        self.resync()
        self.assert_project_deleted('leaf', self.put, 'vm-1', 'leaf', 3)
        self.projects.append(_project('leaf', 'mid'))
        self.limits.append(_limit('lim-leaf', 'leaf', 6))
        self.resync()
        self.put('vm-1', 'leaf', 6)
        self.assertRaises(usages.OverLimit, self.put, 'vm-1', 'leaf', 7)

    def test_an_expired_reservation_in_a_kept_project_stays_expired(self):
        """leaf, gone from Keystone, holds only a reservation that
        expired (the sweep has not freed it yet).  It is no allocation
        any more (``If-Match: *`` finds none): a PUT of its amounts, or
        of less, made it live again, for good without an expiry, in a
        project with no limit left (accepted before), and the sweep no
        longer freed it.  Now it is refused like any growth, the dry run
        too; the sweep frees it and the next resync removes leaf."""
        past = allocations.utcnow() - datetime.timedelta(hours=1)
        allocations.put_allocation(
            self.db, self.ctx, 'vm-1', 'leaf', {'cores': 4},
            quota_tree.NO_LIMIT_DENY, expires_at=past)
        self.projects = [p for p in self.projects if p['id'] != 'leaf']
        self.limits = [lim for lim in self.limits if lim['id'] != 'lim-leaf']
        self.resync()
        self.assertIn(('leaf', 'mid', 'leaf'), self.tree())
        for cores, expires_in in ((4, None), (4, 600), (1, None)):
            self.assert_project_deleted('leaf', self.put, 'vm-1', 'leaf',
                                        cores, expires_in=expires_in)
            self.assert_project_deleted(
                'leaf', allocations.decide, self.db, self.ctx, 'vm-1',
                'leaf', {'cores': cores}, quota_tree.NO_LIMIT_DENY)
        self.assertEqual(past, allocations.get_allocation(
            self.db, self.ctx, 'vm-1')['expires_at'])
        self.assertEqual(1, allocations.purge_expired(self.db, self.ctx))
        self.assertEqual((0, 0), self.usage()[('leaf', 'cores')])
        self.resync()
        self.assertNotIn('leaf', [row[0] for row in self.tree()])

    def test_reconciliation_only_lowers_a_kept_project(self):
        """Keystone deletes leaf while it holds 4 cores: ``PUT
        /v1/usages/leaf`` (a service's outside count) raised its usage
        (to 9, and 3 of a resource it did not hold), with no limit left
        there, and counted it in mid and top.  Now a reconciliation
        that raises any resource there is refused, 409
        limits.project_deleted, nothing written; one that only lowers
        goes on.  In local mode the same database takes both."""
        self.put('vm-1', 'leaf', 4)
        self.projects = [p for p in self.projects if p['id'] != 'leaf']
        self.limits = [lim for lim in self.limits if lim['id'] != 'lim-leaf']
        self.resync()
        counters = self.usage()
        for actual in ({'cores': 9}, {'cores': 2, 'ram': 3}):
            exc = self.assertRaises(
                allocations.ProjectDeleted, usages.reconcile_usage, self.db,
                self.ctx, 'leaf', actual)
            self.assertEqual((409, 'project_deleted'), (exc.status, exc.code))
            self.assertEqual(
                'Project leaf was deleted in Keystone and is kept only '
                'until the allocations below it are freed: its usage can '
                'only be lowered, not raised.', exc.detail)
        self.assertEqual(counters, self.usage())
        apps = {mode: self.useFixture(af.ServiceApp(service.SPEC, overrides={
            ('limits', 'mode'): mode,
            ('database', 'connection'): self.db.url})).app
            for mode in ('keystone', 'local')}
        self.assertEqual('limits.project_deleted', apps['keystone'].put_json(
            '/v1/usages/leaf', {'resources': {'cores': 5}},
            headers=af.SERVICE, status=409).json['errors'][0]['code'])
        self.assertEqual(counters, self.usage())
        self.assertEqual({'cores': -3}, apps['keystone'].put_json(
            '/v1/usages/leaf', {'resources': {'cores': 1}},
            headers=af.SERVICE).json['adjusted'])
        self.assertEqual((1, 1), self.usage()[('leaf', 'cores')])
        self.assertEqual((0, 1), self.usage()[('top', 'cores')])
        self.assertEqual({'cores': 5}, apps['local'].put_json(
            '/v1/usages/leaf', {'resources': {'cores': 6}},
            headers=af.SERVICE).json['adjusted'])
        self.assertEqual([], audit.audit(self.db, self.ctx))

    def test_counters_of_projects_gone_from_keystone_go_with_them(self):
        """Keystone deletes leaf (kept: it holds an allocation) and mid
        above it: mid's counters go with mid, as a local delete takes
        them.  They stayed, still counting leaf's allocation in mid's
        subtree, a drift every usage audit reported."""
        self.allocate('vm-1', 'leaf', 2)
        usages.reconcile_usage(self.db, self.ctx, 'other', {'cores': 4})
        self.projects = [_project('top')]
        self.limits = []
        self.resync()
        self.assertEqual([('leaf', None, 'leaf'), ('top', None, 'top')],
                         self.tree())
        self.assertEqual({('leaf', 'cores'): (2, 2),
                          ('top', 'cores'): (0, 0)}, self.usage())
        self.assertEqual([], audit.audit(self.db, self.ctx))
        # Back in Keystone, other starts again from nothing.
        self.projects.append(_project('other'))
        self.resync()
        self.allocate('vm-2', 'other', 1)
        self.assertEqual((1, 1), self.usage()[('other', 'cores')])
        self.assertEqual([], audit.audit(self.db, self.ctx))

    def test_a_sync_from_answers_keystone_never_gives_is_refused(self):
        """``limits-manage sync`` against lists with an item limits_svc
        cannot use (here a limit of 7.5, then -5) exits 1 naming it and
        writes nothing: the limit stayed 6 (it was kept as 7.5 on SQLite
        and 8 on PostgreSQL, and -5 counted as no limit)."""
        conf = config.build_conf(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone',
            ('database', 'connection'): self.database_url()})
        before = self.rows(models.ProjectLimit.__table__, 'id',
                           'resource_limit')
        for amount in (7.5, -5):
            answer = (self.projects, REGISTERED,
                      [_limit('lim-leaf', 'leaf', amount)])
            self.useFixture(fixtures.MockPatch(
                'limits_svc.clients.keystone.fetch', return_value=answer))
            stderr = self.useFixture(fixtures.StringStream('stderr'))
            self.useFixture(fixtures.MonkeyPatch('sys.stderr',
                                                 stderr.stream))
            self.assertEqual(1, sync_command._sync(service.SPEC, conf))
            said = stderr.getDetails()['stderr'].as_text()
            self.assertIn('limits[0] (id lim-leaf)', said)
            self.assertIn('resource_limit %s' % amount, said)
            self.assertEqual(before, self.rows(
                models.ProjectLimit.__table__, 'id', 'resource_limit'))

    def test_a_sync_of_projects_whose_parents_loop_is_refused(self):
        """``limits-manage sync`` against a project list whose parents
        loop, or with two limits of one resource for one project, exits
        1 naming the item and writes nothing (the loop was a
        ProjectTreeCycle traceback, the limits a DBDuplicateEntry one)."""
        with self.db.reader.connection.using(self.ctx) as conn:
            url = conn.engine.url.render_as_string(hide_password=False)
        conf = config.build_conf(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone', ('database', 'connection'): url})
        self.allocate('vm-1', 'leaf', 2)
        before = (self.tree(), self.usage(), self.rows(
            models.ProjectLimit.__table__, 'id', 'resource_limit'))
        looping = [_project('top', 'leaf'), _project('mid', 'top'),
                   _project('leaf', 'mid'), _project('other')]
        twice = self.limits + [_limit('lim-leaf-2', 'leaf', 1)]
        for answer, said in (
                ((looping, REGISTERED, self.limits),
                 'projects[0] (id top) that limits_svc cannot use: its '
                 'parents loop: top -> leaf -> mid -> top'),
                ((self.projects, REGISTERED, twice),
                 'limits[2] (id lim-leaf-2) that limits_svc cannot use: '
                 'it has the same project')):
            self.useFixture(fixtures.MockPatch(
                'limits_svc.clients.keystone.fetch', return_value=answer))
            stderr = self.useFixture(fixtures.StringStream('stderr'))
            self.useFixture(fixtures.MonkeyPatch('sys.stderr',
                                                 stderr.stream))
            self.assertEqual(1, sync_command._sync(service.SPEC, conf))
            self.assertIn(said, stderr.getDetails()['stderr'].as_text())
            self.assertEqual(before, (self.tree(), self.usage(), self.rows(
                models.ProjectLimit.__table__, 'id', 'resource_limit')))
        self.assertEqual([], audit.audit(self.db, self.ctx))

    def test_a_sync_of_a_tree_deeper_than_the_service_keeps_is_refused(self):
        """``limits-manage sync`` against a Keystone whose tree would
        hang a project with allocations 65 levels deep (one more than
        :data:`tree.MAX_DEPTH`) exits 1 naming the first project too deep
        and writes nothing.  It was synced, and the allocation could no
        longer be freed (409 limits.tree_too_deep) nor swept when it was
        a reservation: the sweep stopped there, every time, and freed no
        reservation that expired after it.  A tree of 64 levels is
        synced, and allocations at its deepest level are made and freed."""
        with self.db.reader.connection.using(self.ctx) as conn:
            url = conn.engine.url.render_as_string(hide_password=False)
        conf = config.build_conf(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone', ('database', 'connection'): url})
        # leaf is the third level: d1 is the fourth, d61 the 64th.
        chain = [_project('d1', 'leaf')] + [
            _project('d%d' % level, 'd%d' % (level - 1))
            for level in range(2, 63)]
        self.projects += chain[:-1]
        self.resync()
        self.allocate('vm-1', 'd61', 2)
        before = (self.tree(), self.usage())
        answer = (self.projects + chain[-1:], REGISTERED, self.limits)
        self.useFixture(fixtures.MockPatch(
            'limits_svc.clients.keystone.fetch', return_value=answer))
        stderr = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr.stream))
        self.assertEqual(1, sync_command._sync(service.SPEC, conf))
        self.assertIn('projects[65] (id d62) that limits_svc cannot use: '
                      'it is 65 levels deep (its parents included); '
                      'limits_svc keeps trees of at most 64 levels',
                      stderr.getDetails()['stderr'].as_text())
        self.assertEqual(before, (self.tree(), self.usage()))
        allocations.delete_allocation(self.db, self.ctx, 'vm-1')
        self.assertEqual((0, 0), self.usage()[('top', 'cores')])
        self.assertEqual([], audit.audit(self.db, self.ctx))

    def test_allocations_of_a_kept_project_below_the_64th_level_go(self):
        """A project that left Keystone is kept while it holds
        allocations, where it hung; Keystone may meanwhile move its
        parent down to the 64th level, and the kept project hangs below
        it.  Its allocations are still freed, by a DELETE and by the
        sweep when they are reservations that expired: both were refused
        with 409 limits.tree_too_deep, and the sweep stopped there every
        time, freeing no reservation that expired after it."""
        # leaf is the third level: d1 is the fourth, d60 the 63rd.
        chain = [_project('d1', 'leaf')] + [
            _project('d%d' % level, 'd%d' % (level - 1))
            for level in range(2, 61)]
        self.projects += chain + [_project('gone', 'd60')]
        self.resync()
        for consumer_id, expires_in in (('vm-deep', 1), ('vm-deep-2', 1),
                                        ('vm-kept', None)):
            allocations.put_allocation(
                self.db, self.ctx, consumer_id, 'gone', {'cores': 1},
                quota_tree.NO_LIMIT_DENY, expires_in=expires_in)
        allocations.put_allocation(
            self.db, self.ctx, 'vm-top', 'top', {'cores': 1},
            quota_tree.NO_LIMIT_DENY, expires_in=60)
        # gone leaves Keystone; top moves under a new root, one level
        # down: d60 is the 64th level, gone (kept) the 65th.
        self.projects = ([_project('new-root'), _project('top', 'new-root')] +
                         self.projects[1:-1])
        self.resync()
        self.assertIn(('gone', 'd60', 'gone'), self.tree())
        self.assertEqual((0, 4), self.usage()[('new-root', 'cores')])
        tomorrow = allocations.utcnow() + datetime.timedelta(days=1)
        self.assertEqual(3, allocations.purge_expired(
            self.db, self.ctx, now=tomorrow, batch=2))
        allocations.delete_allocation(self.db, self.ctx, 'vm-kept')
        for consumer_id in ('vm-deep', 'vm-deep-2', 'vm-top', 'vm-kept'):
            self.assertRaises(allocations.AllocationNotFound,
                              allocations.get_allocation, self.db, self.ctx,
                              consumer_id)
        self.assertEqual((0, 0), self.usage()[('new-root', 'cores')])
        self.assertEqual([], audit.audit(self.db, self.ctx))

    def test_usage_reports_reach_a_kept_project_below_the_64th_level(self):
        """The usage report of a project kept below the 64th level (as
        above), and of every project above it: its own report was 409
        limits.tree_too_deep (its chain was walked, to check that it
        exists), and so was the report of the top of the tree (Nova's
        quota show of the kept project too) once a page reached it."""
        chain = [_project('d1', 'leaf')] + [
            _project('d%d' % level, 'd%d' % (level - 1))
            for level in range(2, 61)]
        self.projects += chain + [_project('gone', 'd60')]
        self.resync()
        self.allocate('vm-kept', 'gone', 2)
        self.projects = ([_project('new-root'), _project('top', 'new-root')] +
                         self.projects[1:-1])
        self.resync()
        api = self.useFixture(af.ServiceApp(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone',
            ('database', 'connection'): self.db.url})).app

        def report(project_id, **query):
            return api.get('/v1/projects/%s/usage' % project_id, query,
                           headers=af.SYSTEM_READER).json
        [own] = report('gone')['projects']
        self.assertEqual((0, 2), (own['depth'],
                                  own['resources']['cores']['own_usage']))
        # new-root, top, mid, leaf, d1 ... d60, gone: 65 projects.
        first = report('new-root', subtree='true', limit='65')
        self.assertEqual(('gone', 'd60', 64, 2), tuple(
            first['projects'][-1][key] for key in (
                'project_id', 'parent_id', 'depth')) + (
            first['projects'][-1]['resources']['cores']['own_usage'],))
        self.assertEqual(2, first['projects'][0]['resources']['cores'][
            'subtree_usage'])
        [link] = first['links']
        # The path from new-root down to gone, 65 ids.
        marker = urllib.parse.parse_qs(urllib.parse.urlsplit(
            link['href']).query)['marker'][0]
        self.assertEqual(['new-root', 'top', 'mid', 'leaf', 'd1'],
                         marker.split('/')[:5])
        self.assertEqual(['d60', 'gone'], marker.split('/')[63:])
        for after in (marker, 'gone'):
            self.assertEqual([], report('new-root', subtree='true',
                                        limit='65',
                                        marker=after)['projects'])
        self.assertEqual(65, len(report('new-root',
                                        subtree='true')['projects']))

    def test_usage_report_pages_past_a_keystone_id(self):
        """Keystone's project ids are not checked as the API's are: the
        next link of a page that ended at one out of the API's ID
        characters named the path to it (top/proj two), which the API
        refused (400 limits.invalid_input): openstack quota tree show
        failed. A path takes the ids an id marker takes."""
        self.projects += [_project('proj two', 'top'),
                          _project('zed', 'top')]
        self.resync()
        api = self.useFixture(af.ServiceApp(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone',
            ('database', 'connection'): self.db.url})).app
        first = api.get('/v1/projects/top/usage?subtree=true&limit=4',
                        headers=af.SYSTEM_READER).json
        self.assertEqual(['top', 'mid', 'leaf', 'proj two'],
                         [level['project_id'] for level in first['projects']])
        [link] = first['links']
        rest = api.get(link['href'], headers=af.SYSTEM_READER,
                       expect_errors=True)
        self.assertEqual((200, ['zed']), (rest.status_int, [
            level['project_id'] for level in rest.json.get('projects', [])]),
            rest.json)

    def test_a_sweep_goes_on_past_a_reservation_it_cannot_free(self):
        """Whatever makes the ledger refuse to free an expired
        reservation (here parents that loop, written behind the
        service's back), the sweep logs it, naming the consumer, and
        frees the others: it stopped at the first such reservation, every
        time."""
        logs = self.useFixture(fixtures.FakeLogger(
            name='limits_svc.db.allocations'))
        self.projects += [_project('loop-a'), _project('loop-b', 'loop-a')]
        self.resync()
        for consumer_id, project_id, expires_in in (
                ('vm-loop', 'loop-b', 1), ('vm-top', 'top', 60)):
            allocations.put_allocation(
                self.db, self.ctx, consumer_id, project_id, {'cores': 1},
                quota_tree.NO_LIMIT_DENY, expires_in=expires_in)
        projects = models.Project.__table__
        with self.db.writer.connection.using(self.ctx) as conn:
            conn.execute(projects.update().where(
                projects.c.id == 'loop-a').values(parent_id='loop-b'))
        tomorrow = allocations.utcnow() + datetime.timedelta(days=1)
        self.assertEqual(1, allocations.purge_expired(
            self.db, self.ctx, now=tomorrow))
        self.assertRaises(allocations.AllocationNotFound,
                          allocations.get_allocation, self.db, self.ctx,
                          'vm-top')
        allocations.get_allocation(self.db, self.ctx, 'vm-loop')
        self.assertIn('consumer vm-loop (tree_too_deep)', logs.output)

    def test_subtree_counters_follow_the_new_shape(self):
        self.allocate('vm-1', 'leaf', 2)
        self.allocate('vm-2', 'mid', 3)
        self.assertEqual((0, 5), self.usage()[('top', 'cores')])
        # mid (and leaf below it) move under other, as Keystone may do.
        self.projects[1] = _project('mid', 'other')
        self.resync()
        usage = self.usage()
        self.assertEqual((0, 0), usage[('top', 'cores')])
        self.assertEqual((0, 5), usage[('other', 'cores')])
        self.assertEqual((3, 5), usage[('mid', 'cores')])
        self.assertEqual((2, 2), usage[('leaf', 'cores')])

    def test_an_unchanged_keystone_writes_no_row(self):
        self.allocate('vm-1', 'leaf', 2)
        with self.db.writer.connection.using(self.ctx) as conn:
            for model in (models.Project, models.RegisteredLimit,
                          models.ProjectLimit):
                conn.execute(model.__table__.update().values(
                    created_at=LONG_AGO))
        writes = []

        def count_writes(conn, cursor, statement, *args):
            if statement.lstrip().split(None, 1)[0].upper() in (
                    'INSERT', 'UPDATE', 'DELETE'):
                writes.append(statement)

        engine = self.db.writer.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', count_writes)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute',
                        count_writes)
        before = self.usage()
        self.resync()
        self.assertEqual([], writes)
        self.assertEqual(before, self.usage())
        # Every row is the one there was: a limit keeps its creation time.
        for model in (models.Project, models.RegisteredLimit,
                      models.ProjectLimit):
            self.assertEqual({LONG_AGO}, {row[0] for row in self.rows(
                model.__table__, 'created_at')})


class TestResyncOnSQLite(backends.OnSQLite, _Resync, testtools.TestCase):
    pass


class TestResyncOnPostgreSQL(backends.OnPostgreSQL, _Resync,
                             testtools.TestCase):
    pass


class TestResyncDuringAllocations(backends.OnPostgreSQL, testtools.TestCase):
    """``limits-engine`` resyncs (moves, a project gone from Keystone and
    back, limits changed) while allocations come and go, on PostgreSQL
    where they really run side by side: every answer is an allocation,
    an over-limit refusal or a missing project, and afterwards the
    counters equal what the allocation rows say (the usage audit finds
    no drift)."""

    SHAPES = (
        [_project('top'), _project('mid', 'top'), _project('leaf', 'mid'),
         _project('other')],
        # mid and leaf move under other.
        [_project('top'), _project('mid', 'other'), _project('leaf', 'mid'),
         _project('other')],
        # leaf leaves Keystone (kept while it holds allocations), then
        # comes back under top.
        [_project('top'), _project('mid', 'top'), _project('other')],
        [_project('top'), _project('mid', 'top'), _project('leaf', 'top'),
         _project('other')],
    )

    def test_counters_stay_equal_to_the_allocations(self):
        db = backends.migrated_database(self, service.SPEC)
        ctx = context.admin_context()
        stop = threading.Event()
        unexpected = []

        def resync(n):
            keystone.replace_from_keystone(db, ctx, keystone_sync.snapshot(
                self.SHAPES[n % len(self.SHAPES)], REGISTERED,
                [_limit('lim-top', 'top', 30 + n % 7, 'tree [subtree]'),
                 _limit('lim-mid', 'mid', 12, 'mid [subtree]')]))

        def allocate(worker):
            n = 0
            while not stop.is_set():
                n += 1
                consumer = 'vm-%d-%d' % (worker, n % 5)
                project_id = ('leaf', 'mid', 'other')[(worker + n) % 3]
                try:
                    if n % 4 == 0:
                        allocations.delete_allocation(db, ctx, consumer)
                    else:
                        allocations.put_allocation(
                            db, ctx, consumer, project_id,
                            {'cores': 1 + n % 3}, quota_tree.NO_LIMIT_DENY)
                except (usages.OverLimit, tree.ProjectNotFound,
                        allocations.AllocationNotFound,
                        allocations.ProjectDeleted):
                    pass
                except Exception as exc:  # what the test is looking for
                    unexpected.append(repr(exc))

        resync(0)
        workers = [threading.Thread(target=allocate, args=(w,))
                   for w in range(4)]
        for worker in workers:
            worker.start()
        try:
            for n in range(1, 25):
                resync(n)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        self.assertEqual([], unexpected)
        self.assertEqual([], audit.audit(db, ctx))


class TestNoGrowthWhileKept(backends.OnPostgreSQL, testtools.TestCase):
    """Resyncs while allocations grow, shrink, move and go, on
    PostgreSQL where they really run side by side: leaf leaves Keystone
    (with its limit), stays gone for a few resyncs, comes back, and
    again.  While it is kept, what it holds only ever goes down (before,
    the workers went on growing it, and moving consumers into it, with
    its limit gone)."""

    # leaf is gone from the second shape to the fourth.
    SHAPES = (
        [_project('top'), _project('mid', 'top'), _project('leaf', 'mid'),
         _project('other')],
        [_project('top'), _project('mid', 'top'), _project('other')],
        [_project('top'), _project('mid', 'other'), _project('other')],
        [_project('top'), _project('mid', 'top'), _project('other')],
    )

    def held(self, db, ctx):
        allocation = models.Allocation.__table__
        with db.reader.connection.using(ctx) as conn:
            return dict(conn.execute(sa.select(
                allocation.c.project_id, sa.func.sum(allocation.c.amount))
                .group_by(allocation.c.project_id)).all())

    def test_what_a_kept_project_holds_only_goes_down(self):
        db = backends.migrated_database(self, service.SPEC)
        ctx = context.admin_context()
        stop = threading.Event()
        unexpected = []

        def resync(n):
            shape = self.SHAPES[n % len(self.SHAPES)]
            limits = [_limit('lim-top', 'top', 40, 'tree [subtree]')]
            if any(p['id'] == 'leaf' for p in shape):
                limits.append(_limit('lim-leaf', 'leaf', 6))
            keystone.replace_from_keystone(db, ctx, keystone_sync.snapshot(
                shape, REGISTERED, limits))
            return {p['id'] for p in shape}

        def allocate(worker):
            n = 0
            while not stop.is_set():
                n += 1
                consumer = 'vm-%d-%d' % (worker, n % 4)
                project_id = ('leaf', 'leaf', 'mid', 'other')[
                    (worker + n) % 4]
                try:
                    if n % 5 == 0:
                        allocations.delete_allocation(db, ctx, consumer)
                    else:
                        allocations.put_allocation(
                            db, ctx, consumer, project_id,
                            {'cores': 1 + (worker + n) % 3},
                            quota_tree.NO_LIMIT_DENY)
                except (usages.OverLimit, tree.ProjectNotFound,
                        allocations.AllocationNotFound,
                        allocations.ProjectDeleted):
                    pass
                except Exception as exc:  # what the test is looking for
                    unexpected.append(repr(exc))

        resync(0)
        workers = [threading.Thread(target=allocate, args=(w,))
                   for w in range(4)]
        for worker in workers:
            worker.start()
        grew = []
        try:
            kept_before = {}
            for n in range(1, 25):
                synced = resync(n)
                # What the kept projects hold, read after the resync
                # that kept them: a project held after two resyncs that
                # both left it out was kept all along, and may only have
                # shrunk since the first read.
                kept = {project_id: amount for project_id, amount
                        in self.held(db, ctx).items()
                        if project_id not in synced}
                grew += [(n, project_id, kept_before[project_id], amount)
                         for project_id, amount in kept.items()
                         if amount > kept_before.get(project_id, amount)]
                kept_before = kept
                stop.wait(0.05)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        self.assertEqual([], unexpected)
        self.assertEqual([], grew)
        self.assertEqual([], audit.audit(db, ctx))


class TestSyncsTakeTurns(backends.OnPostgreSQL, testtools.TestCase):
    """Two syncs at once (the listener of one engine host, the periodic
    resync of the leader, ``limits-manage sync``): the one that reads
    Keystone later must be the one whose copy stays."""

    def setUp(self):
        super().setUp()
        self.db = backends.migrated_database(self, service.SPEC)
        self.ctx = context.admin_context()
        self.conf = config.build_conf(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone',
            ('database', 'connection'): self.db.url})
        self.engine = sa.create_engine(self.db.url)
        self.addCleanup(self.engine.dispose)

    def test_a_sync_that_read_keystone_earlier_does_not_commit_later(self):
        """Host A reads Keystone (gone still there) and is slow; Keystone
        deletes gone and host B syncs.  B committed first and A then wrote
        gone back, kept until the next resync (600 s by default); now B
        waits for A and reads Keystone after it."""
        before = ([_project('top'), _project('gone', 'top')], REGISTERED,
                  [])
        after = ([_project('top')], REGISTERED, [])
        a_has_read = threading.Event()
        a_may_go_on = threading.Event()

        def fetch(adapter):
            if threading.current_thread().name == 'sync-a':
                a_has_read.set()
                a_may_go_on.wait(30)
                return before
            return after
        self.useFixture(fixtures.MockPatch(
            'limits_svc.clients.keystone.fetch', side_effect=fetch))
        failures = []

        def sync():
            try:
                keystone_engine.sync(self.conf, self.db, adapter=object())
            except Exception as exc:  # reported in the test's thread
                failures.append(exc)
        host_a = threading.Thread(target=sync, name='sync-a')
        host_b = threading.Thread(target=sync, name='sync-b')
        host_a.start()
        self.assertTrue(a_has_read.wait(30))
        host_b.start()
        # B waits for A's sync (or, as before, commits without waiting).
        races.waiting_for_a_lock(self.engine, host_b, advisory=True)
        a_may_go_on.set()
        host_a.join(60)
        host_b.join(60)
        self.assertEqual([], failures)
        with self.db.reader.connection.using(self.ctx) as conn:
            self.assertEqual(['top'], sorted(conn.scalars(sa.select(
                models.Project.__table__.c.id))))


_IDS = ['p%d' % n for n in range(6)]


@st.composite
def _keystone_trees(draw):
    """Keystone's projects: a forest over some of ``_IDS``, each parent
    listed before its children (so that parents never loop)."""
    ids = draw(st.lists(st.sampled_from(_IDS), unique=True))
    projects = []
    for index, project_id in enumerate(ids):
        parent = draw(st.sampled_from([None] + ids[:index]))
        projects.append(_project(project_id, parent))
    return projects


_STEPS = st.lists(st.one_of(
    st.tuples(st.just('sync'), _keystone_trees()),
    st.tuples(st.just('allocate'), st.sampled_from(_IDS)),
    st.tuples(st.just('free'), st.integers(0, 5))), max_size=12)


class TestResyncProperties(backends.OnSQLite, testtools.TestCase):
    """Random Keystone trees synced one after the other while projects
    take allocations and give them back: after every sync each project's
    parent is a project (or none), a project holding allocations is kept
    and the others are Keystone's, and the usage audit finds no drift."""

    def setUp(self):
        super().setUp()
        self.db = backends.migrated_database(self, service.SPEC)
        self.ctx = context.admin_context()

    def reset(self):
        with self.db.writer.connection.using(self.ctx) as conn:
            for model in (models.Allocation, models.Usage, models.Project,
                          models.ProjectLimit, models.RegisteredLimit):
                conn.execute(model.__table__.delete())

    def projects(self):
        with self.db.reader.connection.using(self.ctx) as conn:
            return dict(conn.execute(sa.select(
                models.Project.__table__.c.id,
                models.Project.__table__.c.parent_id)).all())

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(steps=_STEPS)
    # Freed after the sync that kept it: still kept until the next sync.
    @hypothesis.example(steps=[('sync', [_project('p0', None)]),
                               ('allocate', 'p0'), ('sync', []),
                               ('free', 0), ('allocate', 'p0')])
    def test_every_parent_is_a_project(self, steps):
        """... and an allocation is taken in a project only while
        Keystone has it (the last sync listed it): in a project kept
        after it left Keystone, whose limits went with it, it is refused
        (409 limits.project_deleted)."""
        self.reset()
        holders = {}
        synced = set()
        # Kept by the last sync (they held allocations then), until the
        # next one: freeing their allocations does not remove them.
        kept = set()
        for number, (action, argument) in enumerate(steps):
            if action == 'allocate':
                try:
                    allocations.put_allocation(
                        self.db, self.ctx, 'c%d' % number, argument,
                        {'cores': 1}, quota_tree.NO_LIMIT_UNLIMITED)
                except tree.ProjectNotFound:
                    self.assertNotIn(argument, synced | kept)
                    continue
                except allocations.ProjectDeleted:
                    self.assertNotIn(argument, synced)
                    self.assertIn(argument, kept)
                    continue
                self.assertIn(argument, synced)
                holders['c%d' % number] = argument
            elif action == 'free' and holders:
                consumer = sorted(holders)[argument % len(holders)]
                allocations.delete_allocation(self.db, self.ctx, consumer)
                del holders[consumer]
            elif action == 'sync':
                keystone.replace_from_keystone(
                    self.db, self.ctx, keystone_sync.snapshot(
                        argument, REGISTERED, []))
                parents = self.projects()
                for project_id, parent in parents.items():
                    self.assertTrue(parent is None or parent in parents,
                                    (project_id, parent, parents))
                synced = {row['id'] for row in argument}
                kept = set(holders.values()) - synced
                self.assertEqual(synced | set(holders.values()),
                                 set(parents))
                self.assertEqual([], audit.audit(self.db, self.ctx))


_PUT_STEPS = st.lists(st.one_of(
    st.tuples(st.just('sync'), _keystone_trees()),
    st.tuples(st.just('put'), st.tuples(
        st.integers(0, 3), st.sampled_from(_IDS), st.integers(0, 3))),
    st.tuples(st.just('reconcile'), st.tuples(
        st.sampled_from(_IDS), st.integers(0, 4)))),
    max_size=14)


class TestKeptProjectProperties(backends.OnSQLite, testtools.TestCase):
    """Random Keystone trees synced one after the other while four
    consumers are put, resized, moved and freed (an amount of 0): a
    project Keystone listed at the last sync takes anything; a project
    kept after it left takes a write that grows nothing there (a
    shrink, the same amount, a move out, a free) and refuses every
    other one (409 limits.project_deleted), writing nothing; a project
    that is neither is not found.  Reconciliations (``PUT /v1/usages``)
    come between: a kept project takes one that raises nothing.  The own
    usage of a kept project never goes up between two syncs."""

    def setUp(self):
        super().setUp()
        self.db = backends.migrated_database(self, service.SPEC)
        self.ctx = context.admin_context()

    def own_usage(self):
        """``{project_id: own cores}``."""
        usage = models.Usage.__table__
        with self.db.reader.connection.using(self.ctx) as conn:
            return dict(conn.execute(sa.select(
                usage.c.project_id, usage.c.own_used)).all())

    def reconcile(self, existing, synced, project_id, amount):
        """A reconciliation of ``project_id``'s cores to ``amount``,
        checked against the model."""
        before = self.own_usage().get(project_id, 0)
        try:
            usages.reconcile_usage(self.db, self.ctx, project_id,
                                   {'cores': amount})
        except tree.ProjectNotFound:
            self.assertNotIn(project_id, existing)
        except allocations.ProjectDeleted:
            self.assertIn(project_id, existing - synced)
            self.assertGreater(amount, before)
            self.assertEqual(before, self.own_usage().get(project_id, 0))
        else:
            self.assertIn(project_id, existing)
            self.assertTrue(project_id in synced or amount <= before,
                            (project_id, synced, before, amount))
            self.assertEqual(amount, self.own_usage()[project_id])

    def reset(self):
        with self.db.writer.connection.using(self.ctx) as conn:
            for model in (models.Allocation, models.Usage, models.Project,
                          models.ProjectLimit, models.RegisteredLimit):
                conn.execute(model.__table__.delete())

    @hypothesis.settings(max_examples=80, deadline=None)
    @hypothesis.given(steps=_PUT_STEPS)
    @hypothesis.example(steps=[('sync', [_project('p0', None)]),
                               ('put', (0, 'p0', 2)), ('sync', []),
                               ('reconcile', ('p0', 3))])
    def test_a_kept_project_never_grows(self, steps):
        self.reset()
        held = {}           # consumer: (project, amount)
        synced = set()
        existing = set()
        kept_usage = {}     # kept project: its own usage after each step
        for action, argument in steps:
            if action == 'sync':
                keystone.replace_from_keystone(
                    self.db, self.ctx, keystone_sync.snapshot(
                        argument, REGISTERED, []))
                synced = {row['id'] for row in argument}
                existing = synced | {p for p, _ in held.values()}
                own = self.own_usage()
                kept_usage = {p: own.get(p, 0) for p in existing - synced}
                continue
            if action == 'reconcile':
                self.reconcile(existing, synced, *argument)
                self.assert_kept_usage_never_rises(kept_usage)
                continue
            number, project_id, amount = argument
            consumer = 'c%d' % number
            old_project, old_amount = held.get(consumer, (None, 0))
            grows = amount > (old_amount if old_project == project_id
                              else 0)
            try:
                allocations.put_allocation(
                    self.db, self.ctx, consumer, project_id,
                    {'cores': amount}, quota_tree.NO_LIMIT_UNLIMITED)
            except tree.ProjectNotFound:
                self.assertNotIn(project_id, existing)
            except allocations.ProjectDeleted:
                self.assertIn(project_id, existing - synced)
                self.assertTrue(grows, (consumer, held, amount))
            else:
                self.assertIn(project_id, existing)
                self.assertTrue(project_id in synced or not grows,
                                (project_id, synced, held, amount))
                if amount:
                    held[consumer] = (project_id, amount)
                else:
                    held.pop(consumer, None)
            with self.db.reader.connection.using(self.ctx) as conn:
                rows = conn.execute(sa.select(
                    models.Allocation.__table__.c.consumer_id,
                    models.Allocation.__table__.c.project_id,
                    models.Allocation.__table__.c.amount)).all()
            self.assertEqual(held, {c: (p, a) for c, p, a in rows})
            self.assert_kept_usage_never_rises(kept_usage)
        self.assertEqual([], audit.audit(self.db, self.ctx))

    def assert_kept_usage_never_rises(self, kept_usage):
        own = self.own_usage()
        for project_id, before in kept_usage.items():
            self.assertLessEqual(own.get(project_id, 0), before, project_id)
            kept_usage[project_id] = own.get(project_id, 0)
