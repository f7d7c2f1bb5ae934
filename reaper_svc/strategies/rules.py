"""The rules every strategy obeys, enforced here and not in the strategies.

:func:`select` is the only way a strategy is run.  It

* keeps only the hosts the request may land on (enabled and up, in its
  hosts, aggregates and availability zone, with its traits and resource
  classes) — the others count for nothing;
* offers as candidates only the preemptible servers of those hosts whose
  guaranteed minimum runtime is over;
* kills nothing when there is room already, or when even killing every
  candidate would not make room for all ``count`` servers;
* checks what the strategy chose: only candidates, each once, and room
  for all ``count`` servers afterwards.  A strategy that breaks a rule
  raises :class:`StrategyError` instead of having its choice acted on.

How "room" is counted: the servers of one request are alike, so a host
holds ``min(free[rc] // need[rc])`` more of them, and the request fits
when the eligible hosts together hold ``count``.
"""

import dataclasses
import typing


class StrategyError(Exception):
    """A strategy chose something the rules forbid (a bug in it)."""


def slots(free, need):
    """How many servers needing ``need`` fit in ``free`` (vectors)."""
    return min(f // n for f, n in zip(free, need))


@dataclasses.dataclass
class HostView(object):
    """One eligible host as a strategy sees it.

    :param free: free amount of each of the request's resource classes
    :param groups: the candidates, grouped by their resources: a list of
        ``(vector, [server id])`` where ``vector`` holds the server's
        amounts of the request's resource classes and the ids are ordered
        from the earliest end of guarantee to the latest
    :param capacity: the host's capacity of each class
    """

    name: str
    free: tuple
    capacity: tuple
    groups: list

    def freeable(self):
        """Free capacity if every candidate went."""
        free = list(self.free)
        for vector, ids in self.groups:
            free = [f + v * len(ids) for f, v in zip(free, vector)]
        return free

    def candidate_ids(self):
        for _vector, ids in self.groups:
            yield from ids


@dataclasses.dataclass
class CandidateView(object):
    """What a strategy chooses from: the eligible hosts and the request's
    needs as vectors over ``classes``."""

    classes: tuple
    need: tuple
    count: int
    hosts: list
    cluster: typing.Any
    now: typing.Any

    def slots(self):
        return sum(slots(host.free, self.need) for host in self.hosts)

    def vector(self, server_id):
        resources = self.cluster.servers[server_id].resources
        return tuple(resources.get(rc, 0) for rc in self.classes)


@dataclasses.dataclass
class Selection(object):
    """The outcome of a selection.

    :param victims: server ids to preempt (empty when nothing is killed)
    :param outcome: ``victims`` (they make room), ``fits`` (there is room
        already), ``unsatisfiable`` (not even every candidate makes room)
    :param wasted: capacity freed but not needed, in units of the
        request's flavor (see :func:`wasted`)
    """

    victims: list
    outcome: str
    wasted: float = 0.0
    hosts: list = dataclasses.field(default_factory=list)


def build_view(cluster, request, now):
    """The :class:`CandidateView` of ``request`` on ``cluster`` at ``now``."""
    classes = request.classes
    need = tuple(request.resources[rc] for rc in classes)
    hosts = []
    vectors = {}
    for host in cluster.hosts.values():
        if not request.allows(host):
            continue
        groups = []
        for key, ids in cluster.candidates(host.name, now):
            vector = vectors.get(key)
            if vector is None:
                amounts = dict(key)
                vector = vectors[key] = tuple(amounts.get(rc, 0)
                                              for rc in classes)
            groups.append((vector, ids))
        hosts.append(HostView(
            name=host.name,
            free=tuple(cluster.free(host.name, rc) for rc in classes),
            capacity=tuple(host.capacity.get(rc, 0) for rc in classes),
            groups=groups))
    return CandidateView(classes, need, request.count, hosts, cluster, now)


def slots_after(view, victims):
    """How many of the request's servers fit once ``victims`` are gone."""
    freed = {}
    for server_id in victims:
        server = view.cluster.servers[server_id]
        vector = view.vector(server_id)
        current = freed.get(server.host, (0,) * len(vector))
        freed[server.host] = tuple(a + b for a, b in zip(current, vector))
    total = 0
    for host in view.hosts:
        extra = freed.get(host.name)
        free = (host.free if extra is None else
                tuple(a + b for a, b in zip(host.free, extra)))
        total += slots(free, view.need)
    return total


def wasted(view, victims):
    """Capacity the victims free that the request does not use.

    On each host that loses a victim, what is free afterwards minus what
    the request's servers placed there take, in units of the request's
    flavor, averaged over its resource classes.  Servers are placed first
    on hosts that had room already, then on the hosts with victims.
    """
    by_host = {}
    for server_id in victims:
        by_host.setdefault(view.cluster.servers[server_id].host, []).append(
            server_id)
    remaining = view.count - view.slots()
    total = 0.0
    for host in view.hosts:
        if host.name not in by_host:
            continue
        free = list(host.free)
        for server_id in by_host[host.name]:
            free = [a + b for a, b in zip(free, view.vector(server_id))]
        before = slots(host.free, view.need)
        placed = max(min(slots(free, view.need) - before, remaining), 0)
        remaining -= placed
        total += sum((f - (before + placed) * n) / n
                     for f, n in zip(free, view.need)) / len(view.need)
    return total


def select(strategy, cluster, request, now, rng=None):
    """Run ``strategy`` under the rules; a :class:`Selection`.

    :param strategy: an object with ``choose(view, rng)`` returning server
        ids (see :mod:`reaper_svc.strategies.base`)
    :param now: the time guarantees are compared with
    :param rng: a ``random.Random`` for strategies that draw lots
    """
    view = build_view(cluster, request, now)
    if view.slots() >= request.count:
        return Selection([], 'fits')
    if sum(slots(host.freeable(), view.need)
           for host in view.hosts) < request.count:
        return Selection([], 'unsatisfiable')
    victims = list(strategy.choose(view, rng))
    check(view, victims)
    hosts = sorted({cluster.servers[v].host for v in victims})
    return Selection(victims, 'victims', wasted(view, victims), hosts)


def check(view, victims):
    """Raise :class:`StrategyError` unless ``victims`` obey the rules."""
    if len(set(victims)) != len(victims):
        raise StrategyError('a victim was chosen twice')
    hosts = {host.name: host for host in view.hosts}
    allowed = {}
    outside = []
    for victim in victims:
        server = view.cluster.servers.get(victim)
        host = hosts.get(server.host) if server is not None else None
        if host is not None and host.name not in allowed:
            allowed[host.name] = set(host.candidate_ids())
        if host is None or victim not in allowed[host.name]:
            outside.append(victim)
    if outside:
        raise StrategyError('not candidates (not preemptible, protected, '
                            'or on a host the request cannot use): %s'
                            % ', '.join(sorted(outside)))
    if slots_after(view, victims) < view.count:
        raise StrategyError('the victims do not make room for %d servers'
                            % view.count)
