"""The preemption API on the sample simulated cloud: what each endpoint
answers, and that a plan acts on nothing."""

import fixtures
import testtools

from reaper_svc.db import actions as actions_db
from reaper_svc import drivers
from reaper_svc.strategies import model
from reaper_svc.tests.functional import base
from svc_common import context
from svc_common.tests.fixtures import api as af

ADMIN = af.SYSTEM_ADMIN
PHYSICS = af.identity(['member', 'reader'], 'physics', user_id='alice')
PHYSICS_READER = af.identity(['reader'], 'physics', user_id='bob')
BIOLOGY = af.identity(['member', 'reader'], 'biology')


class ApiTestCase(testtools.TestCase):

    #: Config overrides of the app, besides a page of 2.
    OVERRIDES = {}

    def setUp(self):
        super().setUp()
        overrides = {('api', 'max_limit'): 2}
        overrides.update(self.OVERRIDES)
        reaper = self.useFixture(base.ReaperApp(overrides=overrides))
        self.app = reaper.app
        self.db = reaper.db
        # The driver the API uses: the one the shared factory built.
        self.driver = drivers.get(reaper.conf)

    def error(self, resp):
        return resp.json['errors'][0]


class TestPlans(ApiTestCase):

    def test_flavor_in_an_aggregate(self):
        before = self.driver.cluster().servers.keys()
        plan = self.app.post_json('/v1/plans', {
            'flavor': 'm1.large', 'aggregates': ['batch']},
            headers=ADMIN).json['plan']
        self.assertEqual(('victims', 'best_fit', ['cmp1']),
                         (plan['outcome'], plan['strategy'], plan['hosts']))
        self.assertEqual([('batch-1', 'physics')],
                         [(v['server_id'], v['project_id'])
                          for v in plan['victims']])
        self.assertEqual(['batch'], plan['request']['aggregates'])
        # A dry run: nothing stopped, locked or recorded.
        self.assertEqual([], self.driver.journal)
        self.assertEqual(before, self.driver.cluster().servers.keys())
        self.assertEqual([], self.app.get('/v1/actions',
                                          headers=ADMIN).json['actions'])

    def test_resources_and_count(self):
        plan = self.app.post_json('/v1/plans', {
            'resources': {'VCPU': 2, 'MEMORY_MB': 4096}, 'count': 4,
            'availability_zone': 'az1'}, headers=ADMIN).json['plan']
        self.assertEqual('victims', plan['outcome'])
        self.assertEqual(4, plan['request']['count'])
        self.assertTrue(plan['victims'])

    def test_room_already(self):
        plan = self.app.post_json('/v1/plans', {'resources': {'DISK_GB': 1}},
                                  headers=ADMIN).json['plan']
        self.assertEqual(('fits', []), (plan['outcome'], plan['victims']))

    def test_cannot_fit_names_why(self):
        resp = self.app.post_json('/v1/plans', {
            'flavor': 'm1.large', 'count': 3, 'aggregates': ['batch']},
            headers=ADMIN, status=409)
        error = self.error(resp)
        self.assertEqual('preemption.cannot_fit', error['code'])
        self.assertIn('3 server(s)', error['detail'])
        self.assertIn('aggregates batch', error['detail'])
        self.assertEqual(2, error['eligible_hosts'])
        # The interactive aggregate has no preemptible server at all.
        resp = self.app.post_json('/v1/plans', {
            'flavor': 'm1.large', 'aggregates': ['interactive']},
            headers=ADMIN, status=409)
        self.assertIn('on the 1 eligible hosts', self.error(resp)['detail'])
        resp = self.app.post_json('/v1/plans', {
            'resources': {'CUSTOM_GPU': 1}}, headers=ADMIN, status=409)
        self.assertIn('no enabled and up host', self.error(resp)['detail'])

    def test_bad_requests(self):
        for body, field in (({'flavor': 'nope'}, 'flavor'),
                            ({'resources': {'VCPU': 0}}, 'resources'),
                            ({'flavor': 'm1.large', 'resources': {'VCPU': 1}},
                             '(body)'),
                            ({'resources': {'vcpu': 1}}, 'resources'),
                            ({'flavor': 'm1.large', 'count': 0}, 'count')):
            resp = self.app.post_json('/v1/plans', body, headers=ADMIN,
                                      status=400)
            self.assertEqual(field, self.error(resp)['field'], body)

    def test_victims_of_unfinished_actions_are_not_offered_again(self):
        server = self.driver.cluster().servers['batch-1']
        actions_db.create_action(self.db, context.admin_context(),
                                 'scheduling_failure', 'i-9', 'physics',
                                 'best_fit', {}, [server])
        plan = self.app.post_json('/v1/plans', {
            'flavor': 'm1.large', 'aggregates': ['batch']},
            headers=ADMIN).json['plan']
        self.assertNotIn('batch-1',
                         [v['server_id'] for v in plan['victims']])


class TestPending(ApiTestCase):

    BODY = {'servers': [dict(base.SERVER, count=3)], 'min_runtime': 28800,
            'deadline': '2099-01-01T00:00:00+02:00'}

    def test_queued_for_the_tokens_project(self):
        made = self.app.post_json('/v1/pending', self.BODY, headers=PHYSICS,
                                  status=201).json['pending']
        self.assertEqual(('physics', 'alice', 'queued', 3, True, 28800),
                         (made['project_id'], made['user_id'], made['state'],
                          made['count'], made['all_or_nothing'],
                          made['min_runtime']))
        self.assertEqual('2098-12-31T22:00:00Z', made['deadline'])
        self.assertEqual([{'name': 'job', 'flavor': 'm1.large',
                           'image': 'img-1', 'networks': [], 'count': 3}],
                         made['servers'])
        self.assertNotIn('trust_id', made)
        shown = self.app.get('/v1/pending/%s' % made['id'],
                             headers=PHYSICS_READER).json['pending']
        self.assertEqual(made, shown)

    def test_a_project_has_a_bounded_number_of_unfinished_requests(self):
        """Every promoter pass reads every queued request, and each one
        submitted with Keystone holds a trust: one project queued as
        many as it liked."""
        app = self.useFixture(base.ReaperApp(overrides={
            ('preemption', 'max_pending_per_project'): 2})).app
        made = [app.post_json('/v1/pending', self.BODY, headers=PHYSICS,
                              status=201).json['pending']
                for _ in range(2)]
        refused = app.post_json('/v1/pending', self.BODY, headers=PHYSICS,
                                status=409).json['errors'][0]
        self.assertEqual(('preemption.too_many_pending', 2),
                         (refused['code'], refused['limit']))
        self.assertEqual(2, len(app.get('/v1/pending?limit=10',
                                        headers=PHYSICS).json['pending']))
        # Another project's requests do not count; a withdrawn one does
        # not either.
        app.post_json('/v1/pending', self.BODY, headers=BIOLOGY,
                      status=201)
        app.delete('/v1/pending/%s' % made[0]['id'], headers=PHYSICS,
                   status=204)
        app.post_json('/v1/pending', self.BODY, headers=PHYSICS,
                      status=201)

    def test_lists_are_the_callers_and_paged(self):
        ids = sorted(self.app.post_json('/v1/pending', self.BODY,
                                        headers=PHYSICS).json['pending']['id']
                     for _ in range(3))
        self.app.post_json('/v1/pending', self.BODY, headers=BIOLOGY)
        page = self.app.get('/v1/pending', headers=PHYSICS).json
        self.assertEqual(ids[:2], [p['id'] for p in page['pending']])
        rest = self.app.get(page['links'][0]['href'],
                            headers=PHYSICS).json['pending']
        self.assertEqual(ids[2:], [p['id'] for p in rest])
        # A project filter cannot widen a project caller's view.
        others = self.app.get('/v1/pending?project_id=biology&limit=2',
                              headers=PHYSICS).json['pending']
        self.assertEqual({'physics'}, {p['project_id'] for p in others})
        biology = self.app.get('/v1/pending?project_id=biology',
                               headers=ADMIN).json['pending']
        self.assertEqual(['biology'], [p['project_id'] for p in biology])

    def test_withdraw(self):
        made = self.app.post_json('/v1/pending', self.BODY,
                                  headers=PHYSICS).json['pending']
        path = '/v1/pending/%s' % made['id']
        self.app.delete(path, headers=BIOLOGY, status=404)
        self.app.delete(path, headers=PHYSICS, status=204)
        self.assertEqual('cancelled', self.app.get(
            path, headers=PHYSICS).json['pending']['state'])
        resp = self.app.delete(path, headers=PHYSICS, status=409)
        self.assertEqual('preemption.pending_not_queued',
                         self.error(resp)['code'])
        cancelled = self.app.get('/v1/pending?state=cancelled',
                                 headers=PHYSICS).json['pending']
        self.assertEqual([made['id']], [p['id'] for p in cancelled])

    def test_refused(self):
        for body, field in (
                (dict(self.BODY, deadline='2001-01-01T00:00:00Z'),
                 'deadline'),
                (dict(self.BODY, deadline='2099-13-45T00:00:00Z'),
                 'deadline'),
                # Out of range once in UTC: these were a 500.
                (dict(self.BODY, deadline='9999-12-31T23:59:59-14:00'),
                 'deadline'),
                (dict(self.BODY, deadline='0001-01-01T00:00:00+01:00'),
                 'deadline'),
                ({'servers': [dict(base.SERVER, flavor='nope')]},
                 'servers/0/flavor'),
                ({'servers': []}, 'servers'),
                ({'servers': [dict(base.SERVER, project_id='biology')]},
                 'servers/0')):
            resp = self.app.post_json('/v1/pending', body, headers=PHYSICS,
                                      status=400)
            self.assertEqual(field, self.error(resp)['field'], body)
        resp = self.app.post_json('/v1/pending', self.BODY, headers=ADMIN,
                                  status=403)
        self.assertEqual([], self.app.get('/v1/pending', headers=ADMIN)
                         .json['pending'])


class TestActions(ApiTestCase):

    def test_an_action_is_seen_by_every_project_it_touched(self):
        action = base.add_action(self.db, 'physics', ['biology'])
        base.add_action(self.db, 'chemistry', ['chemistry'])
        for who in (PHYSICS, BIOLOGY, ADMIN):
            listed = self.app.get('/v1/actions?state=failed',
                                  headers=who).json['actions']
            self.assertIn(action['id'], [a['id'] for a in listed])
        self.assertEqual([action['id']], [a['id'] for a in self.app.get(
            '/v1/actions', headers=BIOLOGY).json['actions']])
        shown = self.app.get('/v1/actions/%s' % action['id'],
                             headers=BIOLOGY).json['action']
        self.assertEqual(('failed', 'scheduling_failure', 'Not enough room.'),
                         (shown['state'], shown['trigger'], shown['reason']))
        self.assertEqual([('biology-vm-0', 'planned')],
                         [(v['server_id'], v['state'])
                          for v in shown['victims']])
        self.assertTrue(shown['finished_at'].endswith('Z'))
        outsider = af.identity(['reader'], 'chemistry')
        resp = self.app.get('/v1/actions/%s' % action['id'],
                            headers=outsider, status=404)
        self.assertEqual('preemption.action_not_found',
                         self.error(resp)['code'])

    def test_a_project_sees_its_own_part_of_an_action(self):
        """An action touches several projects; each project's callers
        see their own victims, and the trigger only if theirs, not the
        other projects' server ids, hosts and projects."""
        action = base.add_action(self.db, 'physics',
                                 ['biology', 'chemistry', 'physics'],
                                 trigger_id='boot-of-physics')

        def seen(who):
            shown = self.app.get('/v1/actions/%s' % action['id'],
                                 headers=who).json['action']
            [listed] = [a for a in self.app.get(
                '/v1/actions', headers=who).json['actions']
                if a['id'] == action['id']]
            self.assertEqual(shown, listed)
            return (shown['project_id'], shown['trigger_id'],
                    [(v['server_id'], v['project_id'])
                     for v in shown['victims']])

        self.assertEqual(
            (None, None, [('biology-vm-0', 'biology')]), seen(BIOLOGY))
        self.assertEqual(
            ('physics', 'boot-of-physics', [('physics-vm-2', 'physics')]),
            seen(PHYSICS))
        self.assertEqual(
            ('physics', 'boot-of-physics',
             [('biology-vm-0', 'biology'), ('chemistry-vm-1', 'chemistry'),
              ('physics-vm-2', 'physics')]), seen(ADMIN))
        # The same with a project_id filter an operator would give.
        self.assertEqual(
            [[('biology-vm-0', 'biology')]],
            [[(v['server_id'], v['project_id']) for v in a['victims']]
             for a in self.app.get('/v1/actions?project_id=chemistry',
                                   headers=BIOLOGY).json['actions']])

    def test_a_project_sees_no_other_projects_request_or_server_ids(self):
        """A project that only lost servers to an action read the request
        of the other project's boot (its size, count, zone, traits and
        forced compute hosts), and the reason named other projects'
        servers ("Could not lock <id>: ...")."""
        victims = [model.Server('%s-vm' % project, 'cmp1', {'VCPU': 2},
                                preemptible=True, project_id=project)
                   for project in ('biology', 'chemistry')]
        action = actions_db.create_action(
            self.db, context.admin_context(), 'scheduling_failure',
            'boot-of-physics', 'physics', 'best_fit',
            {'resources': {'VCPU': 2}, 'count': 1, 'hosts': ['cmp1']},
            victims, state='failed',
            reason='Could not lock chemistry-vm: Nova: POST '
                   '/servers/chemistry-vm/action: HTTP 503')

        def seen(who):
            shown = self.app.get('/v1/actions/%s' % action['id'],
                                 headers=who).json['action']
            return shown['request'], shown['reason']

        hidden = ("Could not lock another project's server: Nova: POST "
                  "/servers/another project's server/action: HTTP 503")
        self.assertEqual((None, hidden), seen(BIOLOGY))
        self.assertEqual(['cmp1'], seen(PHYSICS)[0]['hosts'])
        self.assertEqual(hidden, seen(PHYSICS)[1])
        self.assertEqual(action['reason'], seen(
            af.identity(['reader'], 'chemistry'))[1])
        self.assertEqual((action['request'], action['reason']),
                         seen(ADMIN))

    def test_filters(self):
        failed = base.add_action(self.db, 'physics', [])
        planned = base.add_action(self.db, 'physics', ['biology'],
                                  state='planned')
        by_state = self.app.get('/v1/actions?state=planned',
                                headers=ADMIN).json['actions']
        self.assertEqual([planned['id']], [a['id'] for a in by_state])
        self.assertEqual([], self.app.get(
            '/v1/actions?trigger=watermark', headers=ADMIN).json['actions'])
        by_project = self.app.get('/v1/actions?project_id=biology',
                                  headers=ADMIN).json['actions']
        self.assertEqual([planned['id']], [a['id'] for a in by_project])
        self.assertEqual(sorted([failed['id'], planned['id']]), [
            a['id'] for a in self.app.get(
                '/v1/actions?trigger=scheduling_failure',
                headers=ADMIN).json['actions']])
        self.app.get('/v1/actions?state=dead', headers=ADMIN, status=400)


class TestCapacity(ApiTestCase):

    # Figures served again for an hour: however slow the machine, the
    # requests of a test are within it.
    OVERRIDES = {('preemption', 'capacity_max_age'): 3600}

    def test_per_aggregate(self):
        figures = {item['aggregate']: item for item in self.app.get(
            '/v1/capacity', headers=PHYSICS_READER).json['capacity']}
        self.assertEqual(['batch', 'interactive'], sorted(figures))
        self.assertEqual({'total': 32, 'used': 32, 'preemptible': 24,
                          'free': 0}, figures['batch']['resources']['VCPU'])
        # cmp4 is down: its room is not free.
        self.assertEqual({'total': 32, 'used': 16, 'preemptible': 0,
                          'free': 0},
                         figures['interactive']['resources']['VCPU'])
        only = self.app.get('/v1/capacity?aggregate=batch',
                            headers=ADMIN).json['capacity']
        self.assertEqual(['batch'], [item['aggregate'] for item in only])

    def test_readers_asking_again_and_again_read_the_cloud_once(self):
        """Every GET /v1/capacity, which any reader may send, read a
        snapshot of the whole cloud (with Nova: every server, and three
        Placement requests per compute node); within [preemption]
        capacity_max_age the figures read once are served again."""
        reads = []
        real_cluster = self.driver.cluster

        def cluster():
            reads.append(1)
            return real_cluster()

        self.useFixture(fixtures.MockPatchObject(self.driver, 'cluster',
                                                 cluster))
        answers = [self.app.get('/v1/capacity', headers=PHYSICS_READER)
                   .json['capacity'] for _ in range(5)]
        self.assertEqual(1, len(reads))
        self.assertEqual([answers[0]] * 5, answers)
