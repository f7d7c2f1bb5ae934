"""The reaper's times when an engine or API host's clock jumps.

The end of a victim's grace period and the end of a promoted server's
guaranteed runtime are written by one process and compared with "now"
by another (the next leader's pass, the purge).  So are the times
measured from the records' own timestamps: the hour a refused lock is
tried again (from the action's ``created_at``), ``[preemption]
build_timeout`` (from the ``updated_at`` of a request that went
``building``) and ``[preemption] processed_retention`` (from a handled
notification's ``created_at``); and a pending request's deadline is
checked by the API and expired by the promoter.  Each is measured on the
database's clock (:mod:`reaper_svc.db.clock`), so that a host whose
clock is stepped (NTP after a suspend, an operator's ``date -s``) changes
none of them.  :class:`ShiftedHostClock` moves this process's clock, as
such a jump does, through :func:`reaper_svc.db.clock.host_now`.
"""

import copy
import datetime

import fixtures
import testtools

from reaper_svc import action_states as states
from reaper_svc.cmd import engine
from reaper_svc.db import actions as actions_db
from reaper_svc.db import clock as clock_db
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import notifications as notifications_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc.drivers import simulated
from reaper_svc import nova_notifications
from reaper_svc.strategies import model
from reaper_svc.tests.functional import base
from reaper_svc.tests.functional import engine_fixture as ef
from reaper_svc.tests.functional import test_promoter as tp
from svc_common import context
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql

JUMP = datetime.timedelta(hours=2)
HOUR = 3600
BUILD_TIMEOUT = 600


class EngineDied(Exception):
    """Stands for an engine process dying in the middle of a build."""


class ShiftedHostClock(fixtures.Fixture):
    """This process's wall clock, ``offset`` ahead (behind when
    negative) of the real one, as after a step of the host's clock."""

    def __init__(self, offset):
        super().__init__()
        self.offset = offset

    def _setUp(self):
        real = clock_db.host_now
        self.useFixture(fixtures.MonkeyPatch(
            'reaper_svc.db.clock.host_now', lambda: real() + self.offset))


class TestClockJumps(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.engine = self.useFixture(ef.ReaperEngine(
            grace_period=HOUR, database_url=self.database_url()))
        self.ctx = context.admin_context()

    def database_url(self):
        """None: the engine fixture's SQLite file."""
        return None

    def use_cloud(self, servers):
        self.engine.cloud = simulated.SimulatedCloud(
            tp.cloud(copy.deepcopy(servers)))
        self.runner = self.engine.build()
        return self.engine.cloud

    def db_clock(self, later=datetime.timedelta(0)):
        """The database's clock, ``later`` ahead: time that passes for
        every host alike."""
        return lambda: clock_db.database_now(self.engine.db,
                                             self.ctx) + later

    def refuse(self, sim, verb):
        """Have the cloud refuse ``verb`` (lock or delete) until the list
        returned is cleared."""
        refusing = [True]
        real = getattr(sim, verb)

        def refused(*args):
            if refusing:
                raise driver_base.DriverError('HTTP 503')
            return real(*args)

        self.useFixture(fixtures.MockPatchObject(sim, verb, refused))
        return refusing

    def state(self, action):
        return actions_db.get_action(self.engine.db, self.ctx,
                                     action['id'])['state']

    def victims(self):
        return {v['server_id']
                for a in actions_db.list_actions(self.engine.db, self.ctx, 50)
                for v in a['victims']}

    def test_the_database_clock_does_not_follow_the_host(self):
        before = clock_db.database_now(self.engine.db, self.ctx)
        self.useFixture(ShiftedHostClock(JUMP))
        self.assertGreater(clock_db.host_now() - before, JUMP / 2)
        self.assertLess(clock_db.database_now(self.engine.db, self.ctx)
                        - before, JUMP / 2)

    def test_a_jump_forward_preempts_no_guaranteed_server(self):
        # Three of the four slots hold preemptible servers; the promoter
        # builds a preemptible one guaranteed for an hour in the fourth.
        sim = self.use_cloud(tp.full(flavor='p1', project='batch')[:3])
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'alice',
            [{'name': 'job', 'flavor': 'p1', 'image': 'img',
              'networks': [], 'count': 1}], True, min_runtime=HOUR)
        self.assertEqual([request['id']],
                         self.runner.promoter.promote()['built'])
        [built] = pending_db.get_request(self.engine.db, self.ctx,
                                         request['id'])['server_ids']
        # Two hours later by this host's clock only; the leader purges,
        # and four normal servers need the whole cloud.
        self.useFixture(ShiftedHostClock(JUMP))
        self.assertEqual(0, engine.purge_records(
            self.engine.conf, self.engine.db)[1])
        action = self.runner.reaper.plan(
            model.Request(resources=dict(tp.ONE), count=4),
            'scheduling_failure', 'boot-1', 'physics')
        self.assertEqual(states.FAILED, action['state'])
        self.assertNotIn(built, self.victims())
        self.assertNotIn(built, [sid for verb, sid, _ in sim.journal
                                 if verb in ('lock', 'stop', 'delete')])
        self.assertIn(built, guarantees_db.current(self.engine.db,
                                                   self.ctx))

    def test_a_jump_forward_does_not_shorten_the_grace_period(self):
        sim = self.use_cloud(tp.full(flavor='p1', project='batch'))
        reaper = self.runner.reaper
        action = reaper.handle_failure(_failure(count=1))
        self.assertEqual(states.NOTICED, action['state'])
        self.useFixture(ShiftedHostClock(JUMP))
        reaper.process_unfinished()
        self.assertEqual(states.NOTICED, actions_db.get_action(
            self.engine.db, self.ctx, action['id'])['state'])
        self.assertEqual([], [sid for verb, sid, _ in sim.journal
                              if verb == 'delete'])

    def test_the_grace_period_still_ends(self):
        self.engine.conf.set_override('grace_period', 0, 'preemption')
        sim = self.use_cloud(tp.full(flavor='p1', project='batch'))
        reaper = self.runner.reaper
        action = reaper.handle_failure(_failure(count=1))
        self.useFixture(ShiftedHostClock(-JUMP))
        reaper.process_unfinished()
        self.assertEqual(states.DONE, actions_db.get_action(
            self.engine.db, self.ctx, action['id'])['state'])
        self.assertEqual(1, len([sid for verb, sid, _ in sim.journal
                                 if verb == 'delete']))

    # -- the hour of retries -------------------------------------------

    def test_a_refused_lock_is_tried_again_after_a_planner_behind(self):
        """A planner whose clock was two hours behind stamped the action
        two hours early: its hour of retries was over before it began,
        and the first refused lock failed the action, no room made."""
        sim = self.use_cloud(tp.full(flavor='p1', project='batch'))
        refusing = self.refuse(sim, 'lock')
        reaper = self.runner.reaper
        with ShiftedHostClock(-JUMP):
            action = reaper.handle_failure(_failure(count=1))
        self.assertEqual(states.PLANNED, self.state(action))
        refusing.clear()
        reaper.process_unfinished()
        self.assertEqual(states.NOTICED, self.state(action))
        self.assertEqual(1, len([sid for verb, sid, _ in sim.journal
                                 if verb == 'stop']))

    def test_a_refused_lock_fails_an_hour_after_a_planner_ahead(self):
        """A planner whose clock was two hours ahead stamped the action
        two hours late: Nova's refusals were tried again for three hours
        instead of one."""
        sim = self.use_cloud(tp.full(flavor='p1', project='batch'))
        self.refuse(sim, 'lock')
        reaper = self.runner.reaper
        with ShiftedHostClock(JUMP):
            action = reaper.handle_failure(_failure(count=1))
        self.assertEqual(states.PLANNED, self.state(action))
        reaper.clock = self.db_clock(datetime.timedelta(minutes=61))
        reaper.process_unfinished()
        self.assertEqual(states.FAILED, self.state(action))

    def test_a_refused_delete_is_tried_for_an_hour_whatever_the_host(self):
        """The hour of a refused deletion runs from the end of the grace
        period (``delete_after``, on the database's clock already)."""
        self.engine.conf.set_override('grace_period', 0, 'preemption')
        sim = self.use_cloud(tp.full(flavor='p1', project='batch'))
        self.refuse(sim, 'delete')
        reaper = self.runner.reaper
        for offset in (-JUMP, JUMP):
            reaper.clock = self.db_clock()
            with ShiftedHostClock(offset):
                action = reaper.handle_failure(_failure(
                    count=1, boot='boot-%s' % offset.days))
                reaper.process_unfinished()
                self.assertEqual(states.DELETING, self.state(action))
                reaper.clock = self.db_clock(datetime.timedelta(minutes=61))
                reaper.process_unfinished()
                self.assertEqual(states.FAILED, self.state(action))

    # -- build_timeout --------------------------------------------------

    def crash_build(self, sim):
        """A pending request whose build an engine began, and died in
        before Nova's create: left ``building``."""
        self.engine.conf.set_override('build_timeout', BUILD_TIMEOUT,
                                      'preemption')
        request = pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'alice',
            [{'name': 'job', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': 1}], True)

        def create(*args, **kwargs):
            raise EngineDied()

        with fixtures.MockPatchObject(sim, 'create', create):
            self.assertRaises(EngineDied, self.runner.promoter.promote)
        self.assertEqual(pending_db.BUILDING, self.request_state(request))
        return request

    def request_state(self, request):
        return pending_db.get_request(self.engine.db, self.ctx,
                                      request['id'])['state']

    def creates(self, sim):
        return [sid for verb, sid, _ in sim.journal if verb == 'create']

    def test_a_build_begun_by_an_engine_behind_is_not_stale_at_once(self):
        """A request that an engine whose clock was two hours behind
        took to ``building`` looked stale to the next pass at once (the
        engine may still be building it): queued again and built a
        second time."""
        sim = self.use_cloud([])
        with ShiftedHostClock(-JUMP):
            request = self.crash_build(sim)
        done = self.runner.promoter.promote()
        self.assertEqual(({}, []), (done['recovered'], done['built']))
        self.assertEqual(pending_db.BUILDING, self.request_state(request))
        self.assertEqual([], self.creates(sim))

    def test_a_build_begun_by_an_engine_ahead_is_settled_in_time(self):
        """A request that an engine whose clock was two hours ahead took
        to ``building``, then died, was left alone for two hours more
        than ``build_timeout``."""
        sim = self.use_cloud([])
        with ShiftedHostClock(JUMP):
            request = self.crash_build(sim)
        self.runner.promoter.clock = self.db_clock(
            datetime.timedelta(seconds=BUILD_TIMEOUT + 60))
        done = self.runner.promoter.promote()
        self.assertEqual({request['id']: pending_db.QUEUED},
                         done['recovered'])
        self.assertEqual([request['id']], done['built'])
        self.assertEqual(pending_db.ACTIVE, self.request_state(request))
        self.assertEqual(1, len(self.creates(sim)))

    # -- processed_retention --------------------------------------------

    def test_handled_notifications_are_kept_for_the_retention(self):
        """A listener whose clock was two hours behind stamped the ids
        it handled two hours early, and the leader's purge forgot them
        before ``processed_retention`` was over (a redelivery then was
        handled twice)."""
        self.engine.conf.set_override('processed_retention', HOUR,
                                      'preemption')
        processed = notifications_db.ProcessedNotifications(self.engine.db)
        with ShiftedHostClock(-JUMP):
            self.assertTrue(processed.claim('msg-behind'))
        with ShiftedHostClock(JUMP):
            self.assertTrue(processed.claim('msg-ahead'))
        self.assertEqual(0, engine.purge_records(
            self.engine.conf, self.engine.db)[0])
        self.assertFalse(processed.claim('msg-behind'))
        # An hour and a minute later by the database, both are over.
        later = clock_db.database_now(self.engine.db, self.ctx) + \
            datetime.timedelta(minutes=61)
        self.assertEqual(2, engine.purge_records(
            self.engine.conf, self.engine.db, now=later)[0])

    # -- max_lifetime ---------------------------------------------------

    def test_max_lifetime_does_not_follow_the_host(self):
        """A server's age is Nova's ``created_at`` against the
        database's clock: a jump of the engine host's clock takes no
        server younger than ``max_lifetime`` and spares none older."""
        now = clock_db.database_now(self.engine.db, self.ctx)
        servers = tp.full(flavor='p1', project='batch')
        for index, server in enumerate(servers):
            server['created_at'] = now - datetime.timedelta(
                hours=3 if index == 0 else 1)
        self.engine.conf.set_override('max_lifetime', 2 * HOUR,
                                      'preemption')
        self.use_cloud(servers)
        # Behind, the host would find the oldest one hour old; ahead, it
        # would find the others three hours old.
        with ShiftedHostClock(-JUMP):
            [action] = self.runner.modes.max_lifetime_pass()
        self.assertEqual([servers[0]['id']],
                         [v['server_id'] for v in action['victims']])
        with ShiftedHostClock(JUMP):
            self.assertEqual([], self.runner.modes.max_lifetime_pass())


class TestClockJumpsOnPostgreSQL(TestClockJumps):

    def database_url(self):
        return self.useFixture(postgresql.Database()).url


def _failure(count, boot=None):
    """A NoValidHost of ``count`` normal servers of one slot."""
    return nova_notifications.SchedulingFailure(
        instance_uuid=boot or 'boot-%d' % count, project_id='physics',
        flavor_name='m1', resources=dict(tp.ONE), count=count,
        availability_zone=None, required_traits=frozenset())


class TestDeadlineClock(testtools.TestCase):
    """The API takes a pending request's deadline when it is in the
    future on the database's clock, the one the promoter expires it on:
    an API host two hours ahead refused a deadline an hour away, and one
    behind took a deadline of an hour ago."""

    def database_url(self):
        """None: the app fixture's SQLite file."""
        return None

    def setUp(self):
        super().setUp()
        url = self.database_url()
        reaper = self.useFixture(base.ReaperApp(
            overrides={('database', 'connection'): url} if url else None))
        self.app = reaper.app
        self.db = reaper.db

    def submit(self, deadline, status):
        return self.app.post_json('/v1/pending', {
            'servers': [base.SERVER],
            'deadline': deadline.isoformat() + 'Z'},
            headers=af.identity(['member', 'reader'], 'physics'),
            status=status)

    def test_deadline_in_the_future_of_the_database(self):
        now = clock_db.database_now(self.db, context.admin_context())
        with ShiftedHostClock(JUMP):
            made = self.submit(now + datetime.timedelta(hours=1),
                               201).json['pending']
        self.assertEqual('queued', made['state'])
        with ShiftedHostClock(-JUMP):
            error = self.submit(now - datetime.timedelta(hours=1),
                                400).json['errors'][0]
        self.assertEqual('deadline', error['field'])


class TestDeadlineClockOnPostgreSQL(TestDeadlineClock):

    def database_url(self):
        return self.useFixture(postgresql.Database()).url
