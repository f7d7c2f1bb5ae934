"""Leadership on backends that are not the embedded file one.

The coordinator here is a stand-in for tooz's (a test double: etcd,
Redis and ZooKeeper do not run in this test suite); it behaves as tooz's
etcd3gw driver does where that matters: its lock has no
``is_still_owner`` (tooz.NotImplemented), and a lock held by this
process is refreshed by the heartbeat until released, so that a new
lock object cannot take it meanwhile.
"""

import fixtures
import testtools
import tooz
from tooz import coordination

from svc_common.engine import leadership


class FakeBackend(object):
    def __init__(self):
        self.holder = None
        self.failing = False


class FakeLock(object):
    def __init__(self, backend, member_id):
        self.backend = backend
        self.member_id = member_id

    def acquire(self, blocking=True):
        if self.backend.failing:
            raise tooz.ToozError('backend unreachable')
        if self.backend.holder is None:
            self.backend.holder = self
            return True
        return False

    def release(self):
        if self.backend.holder is self:
            self.backend.holder = None
            return True
        return False

    def is_still_owner(self):
        if self.backend.failing:
            raise tooz.ToozError('backend unreachable')
        raise tooz.NotImplemented('no ownership check on this backend')


class FakeCoordinator(object):
    def __init__(self, backend, member_id):
        self.backend = backend
        self.member_id = member_id

    def start(self, start_heart=False):
        pass

    def stop(self):
        pass

    def get_lock(self, name):
        return FakeLock(self.backend, self.member_id)


class TestLeadershipOnOtherBackends(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.backend = FakeBackend()
        self.useFixture(fixtures.MockPatchObject(
            coordination, 'get_coordinator',
            lambda url, member_id: FakeCoordinator(self.backend, member_id)))

    def leadership(self, member):
        lead = leadership.Leadership('etcd3+http://127.0.0.1:1', 'svc-lock',
                                     member, interval=3600)
        self.addCleanup(lead.resign)
        return lead

    def test_a_backend_without_ownership_check_keeps_its_leader(self):
        first, second = self.leadership('a'), self.leadership('b')
        first.start()
        second.start()
        for _ in range(3):
            first._check()
            second._check()
        self.assertTrue(first.is_leader)
        self.assertFalse(second.is_leader)

    def test_after_a_backend_failure_someone_leads_again(self):
        first, second = self.leadership('a'), self.leadership('b')
        first.start()
        second.start()
        self.assertTrue(first.is_leader)
        self.backend.failing = True
        first._check()
        self.assertFalse(first.is_leader)
        self.backend.failing = False
        # The failed leader let its lock go: the next attempt succeeds.
        second._check()
        self.assertTrue(second.is_leader)
        first._check()
        self.assertFalse(first.is_leader)
