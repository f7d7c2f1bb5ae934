"""``limits-engine`` on the shared engine runner.

Two engines share the embedded ``file://`` coordination backend and the
limits database: only the leader sweeps expired reservations.
"""

import time

import sqlalchemy as sa

from limits_svc.cmd import engine
from limits_svc.db import models
from limits_svc.tests.functional import base
from svc_common import context
from svc_common.db import database


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class TestLimitsEngine(base.LimitsApiTestCase):

    OVERRIDES = {('limits', 'purge_interval'): 1,
                 ('coordination', 'election_interval'): 0.2}

    def setUp(self):
        super().setUp()
        self.conf = self.fixture.conf
        self.db = database.Database(self.conf)

    def runner(self, name):
        runner = engine.build_runner(self.conf, self.db, member_id=name)
        runner.start()
        self.addCleanup(runner.stop)
        return runner

    def allocation_rows(self):
        with self.db.reader.using(context.admin_context()) as session:
            return session.scalar(sa.select(sa.func.count()).select_from(
                models.Allocation))

    def test_only_the_leader_purges_expired_reservations(self):
        self.tree()
        self.app.put_json('/v1/allocations/vm-1', {
            'project_id': 'leaf', 'resources': {'cores': 2},
            'expires_in': 1}, headers=base.af.SERVICE)
        self.allocate('vm-2', 'leaf', cores=1)
        self.assertEqual(2, self.allocation_rows())
        runners = [self.runner('engine-a'), self.runner('engine-b')]
        leader = [r for r in runners if r.is_leader]
        self.assertEqual(1, len(leader))
        purge = {r.member_id: [t for t in r.tasks
                               if t.name == engine.PURGE_TASK][0]
                 for r in runners}
        # The reservation ends after 1 s; a sweep a second frees it.
        self.assertTrue(wait_for(lambda: self.allocation_rows() == 1))
        follower = [r for r in runners if not r.is_leader][0]
        self.assertGreater(purge[leader[0].member_id].runs, 0)
        self.assertEqual(0, purge[follower.member_id].runs)
        usage = self.app.get('/v1/projects/leaf/usage',
                             headers=base.af.SYSTEM_ADMIN).json
        self.assertEqual(1, usage['projects'][0]['resources']['cores'][
            'own_usage'])

    def test_keystone_mode_adds_listener_and_leader_resync(self):
        self.conf.set_override('mode', 'keystone', group='limits')
        self.conf.set_override('resync_interval', 0, group='keystone')
        runner = engine.build_runner(self.conf, self.db)
        tasks = {t.name: t for t in runner.tasks}
        self.assertEqual({engine.PURGE_TASK, 'keystone-resync'}, set(tasks))
        self.assertTrue(all(t.leader_only for t in tasks.values()))
        # resync_interval 0: a full sync when a host starts leading only.
        self.assertIsNone(tasks['keystone-resync'].interval)
        self.assertTrue(tasks['keystone-resync'].run_on_election)
        self.assertEqual(1, len(runner.workers))
