"""A host that stops leading forgets the cloud outage its actions' pass
was in.

The runner's tasks forget their outages when their host stops leading;
the reaper's own outage log of the actions' pass did not: a host that
led again days later logged its first failure as a debug line (or a
reminder of a days-long outage), or its first success as the end of an
outage another host saw end.
"""

import copy
import logging

import fixtures
from keystoneauth1 import exceptions as ks_exc
import testtools

from reaper_svc.cmd import engine
from reaper_svc.drivers import simulated
from reaper_svc.tests.functional import engine_fixture as ef
from reaper_svc.tests.functional import test_promoter as tp


class Leadership(object):
    """Stands for the runner's leadership: whether this host leads."""

    def __init__(self, is_leader):
        self.is_leader = is_leader


class TestFollowerForgets(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.engine = self.useFixture(ef.ReaperEngine(grace_period=0))
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO,
            format='%(levelname)s %(name)s %(message)s'))
        self.engine.cloud = simulated.SimulatedCloud(
            tp.cloud(copy.deepcopy(tp.full()[:2])))
        self.runner = self.engine.build()
        self.reaper = self.runner.reaper
        [self.follower] = [t for t in self.runner.tasks
                           if t.name == engine.FOLLOWER_TASK]

    def lead(self, leading):
        self.useFixture(fixtures.MockPatchObject(
            self.runner, 'leadership', Leadership(leading)))

    def nova_away(self):
        """One step of the actions' pass meets Nova away."""
        self.reaper.cloud_outage.failed(
            ks_exc.ConnectFailure('Unable to establish connection'),
            'the actions it fails are tried again at each pass')

    def warnings(self):
        return [line for line in self.log.output.splitlines()
                if line.startswith('WARNING ')]

    def test_a_host_leading_again_warns_of_a_failure(self):
        self.lead(True)
        self.nova_away()
        self.nova_away()
        self.assertEqual(1, len(self.warnings()))
        # Another host leads; this one's follower task runs.
        self.lead(False)
        self.follower.run_once()
        # Leading again, days later: Nova away is a new outage.
        self.lead(True)
        self.follower.run_once()
        self.nova_away()
        self.assertEqual(2, len(self.warnings()))
        self.assertNotIn('succeeded again', self.log.output)

    def test_the_leader_keeps_its_outage(self):
        self.lead(True)
        self.nova_away()
        self.follower.run_once()
        self.nova_away()
        self.assertEqual(1, len(self.warnings()))
