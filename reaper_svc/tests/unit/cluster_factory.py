"""Random clusters and requests for the strategy tests and the bench."""

import datetime

from reaper_svc.strategies import model

NOW = datetime.datetime(2030, 1, 1, 12, 0, 0)
CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')
FLAVORS = ({'VCPU': 1, 'MEMORY_MB': 2, 'DISK_GB': 1},
           {'VCPU': 2, 'MEMORY_MB': 4, 'DISK_GB': 2},
           {'VCPU': 4, 'MEMORY_MB': 8, 'DISK_GB': 4},
           {'VCPU': 2, 'MEMORY_MB': 16, 'DISK_GB': 2},
           {'VCPU': 8, 'MEMORY_MB': 4, 'DISK_GB': 8})


def random_cluster(rng, hosts, servers_per_host, capacity=(16, 48, 40),
                   preemptible_ratio=0.8, protected_ratio=0.1,
                   aggregates=('a', 'b')):
    """A cluster of ``hosts`` hosts, each filled with up to
    ``servers_per_host`` servers of the FLAVORS (as many as fit)."""
    host_list = []
    servers = []
    for h in range(hosts):
        name = 'host%04d' % h
        host_list.append(model.Host(
            name=name, capacity=dict(zip(CLASSES, capacity)),
            aggregates=frozenset([rng.choice(aggregates)]),
            availability_zone=rng.choice(('az1', 'az2')),
            enabled=rng.random() > 0.05, up=rng.random() > 0.05,
            traits=frozenset(['HW_CPU_X86_AVX2'] if rng.random() > 0.3
                             else [])))
        used = dict.fromkeys(CLASSES, 0)
        for s in range(servers_per_host):
            flavor = rng.choice(FLAVORS)
            if any(used[rc] + flavor[rc] > cap
                   for rc, cap in zip(CLASSES, capacity)):
                continue
            for rc in CLASSES:
                used[rc] += flavor[rc]
            created = NOW - datetime.timedelta(minutes=rng.randint(1, 10000))
            protected = rng.random() < protected_ratio
            servers.append(model.Server(
                id='%s-s%03d' % (name, s), host=name, resources=flavor,
                preemptible=rng.random() < preemptible_ratio,
                created_at=created,
                guaranteed_until=(NOW + datetime.timedelta(hours=1)
                                  if protected else
                                  rng.choice((None, NOW - datetime.timedelta(
                                      minutes=5)))),
                priority=rng.randint(0, 3),
                project_id=rng.choice(('p1', 'p2', 'p3'))))
    return model.Cluster(host_list, servers)


def random_request(rng, max_count=3, hosts=None):
    flavor = rng.choice(FLAVORS)
    kwargs = {}
    roll = rng.random()
    if roll < 0.15:
        kwargs['aggregates'] = frozenset(['a'])
    elif roll < 0.25:
        kwargs['availability_zone'] = 'az1'
    elif roll < 0.3:
        kwargs['required_traits'] = frozenset(['HW_CPU_X86_AVX2'])
    elif roll < 0.35 and hosts:
        kwargs['hosts'] = frozenset(rng.sample(hosts, 1))
    return model.Request(resources=dict(flavor),
                         count=rng.randint(1, max_count), **kwargs)
