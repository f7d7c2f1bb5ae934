"""The promoter, the guarantees it records and the watermark and
max-lifetime modes, on the simulated cloud with the engine's database.

The cloud: two hosts of 2 VCPU each (four 1-VCPU slots), one aggregate.
"""

import copy
import datetime
import random

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
import sqlalchemy as sa
import testtools

from reaper_svc import action_states as states
from reaper_svc.db import actions as actions_db
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import models
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc.drivers import simulated
from reaper_svc import modes as modes_mod
from reaper_svc import nova_notifications
from reaper_svc import promoter as promoter_mod
from reaper_svc import strategies
from reaper_svc.strategies import model
from reaper_svc.strategies import rules
from reaper_svc.tests.functional import engine_fixture as ef
from reaper_svc import trusts
from svc_common import context
from svc_common import errors
from svc_common.tests.fixtures import postgresql
from svc_common.tests.fixtures import races

PREEMPTIBLE = {'arbiter:preemptible': 'true'}
ONE = {'VCPU': 1, 'MEMORY_MB': 512}
T0 = datetime.datetime(2030, 1, 1, 12, 0, 0)


class EngineDied(Exception):
    """Stands for the engine process dying where it is raised."""


def cloud(servers):
    return {
        'flavors': {'p1': {'resources': ONE, 'extra_specs': PREEMPTIBLE},
                    'm1': {'resources': ONE}},
        'aggregates': {'all': {'hosts': ['cmp1', 'cmp2']}},
        'hosts': {'cmp1': {'capacity': {'VCPU': 2, 'MEMORY_MB': 4096}},
                  'cmp2': {'capacity': {'VCPU': 2, 'MEMORY_MB': 4096}}},
        'servers': servers}


def full(flavor='m1', project='other', created_at=T0):
    return [{'id': 'n%d' % i, 'host': 'cmp%d' % (1 + i // 3),
             'flavor': flavor, 'project_id': project,
             'created_at': created_at}
            for i in range(1, 5)]


class RecordingTrusts(trusts.TrustBroker):
    """A broker that records the trusts given up (the simulated cloud
    ignores the auth it builds with)."""

    def __init__(self):
        self.deleted = []
        self.fail = False

    def create_trust(self, user_token, project_id, roles):
        raise NotImplementedError()

    def auth(self, trust_id):
        return None

    def delete_trust(self, trust_id):
        if self.fail:
            raise ks_exceptions.ConnectFailure('Keystone is away')
        self.deleted.append(trust_id)


class PromoterTestBase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.engine = self.useFixture(ef.ReaperEngine(
            grace_period=0, database_url=self.database_url()))
        self.ctx = context.admin_context()
        self.now = T0

    def database_url(self):
        """None: the engine fixture's SQLite file."""
        return None

    def use_cloud(self, servers, description=None, **overrides):
        """The simulated cloud of :func:`cloud` with ``servers`` (or
        ``description``), ``overrides`` of ``[preemption]``."""
        for option, value in overrides.items():
            self.engine.conf.set_override(option, value, 'preemption')
        self.engine.cloud = simulated.SimulatedCloud(
            description or cloud(copy.deepcopy(servers)),
            clock=lambda: self.now)
        self.runner = self.engine.build()
        self.reaper = self.runner.reaper
        self.reaper.clock = lambda: self.now
        self.promoter = promoter_mod.Promoter(
            self.engine.conf, self.engine.db, self.reaper,
            clock=lambda: self.now)
        return self.engine.cloud

    def queue(self, project='physics', count=3, flavor='m1', **kwargs):
        kwargs.setdefault('all_or_nothing', True)
        return pending_db.create_request(
            self.engine.db, self.ctx, project, 'user-' + project,
            [{'name': 'job', 'flavor': flavor, 'image': 'img',
              'networks': [], 'count': count}], **kwargs)

    def age(self, request, by):
        """Make ``request`` older by the timedelta ``by``."""
        model = models.PendingRequest
        with self.engine.db.writer.using(self.ctx) as session:
            row = session.get(model, request['id'])
            row.created_at -= by

    def state(self, request):
        return pending_db.get_request(self.engine.db, self.ctx,
                                      request['id'])


class TestPromoter(PromoterTestBase):

    def test_group_of_three_built_when_space_frees_and_not_before(self):
        sim = self.use_cloud(full())
        request = self.queue(count=3, min_runtime=3600)
        self.assertEqual([], self.promoter.promote()['built'])
        sim.delete('n1')
        sim.delete('n2')
        # Two slots free: nothing built, nothing half-built.
        self.assertEqual([], self.promoter.promote()['built'])
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        self.assertEqual([], [e for e in sim.journal if e[0] == 'create'])
        sim.delete('n3')
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        promoted = self.state(request)
        self.assertEqual(pending_db.ACTIVE, promoted['state'])
        self.assertEqual(3, len(promoted['server_ids']))
        for server_id in promoted['server_ids']:
            self.assertEqual('physics',
                             sim.server_state(server_id)['project_id'])
        # Guarantees recorded for an hour from the build.
        guaranteed = guarantees_db.current(self.engine.db, self.ctx,
                                           now=self.now)
        self.assertEqual({s: T0 + datetime.timedelta(hours=1)
                          for s in promoted['server_ids']}, guaranteed)
        # A second pass builds nothing more.
        self.assertEqual([], self.promoter.promote()['built'])
        self.assertEqual(3, len([e for e in sim.journal
                                 if e[0] == 'create']))

    def test_a_pass_places_each_shape_of_request_once(self):
        # Forty requests of two shapes queued on a full cloud: the pass
        # tries to place each shape once, not each request (a thousand
        # requests on 2,000 hosts took seconds per pass).
        sim = self.use_cloud(full())
        requests = []
        for n in range(20):
            requests.append(self.queue(project='p%02d' % n, count=1))
            requests.append(self.queue(project='q%02d' % n, count=2))
        placed = []
        real = promoter_mod.placement

        def counting(cluster, kinds):
            placed.append([kind.count for kind in kinds])
            return real(cluster, kinds)

        self.useFixture(fixtures.MockPatchObject(
            promoter_mod, 'placement', counting))
        self.assertEqual([], self.promoter.promote()['built'])
        self.assertEqual([[1], [2]], sorted(placed))
        # Room for one: the oldest one-server request of the smallest
        # share is built, then the others still wait.
        sim.delete('n1')
        del placed[:]
        built = self.promoter.promote()['built']
        self.assertEqual([requests[0]['id']], built)
        self.assertEqual(pending_db.QUEUED, self.state(requests[2])['state'])
        self.assertLessEqual(len(placed), 4)

    def count_snapshots(self, sim):
        """The list that grows by one at each snapshot of ``sim``."""
        reads = []
        real = sim.cluster

        def cluster():
            reads.append(1)
            return real()

        self.useFixture(fixtures.MockPatchObject(sim, 'cluster', cluster))
        return reads

    def test_a_pass_reads_the_cloud_once_for_its_own_builds(self):
        """A pass read a new snapshot of the whole cloud after each
        request it built (2,000 queued requests on 20,000 servers: most
        of the pass); what it built itself is counted in the room it
        knows instead, and the next requests are placed in that."""
        sim = self.use_cloud([], promoter_preempts=False)
        requests = [self.queue(project='p%d' % n, count=1)
                    for n in range(3)]
        late = self.queue(project='q', count=2)
        # Requests queued in one tick of the database's clock (a
        # millisecond on SQLite) are served by id, a random UUID: the
        # late one went first now and then, built on two slots.  It is
        # the youngest by a second here; the order among the three is
        # not the test's.
        for request in requests:
            self.age(request, datetime.timedelta(seconds=1))
        reads = self.count_snapshots(sim)
        built = self.promoter.promote()['built']
        # Three one-server requests fill three slots; the fourth request
        # (two servers, all or nothing) is not tried on the last slot.
        self.assertEqual(sorted(r['id'] for r in requests), sorted(built))
        self.assertEqual(1, len(reads))
        self.assertEqual(pending_db.QUEUED, self.state(late)['state'])
        self.assertIsNone(self.state(late)['reason'])
        self.assertEqual(3, len([e for e in sim.journal
                                 if e[0] == 'create']))

    def test_servers_are_counted_on_the_hosts_they_landed_on(self):
        """Nova's scheduler does not fill hosts in name order as the
        promoter's placement does: the pass counts a server it built on
        the host the cloud shows it on."""
        description = cloud([])
        description['hosts']['cmp2']['capacity']['VCPU'] = 3
        description['flavors']['m2'] = {'resources': {'VCPU': 2,
                                                      'MEMORY_MB': 512}}
        sim = self.use_cloud([], description=description)
        first = self.queue(project='p', count=1)
        pair = self.queue(project='q', count=2, flavor='m2')
        real_create = sim.create

        def create(*args, **kwargs):
            # The first build lands on cmp2, which the promoter's first
            # fit would not have chosen.
            if not [e for e in sim.journal if e[0] == 'create']:
                sim.set_host('cmp1', enabled=False)
                try:
                    return real_create(*args, **kwargs)
                finally:
                    sim.set_host('cmp1', enabled=True)
            return real_create(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(sim, 'create', create))
        reads = self.count_snapshots(sim)
        # cmp1 has 2 VCPU free and cmp2 2 of its 3: room for the pair.
        # Counted on cmp1 (first fit), the pair would not have fitted.
        self.assertEqual([first['id'], pair['id']],
                         self.promoter.promote()['built'])
        self.assertEqual(['cmp2', 'cmp1', 'cmp2'],
                         [e[2] for e in sim.journal if e[0] == 'create'])
        self.assertEqual(1, len(reads))

    def test_a_build_that_finds_no_room_has_the_cloud_read_again(self):
        """Someone else takes room while the pass goes on: the room the
        pass knows is then wrong, the build that trusted it finds no
        room (nothing half-built, the request queued again), and the
        pass reads the cloud again before it places another request."""
        sim = self.use_cloud(full()[:2], promoter_preempts=False)
        first = self.queue(project='p', count=1)
        second = self.queue(project='q', count=1)
        third = self.queue(project='r', count=1)
        real_create = sim.create

        def create(project_id, *args, **kwargs):
            ids = real_create(project_id, *args, **kwargs)
            if project_id == 'p':
                # Another user's boot takes the last slot meanwhile.
                real_create('other', 'theirs', 'm1', 1, 1)
            return ids

        self.useFixture(fixtures.MockPatchObject(sim, 'create', create))
        reads = self.count_snapshots(sim)
        done = self.promoter.promote()
        self.assertEqual(([first['id']], [second['id']]),
                         (done['built'], done['requeued']))
        self.assertEqual(pending_db.ACTIVE, self.state(first)['state'])
        retried = self.state(second)
        self.assertEqual((pending_db.QUEUED, []),
                         (retried['state'], retried['server_ids']))
        self.assertIn('No room when building', retried['reason'])
        # Read again, the cloud has no room for the third: not tried.
        self.assertEqual(2, len(reads))
        self.assertEqual((pending_db.QUEUED, None),
                         (self.state(third)['state'],
                          self.state(third)['reason']))
        self.assertEqual([], [s for s in sim.cluster().servers.values()
                              if s.project_id == 'q'])

    def test_a_pass_says_what_became_of_each_request_it_tried(self):
        """The result of a pass listed under ``built`` every request it
        tried to build, whether its servers were built, it was queued
        again for want of room, the cloud refused it or the user
        withdrew it meanwhile."""
        sim = self.use_cloud([], promoter_preempts=False)
        built = self.queue(project='a', count=1)
        refused = self.queue(project='b', count=1)
        no_room = self.queue(project='c', count=1)
        withdrawn = self.queue(project='d', count=1)
        lost = self.queue(project='e', count=1, flavor='gone')
        real_create = sim.create

        def create(project_id, *args, **kwargs):
            if project_id == 'b':
                raise driver_base.DriverError('HTTP 500')
            if project_id == 'c':
                raise driver_base.NoValidHost('taken meanwhile')
            return real_create(project_id, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(sim, 'create', create))
        real_move = pending_db.transition

        def transition(db, ctx, request_id, current, new, **fields):
            if request_id == withdrawn['id'] and new == pending_db.BUILDING:
                # The user withdraws it as the pass takes it.
                pending_db.cancel_request(db, ctx, request_id)
            return real_move(db, ctx, request_id, current, new, **fields)

        self.useFixture(fixtures.MockPatchObject(
            pending_db, 'transition', transition))
        done = self.promoter.promote()
        self.assertEqual(
            {'built': [built['id']], 'requeued': [no_room['id']],
             'failed': sorted([refused['id'], lost['id']]),
             'taken': [withdrawn['id']]},
            {key: sorted(done[key])
             for key in ('built', 'requeued', 'failed', 'taken')})
        self.assertEqual(
            [pending_db.ACTIVE, pending_db.FAILED, pending_db.QUEUED,
             pending_db.CANCELLED, pending_db.FAILED],
            [self.state(r)['state']
             for r in (built, refused, no_room, withdrawn, lost)])

    def test_a_server_deleted_as_soon_as_built_ends_no_pass(self):
        """A server deleted by its owner (or any error of the cloud) right
        after the promoter built it, before the pass asked where it
        landed: the pass ended with a TypeError, and the requests after
        it waited for the next pass."""
        sim = self.use_cloud([], promoter_preempts=False)
        first = self.queue(project='p', count=1)
        second = self.queue(project='q', count=1)
        real_create = sim.create

        def create(project_id, *args, **kwargs):
            ids = real_create(project_id, *args, **kwargs)
            if project_id == 'p':
                sim.delete(ids[0])
            return ids

        self.useFixture(fixtures.MockPatchObject(sim, 'create', create))
        done = self.promoter.promote()
        self.assertEqual([first['id'], second['id']], done['built'])
        self.assertEqual(pending_db.ACTIVE, self.state(second)['state'])

    def test_a_group_whose_undo_fails_is_not_built_twice(self):
        """A request of two kinds: the first is built, the second finds
        no room, and Nova refuses (503) to delete the first kind's
        server.  Queued again, the request was built again next to it at
        the next pass: two servers of the first kind in the project."""
        sim = self.use_cloud([], promoter_preempts=False)
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'user-physics',
            [{'name': 'a', 'flavor': 'm1', 'image': 'img', 'networks': [],
              'count': 1},
             {'name': 'b', 'flavor': 'm1', 'image': 'img', 'networks': [],
              'count': 1}], all_or_nothing=True)
        real_create, real_delete = sim.create, sim.delete
        refuse = [True]

        def create(project_id, name, *args, **kwargs):
            if name == 'b' and refuse[0]:
                raise driver_base.NoValidHost('taken meanwhile')
            return real_create(project_id, name, *args, **kwargs)

        def delete(server_id):
            if refuse[0]:
                raise driver_base.DriverError('HTTP 503')
            return real_delete(server_id)

        self.useFixture(fixtures.MockPatchObject(sim, 'create', create))
        self.useFixture(fixtures.MockPatchObject(sim, 'delete', delete))
        done = self.promoter.promote()
        self.assertEqual(([], [request['id']]),
                         (done['requeued'], done['failed']))
        [left] = [s.id for s in sim.cluster().servers.values()
                  if s.project_id == 'physics']
        failed = self.state(request)
        self.assertEqual(pending_db.FAILED, failed['state'])
        self.assertIn(left, failed['reason'])
        # The cloud is well again: nothing more is built for it.
        refuse[0] = False
        self.assertEqual([], self.promoter.promote()['built'])
        self.assertEqual([left], [s.id for s in sim.cluster().servers.values()
                                  if s.project_id == 'physics'])

    def test_fair_order_smallest_share_first_then_age(self):
        # physics runs 2 of the 4 slots; biology none.  One slot free.
        servers = full()[:3]
        servers[0]['project_id'] = servers[1]['project_id'] = 'physics'
        self.use_cloud(servers)
        older = self.queue('physics', count=1)
        newer = self.queue('biology', count=1)
        self.assertEqual([newer['id']], self.promoter.promote()['built'])
        self.assertEqual(pending_db.QUEUED, self.state(older)['state'])
        # Between equal shares, the oldest goes first.
        self.engine.cloud.delete('n3')
        self.engine.cloud.delete(self.state(newer)['server_ids'][0])
        third = self.queue('chemistry', count=1)
        fourth = self.queue('maths', count=1)
        # Queued in one millisecond, they would be served by id.
        self.age(third, datetime.timedelta(seconds=1))
        built = self.promoter.promote()['built']
        self.assertEqual([third['id'], fourth['id']], built[:2])

    def test_requests_queued_in_one_tick_are_served_as_submitted(self):
        """Requests with one created_at (queued in one tick of the
        database's clock) are served in one order, the order they were
        submitted in (not by id), whichever engine serves them: the
        queue (the query) and the fair order agree."""
        self.use_cloud(full()[:3], promoter_preempts=False)
        requests = [self.queue(project='p%d' % n, count=1)
                    for n in range(5)]
        with self.engine.db.writer.using(self.ctx) as session:
            for request in requests:
                session.get(models.PendingRequest,
                            request['id']).created_at = T0
        submitted = [r['id'] for r in requests]
        waiting = pending_db.queued(self.engine.db, self.ctx)
        self.assertEqual(submitted, [r['id'] for r in waiting])
        self.assertEqual(submitted, [
            r['id'] for r in promoter_mod.fair_order(
                list(reversed(waiting)), {})])
        # One slot free: the first submitted is built, the others wait.
        self.assertEqual([submitted[0]], self.promoter.promote()['built'])
        self.assertEqual([pending_db.QUEUED] * 4,
                         [self.state({'id': i})['state']
                          for i in submitted[1:]])

    def test_deadline_expiry(self):
        self.use_cloud(full())
        self.now = actions_db.utcnow()
        request = self.queue(deadline=self.now
                             + datetime.timedelta(hours=1))
        self.promoter.promote()
        self.assertEqual(pending_db.QUEUED, self.state(request)['state'])
        self.now = actions_db.utcnow() + datetime.timedelta(hours=2)
        self.assertEqual([request['id']], self.promoter.promote()['expired'])
        expired = self.state(request)
        self.assertEqual(pending_db.EXPIRED, expired['state'])
        self.assertIn('deadline', expired['reason'])
        # Room afterwards builds nothing for it.
        for name in ('n1', 'n2', 'n3'):
            self.engine.cloud.delete(name)
        self.assertEqual([], self.promoter.promote()['built'])

    def test_withdrawn_request_is_not_built(self):
        sim = self.use_cloud([])
        request = self.queue(count=1)
        pending_db.cancel_request(self.engine.db, self.ctx, request['id'])
        self.assertEqual([], self.promoter.promote()['built'])
        self.assertEqual([], sim.journal)

    def test_non_preemptible_request_has_the_reaper_make_room(self):
        servers = full(flavor='p1', project='batch')
        sim = self.use_cloud(servers)
        request = self.queue(count=2)
        done = self.promoter.promote()
        self.assertEqual([request['id']], done['preempted_for'])
        [action] = actions_db.list_actions(self.engine.db, self.ctx, 10)
        self.assertEqual(('pending_request', request['id'], 2),
                         (action['trigger'], action['trigger_id'],
                          len(action['victims'])))
        self.reaper.process_unfinished()     # grace 0: deleted
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        self.assertEqual(2, len(self.state(request)['server_ids']))
        # Once per request: a later pass plans nothing more.
        self.assertEqual(1, len(actions_db.list_actions(
            self.engine.db, self.ctx, 10)))
        self.assertEqual(2, len([e for e in sim.journal
                                 if e[0] == 'delete']))

    def test_victims_of_a_request_withdrawn_in_the_grace_are_kept(self):
        """The promoter had the reaper give notice for a request, and the
        user withdrew it during the grace period: its victims were still
        deleted at the end, for room nothing needed.  They are unlocked
        (released), not deleted."""
        servers = full(flavor='p1', project='batch')
        sim = self.use_cloud(servers)
        request = self.queue(count=2)
        self.assertEqual([request['id']],
                         self.promoter.promote()['preempted_for'])
        [action] = actions_db.list_actions(self.engine.db, self.ctx, 10)
        self.assertEqual(states.NOTICED, action['state'])
        pending_db.cancel_request(self.engine.db, self.ctx, request['id'])
        self.reaper.process_unfinished()     # grace 0: due
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(states.DONE, action['state'])
        self.assertIn('cancelled', action['reason'])
        self.assertEqual(['released', 'released'],
                         [v['state'] for v in action['victims']])
        self.assertEqual([], [e for e in sim.journal if e[0] == 'delete'])
        for victim in action['victims']:
            self.assertFalse(sim.server_state(victim['server_id'])['locked'])

    def test_a_withdrawn_request_preempts_nothing_more(self):
        """The promoter planned room for a request, Nova refused to lock
        the victims for a while, and the user withdrew the request: the
        resumed plan stopped and deleted servers for a request that no
        longer existed.  It is cancelled."""
        sim = self.use_cloud(full(flavor='p1', project='batch'))
        # The actions' created_at is the real time: the hour of retries
        # of a refused lock runs from then.
        self.now = actions_db.utcnow()
        real_lock = sim.lock
        refusing = [True]

        def lock(server_id, reason):
            if refusing:
                raise driver_base.DriverError('HTTP 503')
            return real_lock(server_id, reason)

        self.useFixture(fixtures.MockPatchObject(sim, 'lock', lock))
        request = self.queue(count=2)
        self.assertEqual([request['id']],
                         self.promoter.promote()['preempted_for'])
        [action] = actions_db.list_actions(self.engine.db, self.ctx, 10)
        self.assertEqual(states.PLANNED, action['state'])
        pending_db.cancel_request(self.engine.db, self.ctx, request['id'])
        refusing.clear()
        self.reaper.process_unfinished()
        self.reaper.process_unfinished()
        action = actions_db.get_action(self.engine.db, self.ctx,
                                       action['id'])
        self.assertEqual(states.CANCELLED, action['state'])
        self.assertIn('cancelled', action['reason'])
        self.assertEqual([], [e for e in sim.journal
                              if e[0] in ('lock', 'stop', 'delete')])

    def test_preemptible_request_never_has_the_reaper_preempt(self):
        self.use_cloud(full(flavor='p1', project='batch'))
        self.queue(count=1, flavor='p1')
        self.assertEqual([], self.promoter.promote()['preempted_for'])
        self.assertEqual([], actions_db.list_actions(self.engine.db,
                                                     self.ctx, 10))

    def test_promoted_servers_are_no_victims_of_any_strategy(self):
        # Two old preemptibles of another project, room for two more.
        servers = full(flavor='p1', project='batch')[:2]
        self.use_cloud(servers)
        request = self.queue(count=2, flavor='p1', min_runtime=8 * 3600)
        self.promoter.promote()
        promoted = set(self.state(request)['server_ids'])
        self.assertEqual(2, len(promoted))
        cluster = self.engine.cloud.cluster()
        normal = model.Request(resources=ONE, count=1)
        for name in strategies.NAMES:
            strategy = strategies.load(name)
            for _ in range(5):
                selection = rules.select(strategy, cluster, normal,
                                         self.now, random.Random())
                self.assertEqual('victims', selection.outcome)
                self.assertFalse(promoted & set(selection.victims), name)
            # Room for three needs a promoted server: nothing is killed.
            three = model.Request(resources=ONE, count=3)
            self.assertEqual('unsatisfiable', rules.select(
                strategy, cluster, three, self.now).outcome)
        # Once the guarantee is over they are candidates again.
        later = self.now + datetime.timedelta(hours=9)
        three = model.Request(resources=ONE, count=3)
        self.assertEqual('victims', rules.select(
            strategies.load('best_fit'), cluster, three, later).outcome)

    def test_servers_being_built_are_no_victims(self):
        """A NoValidHost while the promoter waits for its servers to leave
        BUILD (minutes with Nova, which knows nothing of guarantees) does
        not take them: their guarantee was recorded only after the
        build, and ran from the start of the pass."""
        # The engine's clock is the database's, as in a real engine: a
        # guarantee is read as ending at most [preemption]
        # max_guaranteed_runtime after the database recorded it.
        start = self.now = guarantees_db.clock.database_now(
            self.engine.db, self.ctx)
        sim = self.use_cloud(full(project='batch')[:2])
        request = self.queue(count=2, flavor='p1', min_runtime=3600)
        meanwhile = []
        real_create = sim.create
        build = datetime.timedelta(minutes=10)

        def create(*args, **kwargs):
            kwargs['guaranteed_until'] = None
            ids = real_create(*args, **kwargs)
            # The servers exist, in BUILD; ten minutes pass before they
            # are active, and a normal boot finds no host meanwhile.
            self.now += build
            meanwhile.append(self.reaper.handle_failure(
                nova_notifications.SchedulingFailure(
                    instance_uuid='boot-1', project_id='physics',
                    flavor_name='m1', resources=ONE, count=1,
                    availability_zone=None, required_traits=frozenset())))
            return ids

        sim.create = create
        self.assertEqual([request['id']], self.promoter.promote()['built'])
        built = self.state(request)['server_ids']
        self.assertEqual([], [e for e in sim.journal if e[0] == 'stop'])
        [action] = meanwhile
        self.assertEqual((states.FAILED, []),
                         (action['state'], action['victims']))
        # Guaranteed for the hour after the build, not after the pass
        # started.
        self.assertEqual(
            {s: start + build + datetime.timedelta(hours=1) for s in built},
            guarantees_db.current(self.engine.db, self.ctx, now=self.now))

    def test_finished_requests_give_their_trust_up(self):
        """A trust lets the reaper act as its user on the project, with
        no end of its own: only a withdrawal deleted it, and a request
        built, failed or expired kept it for ever."""
        self.use_cloud(full()[:3])
        broker = RecordingTrusts()
        self.promoter = promoter_mod.Promoter(
            self.engine.conf, self.engine.db, self.reaper, trusts=broker,
            clock=lambda: self.now)
        built = self.queue(count=1, trust_id='t-built')
        waiting = self.queue(count=2, trust_id='t-waiting')
        expiring = self.queue(count=2, trust_id='t-expiring',
                              deadline=self.now + datetime.timedelta(
                                  minutes=1))
        lost = self.queue(count=1, flavor='gone', trust_id='t-lost')
        done = self.promoter.promote()
        self.assertEqual([built['id']], done['built'])
        self.assertEqual(['t-built', 't-lost'], sorted(broker.deleted))
        self.assertEqual(pending_db.FAILED, self.state(lost)['state'])
        self.now += datetime.timedelta(minutes=2)
        self.assertEqual([expiring['id']], self.promoter.promote()['expired'])
        self.assertEqual(['t-built', 't-expiring', 't-lost'],
                         sorted(broker.deleted))
        # Still queued: its trust builds it later.
        self.assertEqual(pending_db.QUEUED, self.state(waiting)['state'])
        # A trust Keystone will not delete is only logged.
        broker.fail = True
        self.engine.cloud.delete('n1')
        self.engine.cloud.delete('n2')
        self.assertEqual([waiting['id']], self.promoter.promote()['built'])
        self.assertEqual(pending_db.ACTIVE, self.state(waiting)['state'])

    def test_guarantees_come_from_the_database(self):
        # The server itself carries no guarantee: the record does.  The
        # engine's clock is the database's, as in a real engine (see
        # test_servers_being_built_are_no_victims).
        self.now = guarantees_db.clock.database_now(self.engine.db, self.ctx)
        sim = self.use_cloud(full(flavor='p1', project='batch'))
        until = self.now + datetime.timedelta(hours=1)
        guarantees_db.record(self.engine.db, self.ctx, ['n1'], until)
        self.assertIsNone(sim._servers['n1']['guaranteed_until'])
        self.assertEqual(until, sim.cluster().servers['n1'].guaranteed_until)
        self.assertIsNone(sim.cluster().servers['n2'].guaranteed_until)
        selection = self.reaper.preview(model.Request(resources=ONE,
                                                      count=4))
        self.assertEqual('unsatisfiable', selection.outcome)

    def test_delete_notification_wakes_the_promoter(self):
        self.engine.conf.set_override('promote_interval', 3600,
                                      'preemption')
        sim = self.use_cloud(full())
        request = self.queue(count=1)
        runner = self.engine.start()
        self.assertTrue(ef.wait_for(lambda: runner.is_leader))
        task = [t for t in runner.tasks if t.name == 'preemption-promoter'][0]
        self.assertTrue(ef.wait_for(lambda: task.runs >= 1))
        sim.delete('n1')
        message = ef.samples()['instance.delete.end']
        self.engine.send(message)
        self.assertTrue(ef.wait_for(
            lambda: self.state(request)['state'] == pending_db.ACTIVE))


class TestPromoterPostgreSQL(PromoterTestBase):
    """Races that SQLite cannot have: its writers hold the whole
    database, one at a time."""

    def database_url(self):
        return self.useFixture(postgresql.Database()).url

    def test_submissions_at_once_stay_within_the_cap(self):
        # Another API process submits for the same project at the same
        # moment (its insert not committed yet). Both counted 0 and both
        # queued: max_pending_per_project was passed by as many as were
        # submitted at once.
        engine = sa.create_engine(self.engine.conf.database.connection)
        self.addCleanup(engine.dispose)
        table = models.PendingRequest.__table__
        now = datetime.datetime(2026, 1, 1)

        def other_submission(conn):
            pending_db.lock_queue(conn, 'physics')
            conn.execute(table.insert(), {
                'id': 'other', 'project_id': 'physics', 'servers': [],
                'count': 1, 'all_or_nothing': True, 'state': 'queued',
                'submission_seq': 0, 'created_at': now, 'updated_at': now})
        self.assertRaises(pending_db.TooManyPending, races.during, engine,
                          other_submission,
                          lambda: self.queue(count=1, most=1))
        with engine.connect() as conn:
            self.assertEqual(1, conn.scalar(sa.select(sa.func.count()).where(
                table.c.project_id == 'physics')))

    def test_withdrawal_after_the_promoter_took_the_request_is_refused(self):
        # The promoter builds the request between the withdrawal's read
        # and its write (the policy check runs in between). The
        # withdrawal used to overwrite the state: the request showed
        # cancelled (and its trust was given up) while its servers ran.
        sim = self.use_cloud([])
        request = self.queue(count=1)
        built = []

        def promoter_builds_meanwhile(project_id):
            built.extend(self.promoter.promote()['built'])

        error = self.assertRaises(
            errors.Conflict, pending_db.cancel_request, self.engine.db,
            self.ctx, request['id'], check=promoter_builds_meanwhile)
        self.assertEqual('pending_not_queued', error.code)
        self.assertIn('active', error.detail)
        self.assertEqual([request['id']], built)
        found = self.state(request)
        self.assertEqual('active', found['state'])
        self.assertEqual([e[1] for e in sim.journal if e[0] == 'create'],
                         found['server_ids'])


class TestModes(PromoterTestBase):

    def servers(self):
        servers = full(flavor='p1', project='batch')
        for index, server in enumerate(servers):
            server['created_at'] = T0 - datetime.timedelta(hours=4 - index)
        return servers

    def test_watermark_frees_until_under_it(self):
        sim = self.use_cloud(self.servers(), watermark=0.5, grace_period=60)
        self.assertTrue(self.runner.modes.enabled)
        [action] = self.runner.modes.run()
        self.assertEqual(('watermark', states.NOTICED),
                         (action['trigger'], action['state']))
        # 4 of 4 used, watermark 50 %: the two oldest go.
        self.assertEqual(['n1', 'n2'], [v['server_id']
                                        for v in action['victims']])
        for victim in ('n1', 'n2'):
            self.assertEqual('SHUTOFF', sim.server_state(victim)['status'])
        # While they wait out the grace period, nothing more is taken.
        self.assertEqual([], self.runner.modes.run())
        self.now += datetime.timedelta(seconds=61)
        self.reaper.process_unfinished()
        self.assertEqual({'n3', 'n4'}, set(sim.cluster().servers))
        self.assertEqual([], self.runner.modes.run())

    def test_a_watermark_pass_killed_mid_pass_is_resumed(self):
        """A watermark pass records each notice's victim states in one
        commit once they are locked and stopped (one commit per victim
        was most of a pass of 500 victims).  An engine killed in the
        middle of a pass leaves its last action planned, with no victim
        state; the next leader's pass gives that notice, and the next
        watermark pass takes the aggregates not reached, each once."""
        hosts = ['cmp%d' % n for n in range(1, 5)]
        description = cloud([
            {'id': 'p%d-%s' % (k, host), 'host': host, 'flavor': 'p1',
             'project_id': 'batch',
             'created_at': T0 - datetime.timedelta(hours=k + 1)}
            for host in hosts for k in range(2)])
        description['hosts'] = {host: {'capacity': {'VCPU': 2,
                                                    'MEMORY_MB': 4096}}
                                for host in hosts}
        description['aggregates'] = {'agg-' + host: {'hosts': [host]}
                                     for host in hosts}
        sim = self.use_cloud([], description=description, watermark=0.5,
                             grace_period=60)
        real_stop = sim.stop

        def stop(server_id):
            # The engine dies at the third victim's stop, once locked.
            if len([e for e in sim.journal if e[0] == 'stop']) == 2:
                raise EngineDied()
            return real_stop(server_id)

        with fixtures.MockPatchObject(sim, 'stop', stop):
            self.assertRaises(EngineDied, self.runner.modes.run)
        actions = actions_db.list_actions(self.engine.db, self.ctx, 10)
        self.assertEqual([states.NOTICED, states.NOTICED, states.PLANNED],
                         [a['state'] for a in sorted(
                             actions, key=lambda a: a['trigger_id'])])
        # Another engine leads: it gives the notice, then the watermark
        # pass takes the fourth aggregate.
        runner = self.engine.build('engine-b')
        runner.reaper.clock = lambda: self.now
        runner.reaper.process_unfinished()
        runner.modes.run()
        self.assertEqual([], runner.modes.run())
        actions = actions_db.list_actions(self.engine.db, self.ctx, 10)
        self.assertEqual([['agg-' + host] for host in hosts], sorted(
            a['request']['aggregates'] for a in actions))
        self.assertEqual({states.NOTICED}, {a['state'] for a in actions})
        self.assertEqual(sorted('p1-' + host for host in hosts), sorted(
            v['server_id'] for a in actions for v in a['victims']))
        self.assertEqual({'noticed'}, {v['state'] for a in actions
                                       for v in a['victims']})
        for host in hosts:
            self.assertEqual('SHUTOFF', sim.server_state(
                'p1-' + host)['status'])
            self.assertEqual('ACTIVE', sim.server_state(
                'p0-' + host)['status'])

    def test_watermark_pass_copies_the_snapshot_once(self):
        """A pass over many aggregates while earlier victims wait out
        their grace period builds the snapshot without those candidates
        once, not once per aggregate (each copy costs every server of the
        cloud: a pass over 100 aggregates of 20,000 servers spent most of
        its choice there)."""
        hosts = ['cmp%d' % n for n in range(1, 5)]
        description = cloud([
            {'id': 'p%d-%s' % (k, host), 'host': host, 'flavor': 'p1',
             'project_id': 'batch',
             'created_at': T0 - datetime.timedelta(hours=k + 1)}
            for host in hosts for k in range(2)])
        description['hosts'] = {host: {'capacity': {'VCPU': 2,
                                                    'MEMORY_MB': 4096}}
                                for host in hosts}
        description['aggregates'] = {'agg-' + host: {'hosts': [host]}
                                     for host in hosts}
        self.use_cloud([], watermark=0.5, grace_period=60)
        sim = simulated.SimulatedCloud(description, clock=lambda: self.now)
        self.reaper.driver = sim
        copies = []
        snapshot = sim.cluster

        def counted_snapshot():
            cluster = snapshot()
            copy_of = cluster.without_candidates

            def without_candidates(server_ids):
                copies.append(set(server_ids))
                return copy_of(server_ids)
            cluster.without_candidates = without_candidates
            return cluster
        sim.cluster = counted_snapshot
        modes = modes_mod.Modes(self.engine.conf, self.engine.db,
                                self.reaper)
        # Every host full, each its own aggregate: one victim each (the
        # older of its two servers) brings it to the watermark.
        started = modes.watermark_pass()
        self.assertEqual(sorted('p1-' + host for host in hosts), sorted(
            v['server_id'] for a in started for v in a['victims']))
        copies.clear()
        # They wait out their grace period: nothing more is taken, and
        # the pass copied the snapshot once.
        self.assertEqual([], modes.watermark_pass())
        self.assertEqual([{'p1-' + host for host in hosts}], copies)

    def test_watermark_respects_guarantees(self):
        servers = self.servers()
        servers[0]['guaranteed_until'] = T0 + datetime.timedelta(hours=1)
        self.use_cloud(servers, watermark=0.5)
        [action] = self.runner.modes.run()
        self.assertEqual(['n2', 'n3'], [v['server_id']
                                        for v in action['victims']])

    def test_watermark_off_by_default(self):
        self.use_cloud(self.servers())
        self.assertFalse(self.runner.modes.enabled)
        self.assertNotIn('preemption-modes',
                         [t.name for t in self.runner.tasks])

    def test_max_lifetime(self):
        servers = self.servers()
        servers[0]['guaranteed_until'] = T0 + datetime.timedelta(hours=1)
        sim = self.use_cloud(servers, max_lifetime=2 * 3600 + 60)
        # n1 (4 h, guaranteed), n2 (3 h) are older than 2 h 1 min; n3 is
        # 2 h old, n4 1 h.
        [action] = self.runner.modes.run()
        self.assertEqual(('max_lifetime', ['n2']), (
            action['trigger'], [v['server_id'] for v in action['victims']]))
        self.reaper.process_unfinished()
        self.assertNotIn('n2', sim.cluster().servers)
        self.assertEqual([], self.runner.modes.run())


class TestModesOnPostgreSQL(PromoterTestBase):

    def database_url(self):
        return self.useFixture(postgresql.Database()).url

    def test_watermark_on_an_aggregate_of_a_long_name(self):
        """Nova takes aggregate names of 255 characters; the watermark
        action's trigger id named the aggregate in full, PostgreSQL
        refused it (too long for its column), and the pass ended with an
        error there, for that aggregate and those after it."""
        servers = TestModes.servers(self)
        self.use_cloud(servers, watermark=0.5)
        long_name = 'a' * 255
        description = cloud(copy.deepcopy(servers))
        description['aggregates'] = {long_name: {'hosts': ['cmp1']},
                                     'z-short': {'hosts': ['cmp2']}}
        self.engine.cloud = simulated.SimulatedCloud(description,
                                                     clock=lambda: self.now)
        runner = self.engine.build()
        runner.reaper.clock = lambda: self.now
        actions = runner.modes.run()
        self.assertEqual([[long_name], ['z-short']], sorted(
            a['request']['aggregates'] for a in actions))
        self.assertTrue(all(len(a['trigger_id']) <= 255 for a in actions))


class TestFairOrder(testtools.TestCase):
    """The pure parts of the promoter."""

    def test_dominant_share(self):
        cluster = model.Cluster(
            [model.Host('h', {'VCPU': 4, 'MEMORY_MB': 1000})],
            [model.Server('a', 'h', {'VCPU': 1, 'MEMORY_MB': 500},
                          project_id='p'),
             model.Server('b', 'h', {'VCPU': 2, 'MEMORY_MB': 100},
                          project_id='q')])
        self.assertEqual({'p': 0.5, 'q': 0.5},
                         promoter_mod.project_shares(cluster))

    def test_order(self):
        requests = [
            {'id': 'r1', 'project_id': 'big', 'created_at': T0},
            {'id': 'r2', 'project_id': 'small',
             'created_at': T0 + datetime.timedelta(1)},
            {'id': 'r3', 'project_id': 'new',
             'created_at': T0 + datetime.timedelta(2)},
            {'id': 'r4', 'project_id': 'new',
             'created_at': T0 + datetime.timedelta(1)}]
        ordered = promoter_mod.fair_order(requests, {'big': 0.6,
                                                     'small': 0.1})
        self.assertEqual(['r4', 'r3', 'r2', 'r1'], [r['id'] for r in ordered])

    def test_placement_all_kinds_or_none(self):
        cluster = model.Cluster([model.Host('h1', {'VCPU': 2}),
                                 model.Host('h2', {'VCPU': 1})], [])
        two = model.Request({'VCPU': 1}, count=2)
        self.assertEqual({0: ['h1', 'h1'], 1: ['h2']}, promoter_mod.placement(
            cluster, [two, model.Request({'VCPU': 1})]))
        self.assertIsNone(promoter_mod.placement(cluster, [two, two]))

    def test_watermark_victims_none_when_not_enough(self):
        cluster = model.Cluster(
            [model.Host('h', {'VCPU': 4})],
            [model.Server('a', 'h', {'VCPU': 3}),
             model.Server('b', 'h', {'VCPU': 1}, preemptible=True)])
        self.assertEqual([], modes_mod.watermark_victims(
            cluster, {'h'}, 0.5, T0))
        self.assertEqual(['b'], [s.id for s in modes_mod.watermark_victims(
            cluster, {'h'}, 0.75, T0)])
