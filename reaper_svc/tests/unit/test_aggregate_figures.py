"""The figures of an aggregate (its usage for the watermark, its
capacity for ``GET /v1/capacity``) cost the aggregate's hosts, not every
server of the cloud.

A watermark pass and the capacity list ask for them once per aggregate:
read from every server, a cloud of 20,000 servers in 100 aggregates cost
two million server reads per pass.  The snapshot already has what each
host uses and its preemptible servers; the figures are read from there,
and must be the same as counted server by server.
"""

import datetime

import testtools

from reaper_svc.drivers import base
from reaper_svc import modes
from reaper_svc.strategies import model

NOW = datetime.datetime(2026, 1, 1)


class CountingServers(dict):
    """The snapshot's servers, counting the reads of every one of them
    (iterating the mapping or its values or items)."""

    def __init__(self, servers):
        super().__init__(servers)
        self.full_reads = 0

    def __iter__(self):
        self.full_reads += 1
        return super().__iter__()

    def values(self):
        self.full_reads += 1
        return super().values()

    def items(self):
        self.full_reads += 1
        return super().items()


def cloud(hosts=40, per_host=10, per_aggregate=4):
    """A cluster of ``hosts`` (two of them down or disabled) full of
    servers, half preemptible; its aggregates."""
    host_list = []
    servers = []
    for h in range(hosts):
        name = 'h%03d' % h
        host_list.append(model.Host(
            name, {'VCPU': 64, 'MEMORY_MB': 65536},
            enabled=h != 5, up=h != 6))
        for k in range(per_host):
            servers.append(model.Server(
                'vm-%03d-%02d' % (h, k), name,
                {'VCPU': 1 + k % 4, 'MEMORY_MB': 2048 * (1 + k % 3)},
                preemptible=k % 2 == 0,
                created_at=NOW - datetime.timedelta(hours=h + k)))
    cluster = model.Cluster(host_list, servers)
    names = [h.name for h in host_list]
    aggregates = {'agg%02d' % (a // per_aggregate):
                  frozenset(names[a:a + per_aggregate])
                  for a in range(0, hosts, per_aggregate)}
    return cluster, aggregates


def usage_server_by_server(cluster, host_names, gone):
    """What :func:`modes.usage` answers, counted from every server."""
    result = {}
    for name in host_names:
        host = cluster.hosts[name]
        if host.enabled and host.up:
            for rc, total in host.capacity.items():
                used, capacity = result.get(rc, (0, 0))
                result[rc] = (used, capacity + total)
    for server in cluster.servers.values():
        if server.id not in gone and server.host in host_names:
            for rc, amount in server.resources.items():
                if rc in result:
                    used, capacity = result[rc]
                    result[rc] = (used + amount, capacity)
    return result


class TestAggregateFigures(testtools.TestCase):

    def test_usage_is_what_the_servers_use(self):
        cluster, aggregates = cloud()
        gone = {'vm-001-02', 'vm-005-00', 'vm-006-04', 'vm-039-09',
                'not-a-server'}
        for hosts in aggregates.values():
            self.assertEqual(usage_server_by_server(cluster, hosts, gone),
                             modes.usage(cluster, hosts, gone))

    def test_usage_reads_the_aggregates_hosts_not_every_server(self):
        cluster, aggregates = cloud()
        cluster.servers = CountingServers(cluster.servers)
        for hosts in aggregates.values():
            modes.usage(cluster, hosts, {'vm-001-02'})
        self.assertEqual(0, cluster.servers.full_reads)

    def test_watermark_victims_read_no_server_list(self):
        cluster, aggregates = cloud()
        cluster.servers = CountingServers(cluster.servers)
        chosen = []
        for hosts in aggregates.values():
            chosen.extend(modes.watermark_victims(cluster, hosts, 0.3, NOW))
        self.assertEqual(0, cluster.servers.full_reads)
        # Every aggregate was over 30 % and gave victims, all preemptible.
        self.assertTrue(chosen)
        self.assertTrue(all(s.preemptible for s in chosen))

    def test_capacity_preemptible_is_what_preemptible_servers_use(self):
        cluster, aggregates = cloud()
        figures = base.capacity_by_aggregate(cluster, aggregates)
        for name, hosts in aggregates.items():
            for rc in ('VCPU', 'MEMORY_MB'):
                self.assertEqual(
                    sum(s.resources[rc] for s in cluster.servers.values()
                        if s.preemptible and s.host in hosts),
                    figures[name][rc]['preemptible'], (name, rc))

    def test_capacity_reads_no_server_list(self):
        cluster, aggregates = cloud()
        cluster.servers = CountingServers(cluster.servers)
        base.capacity_by_aggregate(cluster, aggregates)
        self.assertEqual(0, cluster.servers.full_reads)
