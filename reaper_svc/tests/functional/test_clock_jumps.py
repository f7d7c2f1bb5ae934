"""Guarantees and grace periods when an engine host's clock jumps.

The end of a victim's grace period and the end of a promoted server's
guaranteed runtime are written by one process and compared with "now"
by another (the next leader's pass, the purge).  Each is measured on the
database's clock (:mod:`reaper_svc.db.clock`), so that an engine host
whose clock is stepped forward (NTP after a suspend, an operator's
``date -s``) neither deletes victims early nor preempts a server inside
its guaranteed runtime.  :class:`ShiftedHostClock` moves this process's
clock, as such a jump does, through :func:`reaper_svc.db.clock.host_now`.
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
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import simulated
from reaper_svc import nova_notifications
from reaper_svc.strategies import model
from reaper_svc.tests.functional import engine_fixture as ef
from reaper_svc.tests.functional import test_promoter as tp
from svc_common import context
from svc_common.tests.fixtures import postgresql

JUMP = datetime.timedelta(hours=2)
HOUR = 3600


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


class TestClockJumpsOnPostgreSQL(TestClockJumps):

    def database_url(self):
        return self.useFixture(postgresql.Database()).url


def _failure(count):
    """A NoValidHost of ``count`` normal servers of one slot."""
    return nova_notifications.SchedulingFailure(
        instance_uuid='boot-%d' % count, project_id='physics',
        flavor_name='m1', resources=dict(tp.ONE), count=count,
        availability_zone=None, required_traits=frozenset())
