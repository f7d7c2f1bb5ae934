"""Nova API workers racing for the last units, through the Nova hook.

The limits service is the real one (``test_clients.ClientsTestCase``: the
whole WSGI application over loopback HTTP, in a threaded server) on a
PostgreSQL database of its own; Nova is a test double. Each thread plays
one Nova API worker with its own keystoneauth1 session and hook, and makes
the calls Nova makes for a boot: the dry-run check
(``enforce_num_instances_and_flavor``), the reservation of the uuids
(``reserve_instances``), then, as the conductor, the confirmation
(``confirm_instances``). A barrier holds every worker after its check, so
that all of them pass the check before any reserves: the check alone is
check-then-act; the reservation must still never over-commit.
"""

import threading
import types

from keystoneauth1 import session as ks_session

from limits_svc.hooks import nova
from limits_svc.tests.functional import test_clients
from svc_common.tests.fixtures import postgresql

FLAVOR = types.SimpleNamespace(vcpus=2, memory_mb=1024, root_gb=10,
                               ephemeral_gb=0, swap=0)
WORKERS = 6


class TestLastUnits(test_clients.ClientsTestCase):

    def setUp(self):
        self.OVERRIDES = {('database', 'connection'):
                          self.useFixture(postgresql.Database()).url}
        super().setUp()
        # root's subtree limit of 10 cores leaves 4 once 'other' holds 6:
        # room for two instances of FLAVOR in leaf, whose own limit is 8.
        self.client.put_allocation('vm-other', 'other', {'cores': 6})

    def boot(self, worker, min_count, max_count, barrier, outcomes):
        """One Nova API worker's boot of ``max_count`` instances."""
        session = ks_session.Session(auth=None)
        hook = nova.NovaLimitsHook(test_clients.limits.LimitsClient(
            session, endpoint_override=self.url,
            additional_headers=test_clients.SERVICE))
        uuids = ['vm-%d-%d' % (worker, n) for n in range(max_count)]
        try:
            count = hook.enforce_num_instances_and_flavor(
                None, 'leaf', FLAVOR, False, min_count, max_count)
        except nova.TooManyInstances:
            count = 0
        barrier.wait(30)
        if not count:
            outcomes[worker] = 'refused by the check'
            return
        try:
            reserved = hook.reserve_instances(
                None, 'leaf', FLAVOR, False, uuids[:count],
                min_count=min_count)
            hook.confirm_instances(None, 'leaf', FLAVOR, False, reserved)
        except nova.TooManyInstances:
            outcomes[worker] = []
        else:
            outcomes[worker] = reserved

    def race(self, min_count, max_count):
        barrier = threading.Barrier(WORKERS)
        outcomes = {}
        threads = [threading.Thread(target=self.boot, args=(
            worker, min_count, max_count, barrier, outcomes))
            for worker in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(WORKERS, len(outcomes), outcomes)
        return outcomes

    def held(self):
        allocations = list(self.reader.list_allocations('leaf'))
        self.assertTrue(all(a['expires_at'] is None for a in allocations))
        return sorted(a['consumer_id'] for a in allocations)

    def root_cores(self):
        report = self.reader.usage('root')
        return report['projects'][0]['resources']['cores']['subtree_usage']

    def test_one_instance_each(self):
        outcomes = self.race(1, 1)
        built = sorted(u for reserved in outcomes.values()
                       if isinstance(reserved, list) for u in reserved)
        # Every worker passed the check; exactly two boots fit.
        self.assertNotIn('refused by the check', outcomes.values())
        self.assertEqual(2, len(built), outcomes)
        self.assertEqual(built, self.held())
        self.assertEqual(10, self.root_cores())

    def test_multi_create_takes_what_is_left(self):
        # min_count 1, max_count 3: the check says 2 fit to every worker;
        # between them they build two instances, no more, and a refused
        # boot keeps nothing.
        outcomes = self.race(1, 3)
        built = sorted(u for reserved in outcomes.values()
                       if isinstance(reserved, list) for u in reserved)
        self.assertEqual(2, len(built), outcomes)
        self.assertEqual(built, self.held())
        self.assertEqual(10, self.root_cores())

    def test_all_or_nothing_boots(self):
        # min_count = max_count = 2: one worker gets both, or two get
        # one each and are refused (each frees its one): never 3.
        outcomes = self.race(2, 2)
        built = sorted(u for reserved in outcomes.values()
                       if isinstance(reserved, list) for u in reserved)
        self.assertIn(len(built), (0, 2), outcomes)
        self.assertEqual(built, self.held())
        self.assertEqual(6 + 2 * len(built), self.root_cores())

    def test_tries_of_one_reservation_at_once(self):
        # keystoneauth1's retries of one reservation can reach the service
        # together (If-None-Match: *): one makes it, the others find it
        # made and take it as theirs. Every try returns the uuid; the
        # instance is counted once, and a confirmation keeps it.
        barrier = threading.Barrier(WORKERS)
        outcomes = {}

        def reserve(worker):
            hook = nova.NovaLimitsHook(test_clients.limits.LimitsClient(
                ks_session.Session(auth=None), endpoint_override=self.url,
                additional_headers=test_clients.SERVICE))
            barrier.wait(30)
            try:
                outcomes[worker] = hook.reserve_instances(
                    None, 'leaf', FLAVOR, False, ['vm-1'])
            except Exception as exc:
                outcomes[worker] = exc

        threads = [threading.Thread(target=reserve, args=(worker,))
                   for worker in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual({worker: ['vm-1'] for worker in range(WORKERS)},
                         outcomes)
        self.assertEqual(8, self.root_cores())
        nova.NovaLimitsHook(self.client).confirm_instances(
            None, 'leaf', FLAVOR, False, ['vm-1'])
        self.assertEqual(['vm-1'], self.held())
        self.assertEqual(8, self.root_cores())
