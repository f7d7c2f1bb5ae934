"""The simulated cloud: its view, capacity and actions."""

import datetime
import os

import testtools

from reaper_svc.drivers import base
from reaper_svc.drivers import simulated
from reaper_svc.strategies import model

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'reaper', 'simulated-cloud.yaml')


def sample_cloud():
    with open(SAMPLE) as source:
        return simulated.SimulatedCloud.from_yaml(source.read())


class TestSimulatedCloud(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = sample_cloud()

    def test_view(self):
        cluster = self.cloud.cluster()
        self.assertEqual({'cmp1', 'cmp2', 'cmp3', 'cmp4'}, set(cluster.hosts))
        self.assertEqual(frozenset(['batch']),
                         cluster.hosts['cmp1'].aggregates)
        self.assertEqual('az2', cluster.hosts['cmp3'].availability_zone)
        self.assertFalse(cluster.hosts['cmp4'].up)
        self.assertTrue(cluster.servers['batch-1'].preemptible)
        self.assertEqual(1, cluster.servers['batch-1'].priority)
        self.assertFalse(cluster.servers['web-1'].preemptible)
        self.assertEqual(16, cluster.used['cmp1']['VCPU'])

    def test_capacity_per_aggregate(self):
        batch = self.cloud.capacity()['batch']['VCPU']
        self.assertEqual({'total': 32, 'used': 32, 'preemptible': 24,
                          'free': 0}, batch)
        # cmp4 is down: its capacity counts in total but is not free.
        self.assertEqual({'total': 32, 'used': 16, 'preemptible': 0,
                          'free': 0},
                         self.cloud.capacity()['interactive']['VCPU'])

    def test_lock_stop_delete(self):
        self.cloud.lock('batch-2', 'preempted')
        self.cloud.stop('batch-2')
        state = self.cloud.server_state('batch-2')
        self.assertEqual(('SHUTOFF', True, 'preempted'), (
            state['status'], state['locked'], state['locked_reason']))
        # Stopped servers still hold their resources, as in Nova.
        self.assertEqual(16, self.cloud.cluster().used['cmp1']['VCPU'])
        self.cloud.delete('batch-2')
        self.assertEqual(14, self.cloud.cluster().used['cmp1']['VCPU'])
        self.assertRaises(base.ServerNotFound, self.cloud.delete, 'batch-2')
        self.assertRaises(base.ServerNotFound, self.cloud.stop, 'batch-2')
        self.assertEqual([('lock', 'batch-2', 'preempted'),
                          ('stop', 'batch-2', None),
                          ('delete', 'batch-2', None)], self.cloud.journal)

    def test_create_all_or_nothing(self):
        self.assertRaises(base.NoValidHost, self.cloud.create, 'physics',
                          'big', 'm1.large', 1, 1)
        self.assertEqual(9, len(self.cloud.cluster().servers))
        self.cloud.delete('batch-1')
        ids = self.cloud.create('physics', 'big', 'm1.large', 2, 1)
        self.assertEqual(1, len(ids))
        self.assertEqual('cmp1', self.cloud.server_state(ids[0])['host'])

    def test_create_fills_free_room(self):
        cloud = simulated.SimulatedCloud({
            'flavors': {'f': {'resources': {'VCPU': 2}}},
            'hosts': {'h1': {'capacity': {'VCPU': 4}},
                      'h2': {'capacity': {'VCPU': 4}}}})
        self.assertRaises(base.NoValidHost, cloud.create, 'p', 'g', 'f',
                          5, 5)
        self.assertEqual(4, len(cloud.create('p', 'g', 'f', 4, 4)))

    def test_bad_descriptions(self):
        self.assertRaises(ValueError, simulated.SimulatedCloud, {
            'hosts': {}, 'aggregates': {'a': {'hosts': ['nope']}}})
        self.assertRaises(ValueError, simulated.SimulatedCloud, {
            'hosts': {'h': {}}, 'flavors': {},
            'servers': [{'id': 's', 'host': 'h', 'flavor': 'x'}]})

    def test_is_a_driver(self):
        self.assertIsInstance(self.cloud, base.CloudDriver)
        self.assertIsInstance(self.cloud.servers_by_host('cmp1')[0],
                              model.Server)


class TestSnapshotCache(testtools.TestCase):
    """Snapshots are built again only when what they show changed, and
    each shows the cloud as it is."""

    def setUp(self):
        super().setUp()
        self.cloud = sample_cloud()

    def test_unchanged_cloud_is_not_modelled_again(self):
        first, second = self.cloud.cluster(), self.cloud.cluster()
        self.assertIs(first.servers, second.servers)
        # What selection derives is each snapshot's own.
        first.derived['x'] = 1
        self.assertEqual({}, second.derived)
        # Locking and stopping change no snapshot.
        self.cloud.lock('batch-1', 'r')
        self.cloud.stop('batch-1')
        self.assertIs(first.servers, self.cloud.cluster().servers)

    def test_delete_and_create_are_seen(self):
        before = self.cloud.cluster()
        self.cloud.delete('batch-1')
        after = self.cloud.cluster()
        self.assertNotIn('batch-1', after.servers)
        self.assertIn('batch-1', before.servers)
        self.assertEqual(before.used['cmp1']['VCPU']
                         - before.servers['batch-1'].resources['VCPU'],
                         after.used['cmp1']['VCPU'])
        [new] = self.cloud.create('physics', 'job', 'p1.small', 1, 1)
        self.assertIn(new, self.cloud.cluster().servers)

    def test_host_changes_are_seen(self):
        self.assertTrue(self.cloud.cluster().hosts['cmp1'].enabled)
        self.cloud.set_host('cmp1', enabled=False)
        self.assertFalse(self.cloud.cluster().hosts['cmp1'].enabled)

    def test_guarantees_recorded_later_are_seen(self):
        until = datetime.datetime(2099, 1, 1)
        guarantees = {}
        self.cloud.set_guarantee_source(lambda: dict(guarantees))
        self.assertIsNone(
            self.cloud.cluster().servers['batch-1'].guaranteed_until)
        guarantees['batch-1'] = until
        self.assertEqual(
            until, self.cloud.cluster().servers['batch-1'].guaranteed_until)
        guarantees.clear()
        self.assertIsNone(
            self.cloud.cluster().servers['batch-1'].guaranteed_until)
