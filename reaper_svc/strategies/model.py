"""The cluster and request that victim selection works on.

Plain, immutable data: a :class:`Cluster` is a snapshot of the cloud as a
driver sees it (hosts with their capacity, the servers on them), a
:class:`Request` what could not be placed.  Nothing here imports a driver,
a database or an HTTP framework.

Resources are counted per resource class (``VCPU``, ``MEMORY_MB``,
``DISK_GB``, custom classes) as non-negative integers, as Placement counts
them.
"""

import bisect
import dataclasses
import datetime
import typing


def _frozen(mapping):
    return dict(mapping or {})


@dataclasses.dataclass(frozen=True)
class Host(object):
    """A compute host (a resource provider in Placement's terms).

    :param capacity: usable amount per resource class (inventory total
        minus reserved, times the allocation ratio)
    :param aggregates: names of the host aggregates it belongs to
    :param availability_zone: its availability zone, or None
    :param enabled: False when the compute service is disabled
    :param up: False when the compute service is down
    :param traits: the traits the host has
    :param service_host: the host of its compute service, where it
        differs from ``name`` (a hypervisor reporting a fully qualified
        node name): a request forced to a host may name either
    """

    name: str
    capacity: typing.Mapping[str, int]
    aggregates: frozenset = frozenset()
    availability_zone: typing.Optional[str] = None
    enabled: bool = True
    up: bool = True
    traits: frozenset = frozenset()
    service_host: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Server(object):
    """A server placed on a host.

    :param resources: what its flavor consumes per resource class
    :param preemptible: whether it may be preempted (decided by the
        operator's rule, e.g. a flavor extra spec, never by the user)
    :param guaranteed_until: before this time the server is protected
        (its guaranteed minimum runtime); None: no guarantee
    :param priority: lower is preempted first by the ``priority``
        strategy
    :param group: the all-or-nothing group the server was built in, if any
    """

    id: str
    host: str
    resources: typing.Mapping[str, int]
    preemptible: bool = False
    created_at: datetime.datetime = datetime.datetime(2000, 1, 1)
    guaranteed_until: typing.Optional[datetime.datetime] = None
    priority: int = 0
    group: typing.Optional[str] = None
    project_id: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Request(object):
    """What could not be placed: ``count`` servers of one flavor.

    :param resources: one server's resources per resource class
    :param count: how many servers; room for all of them or none
    :param hosts: the only hosts it may land on, by name or service host
        (None: any)
    :param aggregates: it may land only on hosts in one of these
        aggregates (None: any)
    :param availability_zone: only hosts of this zone (None: any)
    :param required_traits: traits a host must have
    :param forbidden_traits: traits a host must not have
    """

    resources: typing.Mapping[str, int]
    count: int = 1
    hosts: typing.Optional[frozenset] = None
    aggregates: typing.Optional[frozenset] = None
    availability_zone: typing.Optional[str] = None
    required_traits: frozenset = frozenset()
    forbidden_traits: frozenset = frozenset()

    def __post_init__(self):
        if self.count < 1:
            raise ValueError('a request is for at least one server')
        if not any(amount > 0 for amount in self.resources.values()):
            raise ValueError('a request needs a positive amount of at '
                             'least one resource class')
        if any(amount < 0 for amount in self.resources.values()):
            raise ValueError('resource amounts cannot be negative')

    @property
    def classes(self):
        """The resource classes it needs, in a fixed order."""
        return tuple(sorted(rc for rc, amount in self.resources.items()
                            if amount > 0))

    def allows(self, host):
        """Whether a server of this request may land on ``host`` at all
        (ignoring how full the host is)."""
        if not (host.enabled and host.up):
            return False
        if (self.hosts is not None and host.name not in self.hosts
                and host.service_host not in self.hosts):
            return False
        if (self.aggregates is not None
                and not self.aggregates & host.aggregates):
            return False
        if (self.availability_zone is not None
                and host.availability_zone != self.availability_zone):
            return False
        if not self.required_traits <= host.traits:
            return False
        if self.forbidden_traits & host.traits:
            return False
        return all(host.capacity.get(rc, 0) > 0 for rc in self.classes)


def flavor_traits(extra_specs):
    """``(required, forbidden)`` traits of a flavor's extra specs
    (``trait:<NAME>=required`` or ``forbidden``, as Nova reads them)."""
    found = {'required': set(), 'forbidden': set()}
    for key, value in (extra_specs or {}).items():
        if key.startswith('trait:') and value in found:
            found[value].add(key[len('trait:'):])
    return frozenset(found['required']), frozenset(found['forbidden'])


def is_preemptible(extra_specs, spec_name):
    """Whether a flavor's extra specs make its servers preemptible: the
    spec ``spec_name`` (``[preemption] preemptible_extra_spec``) is
    ``true``, ``1`` or ``yes``, in any case."""
    value = (extra_specs or {}).get(spec_name, 'false')
    return str(value).strip().lower() in ('true', '1', 'yes')


def _never():
    return float('-inf')


def timestamp(when):
    """Seconds since the epoch of a naive UTC or aware datetime; None is
    minus infinity (the past of every instant)."""
    if when is None:
        return _never()
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


class Cluster(object):
    """A snapshot of hosts and servers, indexed for victim selection.

    Building it costs one pass over the servers; each selection then reads
    the preemptible servers of a host grouped by their resources, sorted
    by the end of their guarantee, so that the servers still protected at
    a given time are skipped with a bisection rather than a scan.
    """

    def __init__(self, hosts, servers):
        self.hosts = {host.name: host for host in hosts}
        self.servers = {}
        self.used = {name: {} for name in self.hosts}
        #: host -> {resources key: ([guaranteed_until ts], [server id])}
        self.preemptible = {name: {} for name in self.hosts}
        #: What victim selection derives from the snapshot and reuses
        #: across requests (see :func:`reaper_svc.strategies.rules.
        #: build_view`); the snapshot never changes, so neither does it.
        self.derived = {}
        staged = {name: {} for name in self.hosts}
        # Servers of one flavor share their resources key (computed once
        # per resources mapping; the servers keep the mappings alive) and
        # are counted per host and key, so that a server costs a few dict
        # operations: snapshots of tens of thousands of servers are built
        # for every trigger.
        keys = {}
        counts = {}
        never = _never()
        for server in servers:
            name = server.host
            if name not in staged:
                raise ValueError('server %s is on unknown host %s'
                                 % (server.id, name))
            if server.id in self.servers:
                raise ValueError('server %s appears twice' % server.id)
            self.servers[server.id] = server
            key = keys.get(id(server.resources))
            if key is None:
                key = keys[id(server.resources)] = tuple(
                    sorted(server.resources.items()))
            counted = (name, key)
            counts[counted] = counts.get(counted, 0) + 1
            if server.preemptible:
                ends = server.guaranteed_until
                staged[name].setdefault(key, []).append(
                    (never if ends is None else timestamp(ends), server.id))
        for (name, key), count in counts.items():
            used = self.used[name]
            for rc, amount in key:
                used[rc] = used.get(rc, 0) + amount * count
        for name, groups in staged.items():
            for key, items in groups.items():
                items.sort()
                self.preemptible[name][key] = (
                    [item[0] for item in items], [item[1] for item in items])

    def free(self, host_name, rc):
        """Capacity of ``rc`` not used on the host (never negative)."""
        return max(self.hosts[host_name].capacity.get(rc, 0)
                   - self.used[host_name].get(rc, 0), 0)

    def candidates(self, host_name, now):
        """The host's preemptible servers out of their guarantee at
        ``now``: a list of (resources key, [server id])."""
        limit = timestamp(now)
        found = []
        for key, (ends, ids) in self.preemptible[host_name].items():
            cut = bisect.bisect_right(ends, limit)
            if cut:
                # The snapshot's own list when nothing is protected: no
                # one changes it.
                found.append((key, ids if cut == len(ids) else ids[:cut]))
        return found

    def share(self):
        """A cluster of the same hosts and servers with a ``derived`` of
        its own: what a driver hands out again while the cloud has not
        changed, instead of building the indexes anew.  Nothing changes a
        cluster's indexes once built, so sharing them is safe; what
        selection derives (keyed by instant, among others) starts empty,
        so it does not pile up across triggers."""
        other = Cluster.__new__(Cluster)
        other.hosts = self.hosts
        other.servers = self.servers
        other.used = self.used
        other.preemptible = self.preemptible
        other.derived = {}
        return other

    def without_candidates(self, server_ids):
        """A new cluster in which ``server_ids`` still use their
        resources but are no longer preemptible (other actions are
        preempting them).

        Costs the claimed servers and their hosts, not a new pass over
        every server: the engine asks for it on every trigger."""
        claimed = {server_id: self.servers[server_id]
                   for server_id in server_ids if server_id in self.servers}
        other = Cluster.__new__(Cluster)
        other.hosts = self.hosts
        other.used = self.used
        other.derived = {}
        other.servers = dict(self.servers)
        other.preemptible = dict(self.preemptible)
        touched = set()
        for server_id, server in claimed.items():
            if server.preemptible:
                other.servers[server_id] = dataclasses.replace(
                    server, preemptible=False)
                touched.add(server.host)
        for name in touched:
            groups = {}
            for key, (ends, ids) in self.preemptible[name].items():
                kept = [(end, server_id) for end, server_id in zip(ends, ids)
                        if server_id not in claimed]
                if kept:
                    groups[key] = ([end for end, _id in kept],
                                   [server_id for _end, server_id in kept])
            other.preemptible[name] = groups
        return other

    def without(self, server_ids):
        """A new cluster with these servers gone."""
        gone = set(server_ids)
        return Cluster(self.hosts.values(),
                       [s for s in self.servers.values() if s.id not in gone])
