"""The room one pass of the promoter knows
(:class:`reaper_svc.promoter.PassRoom`): read from one snapshot, then
less what the pass built.

Whatever the pass builds, and wherever the cloud puts it, that room is
the room a new snapshot of the cloud would show (free resources per
host, placements, project shares), as long as nothing else changed the
cloud: the pass no longer reads a snapshot after each of its builds.
"""

import hypothesis
from hypothesis import strategies as st
import testtools

from reaper_svc.drivers import base as driver_base
from reaper_svc.drivers import simulated
from reaper_svc import promoter
from reaper_svc.strategies import model

FLAVORS = {
    'small': {'VCPU': 1, 'MEMORY_MB': 512},
    'big': {'VCPU': 2, 'MEMORY_MB': 2048},
    # Only hosts with disk take it.
    'disk': {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 40},
}
PROJECTS = ['physics', 'biology', 'maths']


@st.composite
def clouds(draw):
    """Hosts of various sizes (some disabled or down, some without
    disk), partly filled by the three projects."""
    hosts = {}
    for n in range(draw(st.integers(1, 5))):
        capacity = {'VCPU': draw(st.integers(1, 8)),
                    'MEMORY_MB': draw(st.sampled_from([1024, 4096, 8192]))}
        if draw(st.booleans()):
            capacity['DISK_GB'] = draw(st.sampled_from([40, 100]))
        hosts['cmp%d' % n] = {'capacity': capacity,
                              'enabled': draw(st.integers(0, 5)) > 0,
                              'up': draw(st.integers(0, 5)) > 0}
    servers = []
    for name, host in sorted(hosts.items()):
        for _ in range(draw(st.integers(0, 3))):
            flavor = draw(st.sampled_from(sorted(FLAVORS)))
            if 'DISK_GB' in FLAVORS[flavor] and \
                    'DISK_GB' not in host['capacity']:
                continue
            servers.append({'id': 's%02d' % len(servers), 'host': name,
                            'flavor': flavor,
                            'project_id': draw(st.sampled_from(PROJECTS))})
    return {'flavors': {name: {'resources': resources}
                        for name, resources in FLAVORS.items()},
            'hosts': hosts, 'servers': servers}


BUILDS = st.lists(st.tuples(st.sampled_from(PROJECTS),
                            st.sampled_from(sorted(FLAVORS)),
                            st.integers(1, 3), st.booleans()),
                  max_size=8)


class TestPassRoom(testtools.TestCase):

    def assert_same_room(self, room, cluster):
        fresh = promoter.PassRoom(cluster)
        for name, host in cluster.hosts.items():
            for rc in host.capacity:
                self.assertEqual(fresh.free(name, rc), room.free(name, rc),
                                 (name, rc))
        shares = room.shares()
        self.assertEqual(sorted(fresh.shares()), sorted(shares))
        for project, share in fresh.shares().items():
            self.assertAlmostEqual(share, shares[project])
        self.assertEqual(promoter.project_shares(cluster).keys(),
                         shares.keys())
        for flavor, resources in sorted(FLAVORS.items()):
            for count in (1, 2, 4):
                probe = [model.Request(resources=resources, count=count)]
                self.assertEqual(promoter.placement(cluster, probe),
                                 promoter.placement(room, probe))

    @hypothesis.settings(max_examples=150, deadline=None)
    @hypothesis.given(clouds(), BUILDS)
    def test_own_builds_counted_as_a_new_snapshot_shows_them(
            self, description, builds):
        sim = simulated.SimulatedCloud(description)
        room = promoter.PassRoom(sim.cluster())
        self.assert_same_room(room, sim.cluster())
        for project, flavor, count, all_or_nothing in builds:
            try:
                ids = sim.create(project, 'job', flavor, count,
                                 count if all_or_nothing else 1)
            except driver_base.NoValidHost:
                continue
            landed = [(sim.server_state(server_id)['host'],
                       FLAVORS[flavor]) for server_id in ids]
            self.assertTrue(room.take(project, landed))
            self.assert_same_room(room, sim.cluster())

    def test_a_host_the_snapshot_does_not_know(self):
        cluster = model.Cluster([model.Host('h1', {'VCPU': 4})], [])
        room = promoter.PassRoom(cluster)
        self.assertFalse(room.take('p', [('h1', {'VCPU': 1}),
                                         ('h9', {'VCPU': 1})]))
        # Nothing was counted.
        self.assertEqual(4, room.free('h1', 'VCPU'))
        self.assertEqual({}, room.shares())

    def test_a_compute_service_name_is_its_node(self):
        """Nova shows a server's compute service host, which may not be
        the name of its node (the snapshot's host); a service with
        several nodes cannot tell which."""
        cluster = model.Cluster(
            [model.Host('node1.example.org', {'VCPU': 4},
                        service_host='cmp1'),
             model.Host('node2a', {'VCPU': 4}, service_host='cmp2'),
             model.Host('node2b', {'VCPU': 4}, service_host='cmp2')], [])
        room = promoter.PassRoom(cluster)
        self.assertTrue(room.take('p', [('cmp1', {'VCPU': 3})]))
        self.assertEqual(1, room.free('node1.example.org', 'VCPU'))
        self.assertEqual({'p': 0.25}, room.shares())
        self.assertFalse(room.take('p', [('cmp2', {'VCPU': 1})]))
        self.assertEqual((4, 4), (room.free('node2a', 'VCPU'),
                                  room.free('node2b', 'VCPU')))
