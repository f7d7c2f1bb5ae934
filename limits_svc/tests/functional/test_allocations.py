"""/v1/allocations and /v1/enforce, as a client sees them."""

import datetime
import time

import fixtures

from limits_svc.cmd import engine
from limits_svc.db import allocations as allocations_db
from limits_svc.tests.functional import base
from svc_common import context
from svc_common.db import database
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql


class TestAllocations(base.LimitsApiTestCase):

    def setUp(self):
        super().setUp()
        self.tree()

    def usage(self, project_id):
        resp = self.app.get('/v1/projects/%s/usage?subtree=true' % project_id,
                            headers=af.SYSTEM_READER)
        return {p['project_id']: p['resources'].get('cores')
                for p in resp.json['projects']}

    def test_allocation_within_all_limits(self):
        resp = self.allocate('vm-1', 'leaf', cores=8)
        allocation = resp.json['allocation']
        self.assertEqual({'consumer_id': 'vm-1', 'project_id': 'leaf',
                          'resources': {'cores': 8}, 'expires_at': None,
                          'generation': allocation['generation']},
                         allocation)
        self.assertIsInstance(allocation['generation'], int)
        usage = self.usage('root')
        self.assertEqual(8, usage['root']['subtree_usage'])
        self.assertEqual(8, usage['mid']['subtree_usage'])
        self.assertEqual(8, usage['leaf']['own_usage'])
        self.assertEqual(0, usage['root']['own_usage'])

    def test_a_project_s_409s_quote_its_id(self):
        """As its 404 does ('No project "leaf".', errors.quoted_id): they
        named it bare ('Project leaf still has allocations.')."""
        self.allocate('vm-1', 'leaf', cores=1)
        answers = (
            (self.app.delete('/v1/projects/leaf', headers=af.SYSTEM_ADMIN,
                             status=409),
             'Project "leaf" still has allocations.'),
            (self.app.delete('/v1/projects/mid', headers=af.SYSTEM_ADMIN,
                             status=409),
             'Project "mid" still has child projects.'),
            (self.app.post_json('/v1/projects', {'id': 'leaf'},
                                headers=af.SYSTEM_ADMIN, status=409),
             'Project "leaf" exists already.'),
            (self.app.patch_json('/v1/projects/mid', {'parent_id': 'leaf'},
                                 headers=af.SYSTEM_ADMIN, status=409),
             'Project "mid" cannot move under its own subtree.'))
        for resp, detail in answers:
            self.assertEqual(detail, resp.json['errors'][0]['detail'])

    def test_own_limit_refuses_with_blocking_level(self):
        self.allocate('vm-1', 'leaf', cores=6)
        resp = self.allocate('vm-2', 'leaf', status=409, cores=3)
        err = resp.json['errors'][0]
        self.assertEqual('limits.over_limit', err['code'])
        self.assertEqual([{'project_id': 'leaf', 'resource': 'cores',
                           'scope': 'project', 'limit': 8, 'usage': 6,
                           'delta': 3}], err['blocking'])
        # Nothing of the refused allocation was written.
        self.app.get('/v1/allocations/vm-2', headers=af.SERVICE, status=404)
        self.assertEqual(6, self.usage('root')['root']['subtree_usage'])

    def test_subtree_limit_of_an_ancestor_refuses(self):
        self.allocate('vm-1', 'other', cores=10)
        self.allocate('vm-2', 'leaf', cores=8)
        resp = self.allocate('vm-3', 'mid', status=409, cores=5)
        blocking = resp.json['errors'][0]['blocking']
        self.assertEqual([('mid', 'subtree', 12, 8), ('root', 'subtree', 20,
                                                      18)],
                         [(b['project_id'], b['scope'], b['limit'],
                           b['usage']) for b in blocking])

    def test_put_replaces_and_shrinking_is_always_allowed(self):
        self.allocate('vm-1', 'leaf', cores=8)
        self.allocate('vm-1', 'leaf', cores=2)
        self.assertEqual(2, self.usage('root')['root']['subtree_usage'])
        # Lower the limit below usage: growing is refused, shrinking is not.
        limits = self.app.get('/v1/limits?project_id=leaf',
                              headers=af.SYSTEM_ADMIN).json['limits']
        self.app.patch_json('/v1/limits/%s' % limits[0]['id'],
                            {'resource_limit': 1}, headers=af.SYSTEM_ADMIN)
        self.allocate('vm-1', 'leaf', status=409, cores=3)
        self.allocate('vm-1', 'leaf', cores=1)

    def test_retrying_the_same_put_is_idempotent(self):
        for _ in range(3):
            self.allocate('vm-1', 'leaf', cores=5)
        self.assertEqual(5, self.usage('root')['root']['subtree_usage'])

    def test_a_put_leaves_exactly_the_resources_it_names(self):
        """Each PUT replaces the allocation: resources it leaves out or
        sets to 0 are gone from it and from the counters, the others hold
        the new amounts (growing, shrinking and moving alike)."""
        self.registered_limit('ram', 100)
        self.registered_limit('disk', 100)

        def allocation():
            return self.app.get('/v1/allocations/vm-1',
                                headers=af.SERVICE).json['allocation']

        def used(resource, project_id='root'):
            resp = self.app.get('/v1/projects/%s/usage' % project_id,
                                headers=af.SYSTEM_READER)
            return resp.json['projects'][0]['resources'].get(
                resource, {}).get('subtree_usage', 0)

        steps = [
            ('leaf', {'cores': 2, 'ram': 5}),
            ('leaf', {'cores': 3, 'ram': 5, 'disk': 1}),    # grows
            ('leaf', {'cores': 3, 'ram': 0, 'disk': 4}),    # drops ram
            ('leaf', {'disk': 4}),                          # drops cores
            ('other', {'cores': 1, 'disk': 2}),             # moves
        ]
        for project_id, resources in steps:
            resp = self.allocate('vm-1', project_id, **resources)
            taken = {name: n for name, n in resources.items() if n}
            self.assertEqual(taken, resp.json['allocation']['resources'])
            found = allocation()
            found.pop('generation')
            self.assertEqual({'consumer_id': 'vm-1',
                              'project_id': project_id,
                              'resources': taken, 'expires_at': None},
                             found)
            for name in ('cores', 'ram', 'disk'):
                self.assertEqual(taken.get(name, 0), used(name))
                self.assertEqual(taken.get(name, 0),
                                 used(name, project_id))
        self.assertEqual(0, used('disk', 'leaf'))

    def test_a_reservation_that_grows_takes_its_new_expiry(self):
        self.app.put_json('/v1/allocations/res-1', {
            'project_id': 'leaf', 'resources': {'cores': 1},
            'expires_in': 60}, headers=af.SERVICE)
        first = self.app.get('/v1/allocations/res-1', headers=af.SERVICE)
        self.app.put_json('/v1/allocations/res-1', {
            'project_id': 'leaf', 'resources': {'cores': 2},
            'expires_in': 3600}, headers=af.SERVICE)
        second = self.app.get('/v1/allocations/res-1', headers=af.SERVICE)
        self.assertGreater(second.json['allocation']['expires_at'],
                           first.json['allocation']['expires_at'])
        self.assertEqual({'cores': 2},
                         second.json['allocation']['resources'])

    def test_moving_a_consumer_between_projects(self):
        self.allocate('vm-1', 'leaf', cores=8)
        self.allocate('vm-1', 'other', cores=8)
        usage = self.usage('root')
        self.assertEqual(0, usage['mid']['subtree_usage'])
        self.assertEqual(8, usage['other']['own_usage'])
        self.assertEqual(8, usage['root']['subtree_usage'])

    def test_delete_frees(self):
        self.allocate('vm-1', 'leaf', cores=8)
        self.app.delete('/v1/allocations/vm-1', headers=af.SERVICE,
                        status=204)
        self.assertEqual(0, self.usage('root')['root']['subtree_usage'])
        resp = self.app.delete('/v1/allocations/vm-1', headers=af.SERVICE,
                               status=404)
        self.assertEqual('limits.allocation_not_found',
                         resp.json['errors'][0]['code'])

    def test_expired_reservation_is_freed_by_the_engine_sweep(self):
        """An expired reservation counts until limits-engine's periodic
        sweep (leader-only, run here directly) frees it; allocations do
        not sweep."""
        body = {'project_id': 'leaf', 'resources': {'cores': 8},
                'expires_in': 1}
        resp = self.app.put_json('/v1/allocations/res-1', body,
                                 headers=af.SERVICE)
        self.assertIsNotNone(resp.json['allocation']['expires_at'])
        self.allocate('vm-2', 'leaf', status=409, cores=1)
        time.sleep(1.2)
        self.allocate('vm-2', 'leaf', status=409, cores=1)
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        self.assertEqual(1, engine.purge_expired(db))
        self.allocate('vm-2', 'leaf', cores=8)
        self.app.get('/v1/allocations/res-1', headers=af.SERVICE,
                     status=404)

    def test_one_sweep_frees_every_expired_reservation(self):
        """However many expired at once, a sweep frees them all, a batch
        of consumers at a time, and leaves the live ones."""
        for n in range(5):
            self.app.put_json('/v1/allocations/res-%d' % n, {
                'project_id': 'leaf', 'resources': {'cores': 1},
                'expires_in': 1}, headers=af.SERVICE)
        self.app.put_json('/v1/allocations/live', {
            'project_id': 'leaf', 'resources': {'cores': 1},
            'expires_in': 600}, headers=af.SERVICE)
        time.sleep(1.2)
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        self.assertEqual(5, allocations_db.purge_expired(
            db, context.admin_context(), batch=2))
        listed = self.app.get('/v1/allocations', headers=af.SERVICE)
        self.assertEqual(['live'], [a['consumer_id'] for a in
                                    listed.json['allocations']])
        # A sweep asked to stop ends after its first batch.
        for n in range(3):
            self.app.put_json('/v1/allocations/more-%d' % n, {
                'project_id': 'leaf', 'resources': {'cores': 1},
                'expires_in': 1}, headers=af.SERVICE)
        time.sleep(1.2)
        self.assertEqual(2, allocations_db.purge_expired(
            db, context.admin_context(), batch=2, stopping=lambda: True))

    @staticmethod
    def _host_clock_off_by(hours):
        """This host's clock runs ``hours`` ahead (behind if negative),
        inside ``with``."""
        skewed = allocations_db.utcnow() + datetime.timedelta(hours=hours)
        return fixtures.MockPatch('limits_svc.db.allocations.utcnow',
                                  return_value=skewed)

    def _reserve(self, consumer, seconds):
        return self.app.put_json('/v1/allocations/%s' % consumer, {
            'project_id': 'leaf', 'resources': {'cores': 2},
            'expires_in': seconds}, headers=af.SERVICE).json['allocation']

    def test_an_api_host_clock_behind_does_not_shorten_reservations(self):
        """Reservations expire by the database's clock: an API host whose
        clock is an hour slow makes a 10-minute reservation that the
        engine (on a host with the right time) does not free at once."""
        with self._host_clock_off_by(-1):
            made = self._reserve('res-1', 600)
        expires_at = datetime.datetime.fromisoformat(
            made['expires_at'].rstrip('Z'))
        late = expires_at - allocations_db.utcnow()
        self.assertGreater(late, datetime.timedelta(seconds=590))
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        self.assertEqual(0, engine.purge_expired(db))
        self.assertEqual(2, self.usage('leaf')['leaf']['own_usage'])

    def test_an_engine_clock_ahead_frees_no_live_reservation(self):
        """An engine whose clock jumped an hour ahead frees none of the
        reservations made in the last hour."""
        self._reserve('res-1', 600)
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        with self._host_clock_off_by(1):
            self.assertEqual(0, engine.purge_expired(db))
        self.app.get('/v1/allocations/res-1', headers=af.SERVICE)

    def test_if_match_on_a_host_clock_ahead_finds_a_live_reservation(self):
        """An API host whose clock is an hour ahead still replaces a live
        reservation with If-Match: * (it answered 412, as if the
        reservation had expired)."""
        self._reserve('res-1', 600)
        with self._host_clock_off_by(1):
            resp = self.app.put_json('/v1/allocations/res-1', {
                'project_id': 'leaf', 'resources': {'cores': 3}},
                headers=dict(af.SERVICE, **{'If-Match': '*'}))
        self.assertEqual({'cores': 3}, resp.json['allocation']['resources'])

    def test_confirming_a_reservation_keeps_it(self):
        body = {'project_id': 'leaf', 'resources': {'cores': 4},
                'expires_in': 60}
        self.app.put_json('/v1/allocations/vm-1', body, headers=af.SERVICE)
        resp = self.allocate('vm-1', 'leaf', cores=4)
        self.assertIsNone(resp.json['allocation']['expires_at'])
        self.assertEqual(4, self.usage('leaf')['leaf']['own_usage'])

    def test_unknown_project_is_404(self):
        resp = self.allocate('vm-1', 'nope', status=404, cores=1)
        self.assertEqual('limits.project_not_found',
                         resp.json['errors'][0]['code'])

    def test_resource_without_any_limit_is_denied_by_default(self):
        resp = self.allocate('vm-1', 'leaf', status=409, gpus=1)
        self.assertEqual(0, resp.json['errors'][0]['blocking'][0]['limit'])

    def test_bad_bodies_are_400_naming_the_field(self):
        for body, field in (({'project_id': 'leaf'}, '(body)'),
                            ({'project_id': 'leaf',
                              'resources': {'cores': -1}}, 'resources/cores'),
                            ({'project_id': 'leaf', 'resources': {},
                              'colour': 'red'}, '(body)'),
                            ({'project_id': 'leaf', 'resources': {},
                              'expires_in': 0}, 'expires_in')):
            resp = self.app.put_json('/v1/allocations/vm-1', body,
                                     headers=af.SERVICE, status=400)
            err = resp.json['errors'][0]
            self.assertEqual('limits.invalid_input', err['code'])
            self.assertEqual(field, err['field'])
        resp = self.app.put('/v1/allocations/vm-1', '{"project_id":',
                            headers=af.SERVICE, status=400)
        self.assertEqual('limits.malformed_body',
                         resp.json['errors'][0]['code'])
        self.app.get('/v1/allocations/vm-1', headers=af.SERVICE, status=404)

    def test_list_is_paginated(self):
        for n in range(5):
            self.allocate('vm-%d' % n, 'other', cores=1)
        first = self.app.get('/v1/allocations?limit=2',
                             headers=af.SYSTEM_READER).json
        self.assertEqual(['vm-0', 'vm-1'],
                         [a['consumer_id'] for a in first['allocations']])
        self.assertEqual('next', first['links'][0]['rel'])
        rest = self.app.get('/v1/allocations?limit=10&marker=vm-1',
                            headers=af.SYSTEM_READER).json
        self.assertEqual(['vm-2', 'vm-3', 'vm-4'],
                         [a['consumer_id'] for a in rest['allocations']])
        self.assertEqual([], rest['links'])


class _OnPostgreSQL(object):
    """The same tests on PostgreSQL, whose statements are partly its own
    (allocation rows and counters written by one statement, arrays for
    lists of names)."""

    DRIVER = None

    def setUp(self):
        url = self.useFixture(postgresql.Database(self.DRIVER)).url
        self.OVERRIDES = {('database', 'connection'): url}
        super().setUp()


class _OnPsycopg3(_OnPostgreSQL):
    """On PostgreSQL through psycopg 3 (``postgresql+psycopg://``), the
    driver the benchmark page recommends: it prepares the statements a
    connection repeats, and sends one statement per round trip."""

    DRIVER = 'psycopg'


class TestAllocationsOnPostgreSQL(_OnPostgreSQL, TestAllocations):
    pass


class TestAllocationsOnPsycopg3(_OnPsycopg3, TestAllocations):
    pass


class TestEnforce(base.LimitsApiTestCase):

    def setUp(self):
        super().setUp()
        self.tree()

    def enforce(self, headers=af.SERVICE, status=200, **body):
        return self.app.post_json('/v1/enforce', body, headers=headers,
                                  status=status)

    def test_dry_run_writes_nothing(self):
        resp = self.enforce(project_id='leaf', resources={'cores': 8})
        self.assertEqual({'allowed': True, 'deltas': {'cores': 8},
                          'blocking': []}, resp.json)
        self.assertEqual([], self.app.get(
            '/v1/allocations', headers=af.SYSTEM_READER).json['allocations'])

    def test_dry_run_refusal_names_levels(self):
        self.allocate('vm-1', 'other', cores=15)
        resp = self.enforce(project_id='leaf', resources={'cores': 6})
        self.assertFalse(resp.json['allowed'])
        self.assertEqual(['root'], [b['project_id']
                                    for b in resp.json['blocking']])

    def test_dry_run_of_a_replacement(self):
        self.allocate('vm-1', 'leaf', cores=8)
        resp = self.enforce(project_id='leaf', resources={'cores': 6},
                            consumer_id='vm-1')
        self.assertEqual({'cores': -2}, resp.json['deltas'])
        self.assertTrue(resp.json['allowed'])

    def test_project_member_checks_own_project_only(self):
        member = af.identity(['member', 'reader'], 'leaf')
        self.enforce(headers=member, project_id='leaf',
                     resources={'cores': 1})
        self.enforce(headers=member, status=404, project_id='other',
                     resources={'cores': 1})
        reader = af.identity(['reader'], 'leaf')
        self.enforce(headers=reader, status=403, project_id='leaf',
                     resources={'cores': 1})


class TestUsageReportPages(base.LimitsApiTestCase):
    """GET /v1/projects/{id}/usage?subtree=true a page at a time: a
    subtree may hold 100,000 projects."""

    def setUp(self):
        super().setUp()
        self.tree()
        self.project('mid2', 'mid')
        self.limit('mid2', 'ram', 50)
        self.allocate('vm-1', 'leaf', cores=3)
        self.allocate('vm-2', 'other', cores=4)

    def get(self, url, status=200):
        return self.app.get(url, headers=af.SYSTEM_READER, status=status)

    def test_pages_follow_the_report_order(self):
        whole = self.get('/v1/projects/root/usage?subtree=true').json
        self.assertEqual([], whole['links'])
        order = [p['project_id'] for p in whole['projects']]
        self.assertEqual(['root', 'mid', 'leaf', 'mid2', 'other'], order)
        url = '/v1/projects/root/usage?limit=2&subtree=true'
        pages = []
        while url:
            body = self.get(url).json
            self.assertLessEqual(len(body['projects']), 2)
            pages.append(body['projects'])
            url = ''.join(link['href'] for link in body['links']
                          if link['rel'] == 'next')
        self.assertEqual(whole['projects'],
                         [level for page in pages for level in page])
        self.assertEqual(3, len(pages))
        # Every page reports every resource of the subtree.
        for level in whole['projects']:
            self.assertEqual(['cores', 'ram'], sorted(level['resources']))
        other = whole['projects'][-1]['resources']['cores']
        self.assertEqual({'own_limit': 100, 'subtree_limit': None,
                          'own_usage': 4, 'subtree_usage': 4}, other)

    def test_limit_is_capped_and_marker_checked(self):
        self.fixture.conf.set_override('max_limit', 3, 'api')
        body = self.get('/v1/projects/root/usage?subtree=true&limit=50').json
        self.assertEqual(['root', 'mid', 'leaf'],
                         [p['project_id'] for p in body['projects']])
        # The next page starts after the path to leaf.
        self.assertIn('marker=root%2Fmid%2Fleaf', body['links'][0]['href'])
        resp = self.get('/v1/projects/mid/usage?subtree=true&marker=other',
                        status=400)
        self.assertEqual('marker', resp.json['errors'][0]['field'])
        # One project alone: one answer, no next page (it would be the
        # same project again).
        alone = self.get('/v1/projects/mid/usage?limit=1').json
        self.assertEqual(['mid'], [p['project_id'] for p in alone['projects']])
        self.assertEqual([], alone['links'])


class TestReconcile(base.LimitsApiTestCase):
    """PUT /v1/usages/{project}: set own usage to an outside count."""

    def setUp(self):
        super().setUp()
        self.tree()

    def report(self):
        resp = self.app.get('/v1/projects/root/usage?subtree=true',
                            headers=af.SYSTEM_READER)
        return {p['project_id']: p['resources']['cores']
                for p in resp.json['projects']}

    def reconcile(self, project_id, cores):
        return self.app.put_json('/v1/usages/%s' % project_id,
                                 {'resources': {'cores': cores}},
                                 headers=af.SERVICE).json

    def test_more_in_use_than_allocated_counts_against_limits(self):
        self.allocate('vm-1', 'leaf', cores=2)
        self.assertEqual({'cores': 3}, self.reconcile('leaf', 5)['adjusted'])
        usage = self.report()
        self.assertEqual(5, usage['leaf']['own_usage'])
        self.assertEqual(5, usage['root']['subtree_usage'])
        self.allocate('vm-2', 'leaf', status=409, cores=4)
        self.allocate('vm-2', 'leaf', cores=3)

    def test_less_in_use_then_freeing_never_goes_negative(self):
        self.allocate('vm-1', 'leaf', cores=2)
        self.reconcile('leaf', 0)
        self.assertEqual(0, self.report()['leaf']['own_usage'])
        self.app.delete('/v1/allocations/vm-1', headers=af.SERVICE,
                        status=204)
        usage = self.report()
        self.assertEqual(0, usage['leaf']['own_usage'])
        self.assertEqual(0, usage['mid']['subtree_usage'])
        self.allocate('vm-2', 'leaf', cores=8)
        self.assertEqual(8, self.report()['root']['subtree_usage'])

    def test_a_deleted_project_takes_its_usage_with_it(self):
        # leaf has no allocation, but an outside count of 5 cores: once
        # it is deleted, its ancestors no longer count them (they did for
        # ever, refusing what root's subtree limit of 20 allows).
        self.reconcile('leaf', 5)
        self.app.delete('/v1/projects/leaf', headers=af.SYSTEM_ADMIN,
                        status=204)
        usage = self.report()
        self.assertEqual(0, usage['mid']['subtree_usage'])
        self.assertEqual(0, usage['root']['subtree_usage'])
        self.allocate('vm-1', 'mid', cores=12)
        self.allocate('vm-2', 'other', cores=8)
        self.assertEqual(20, self.report()['root']['subtree_usage'])


class TestEnforceOnPsycopg3(_OnPsycopg3, TestEnforce):
    pass


class TestEnforceOnPostgreSQL(_OnPostgreSQL, TestEnforce):
    pass


class TestReconcileOnPostgreSQL(_OnPostgreSQL, TestReconcile):
    pass


class TestLimits(base.LimitsApiTestCase):

    def test_the_same_limit_twice_is_409_even_without_region(self):
        self.project('p')
        first = self.registered_limit('cores', 10)
        resp = self.app.post_json('/v1/registered_limits', {
            'service_id': 'nova', 'resource_name': 'cores',
            'default_limit': 20}, headers=af.SYSTEM_ADMIN, status=409)
        error = resp.json['errors'][0]
        self.assertEqual('limits.limit_exists', error['code'])
        # It names the limit to change instead.
        self.assertEqual(first['id'], error['limit_id'])
        self.assertIn(first['id'], error['detail'])
        limit = self.limit('p', 'cores', 5)
        resp = self.app.post_json('/v1/limits', {
            'project_id': 'p', 'service_id': 'nova', 'resource_name': 'cores',
            'resource_limit': 6}, headers=af.SYSTEM_ADMIN, status=409)
        self.assertEqual(limit['id'], resp.json['errors'][0]['limit_id'])
        # Another scope on the same project and resource is another limit.
        self.limit('p', 'cores', 9, scope='subtree')

    def test_list_filters_are_checked(self):
        self.project('p')
        self.limit('p', 'cores', 5, scope='subtree')
        listed = self.app.get('/v1/limits', {'scope': 'subtree'},
                              headers=af.SYSTEM_ADMIN).json['limits']
        self.assertEqual([('p', 'subtree')],
                         [(x['project_id'], x['scope']) for x in listed])
        # Values no limit can have were answered with an empty list.
        for path, params, field in (
                ('/v1/limits', {'scope': 'bogus'}, 'scope'),
                ('/v1/limits', {'service_id': 'x' * 10240}, 'service_id'),
                ('/v1/registered_limits', {'resource_name': 'a b'},
                 'resource_name'),
                ('/v1/projects', {'parent_id': ''}, 'parent_id'),
                ('/v1/projects', {'parent_id': 'x' * 65}, 'parent_id'),
                ('/v1/allocations', {'project_id': ''}, 'project_id'),
                ('/v1/allocations', {'project_id': 'p/q'}, 'project_id')):
            resp = self.app.get(path, params, headers=af.SYSTEM_ADMIN,
                                status=400)
            self.assertEqual(('limits.invalid_input', field),
                             (resp.json['errors'][0]['code'],
                              resp.json['errors'][0]['field']), params)

    def test_limit_on_unknown_project_is_404(self):
        resp = self.app.post_json('/v1/limits', {
            'project_id': 'nope', 'service_id': 'nova',
            'resource_name': 'cores', 'resource_limit': 6},
            headers=af.SYSTEM_ADMIN, status=404)
        self.assertEqual('limits.project_not_found',
                         resp.json['errors'][0]['code'])
