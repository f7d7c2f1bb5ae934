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

import collections
import dataclasses
import typing

from reaper_svc.strategies import model


class StrategyError(Exception):
    """A strategy chose something the rules forbid (a bug in it)."""


def slots(free, need):
    """How many servers needing ``need`` fit in ``free`` (vectors)."""
    return min(f // n for f, n in zip(free, need))


@dataclasses.dataclass(eq=False)
class HostView(object):
    """One eligible host as a strategy sees it (shared by every request
    on the same snapshot: never changed once built).

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
    host: typing.Any = None
    _freeable: tuple = None
    _smallest: tuple = None

    def freeable(self):
        """Free capacity if every candidate went."""
        if self._freeable is None:
            free = list(self.free)
            for vector, ids in self.groups:
                free = [f + v * len(ids) for f, v in zip(free, vector)]
            self._freeable = tuple(free)
        return self._freeable

    def candidate_ids(self):
        for _vector, ids in self.groups:
            yield from ids

    def smallest(self):
        """Per class, the least any one candidate frees (a bound for
        strategies that must not cost every host)."""
        if self._smallest is None:
            vectors = [vector for vector, ids in self.groups if ids]
            self._smallest = (tuple(min(column) for column in zip(*vectors))
                              if vectors else (0,) * len(self.free))
        return self._smallest


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
    #: What identifies ``hosts`` on the snapshot (classes, instant and
    #: placement constraints; see :func:`build_view`); None: not shared.
    key: tuple = None

    def shared(self, name, build):
        """``build()``, computed once for every view of the same hosts on
        this snapshot and reused by the requests that follow.

        :param name: what is built (hashable; include the request's needs
            if the result depends on them)
        :param build: a function of no argument; it must depend on
            nothing but ``name`` and the view's hosts
        """
        if self.key is None:
            return build()
        key = ('shared', name) + self.key
        found = self.cluster.derived.get(key)
        if found is None:
            found = self.cluster.derived[key] = build()
        return found

    def _total(self, what, vector):
        # Hosts counted by their free vector, once per view: a full
        # cloud has few distinct ones, and each request's needs then
        # cost those, not every host.
        def count():
            return collections.Counter(vector(host) for host in self.hosts)

        def total():
            counted = self.shared(('count', what), count)
            return sum(hosts * slots(free, self.need)
                       for free, hosts in counted.items())
        return self.shared((what, self.need), total)

    def slots(self):
        """How many of the request's servers fit now."""
        return self._total('slots', lambda host: host.free)

    def room_if_emptied(self):
        """Whether every candidate gone would make room for all
        ``count`` servers.  Stops at the first hosts that do: on a cloud
        full of preemptibles that is a few hosts, not all of them."""
        total = 0
        for host in self.hosts:
            total += slots(host.freeable(), self.need)
            if total >= self.count:
                return True
        return False

    def positions(self):
        """Host name -> (index in ``hosts``, :class:`HostView`)."""
        return self.shared('positions', lambda: {
            host.name: (index, host) for index, host in
            enumerate(self.hosts)})

    def host(self, name):
        """The :class:`HostView` of ``name`` (any host of the
        snapshot)."""
        return self.cluster.derived[('host_by_name', self.classes,
                                     model.timestamp(self.now))][name]

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


def _host_views(cluster, classes, now):
    """Every host of ``cluster`` as a :class:`HostView` over ``classes``
    at ``now``: built once per snapshot, class list and instant, and
    shared by the requests that follow."""
    key = ('host_views', classes, model.timestamp(now))
    views = cluster.derived.get(key)
    if views is not None:
        return views
    views = []
    vectors = {}
    for host in cluster.hosts.values():
        groups = []
        for resources, ids in cluster.candidates(host.name, now):
            vector = vectors.get(resources)
            if vector is None:
                amounts = dict(resources)
                vector = vectors[resources] = tuple(amounts.get(rc, 0)
                                                    for rc in classes)
            groups.append((vector, ids))
        views.append(HostView(
            name=host.name,
            free=tuple(cluster.free(host.name, rc) for rc in classes),
            capacity=tuple(host.capacity.get(rc, 0) for rc in classes),
            groups=groups, host=host))
    cluster.derived[key] = views
    cluster.derived[('host_by_name',) + key[1:]] = {
        view.name: view for view in views}
    return views


def build_view(cluster, request, now):
    """The :class:`CandidateView` of ``request`` on ``cluster`` at ``now``.

    The hosts' views are shared by every request of the same resource
    classes, placement constraints and instant on this snapshot."""
    classes = request.classes
    need = tuple(request.resources[rc] for rc in classes)
    key = ('eligible', classes, model.timestamp(now), request.hosts,
           request.aggregates, request.availability_zone,
           request.required_traits, request.forbidden_traits)
    hosts = cluster.derived.get(key)
    if hosts is None:
        hosts = [view for view in _host_views(cluster, classes, now)
                 if request.allows(view.host)]
        cluster.derived[key] = hosts
    return CandidateView(classes, need, request.count, hosts, cluster, now,
                         key)


def _freed_by_host(view, victims):
    """Eligible host name -> what ``victims`` free on it (a vector);
    victims on other hosts are left out."""
    positions = view.positions()
    freed = {}
    for server_id in victims:
        server = view.cluster.servers[server_id]
        if server.host not in positions:
            continue
        vector = view.vector(server_id)
        current = freed.get(server.host, (0,) * len(vector))
        freed[server.host] = tuple(a + b for a, b in zip(current, vector))
    return freed


def slots_after(view, victims):
    """How many of the request's servers fit once ``victims`` are gone.

    Only the victims' hosts are counted again: the others hold what
    :meth:`CandidateView.slots` says."""
    positions = view.positions()
    total = view.slots()
    for name, extra in _freed_by_host(view, victims).items():
        host = positions[name][1]
        free = tuple(a + b for a, b in zip(host.free, extra))
        total += slots(free, view.need) - slots(host.free, view.need)
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
    positions = view.positions()
    touched = sorted(positions[name] for name in by_host
                     if name in positions)
    remaining = view.count - view.slots()
    total = 0.0
    for _index, host in touched:
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
    if not view.room_if_emptied():
        return Selection([], 'unsatisfiable')
    victims = list(strategy.choose(view, rng))
    check(view, victims)
    hosts = sorted({cluster.servers[v].host for v in victims})
    return Selection(victims, 'victims', wasted(view, victims), hosts)


def check(view, victims):
    """Raise :class:`StrategyError` unless ``victims`` obey the rules."""
    if len(set(victims)) != len(victims):
        raise StrategyError('a victim was chosen twice')
    positions = view.positions()
    allowed = {}
    outside = []
    for victim in victims:
        server = view.cluster.servers.get(victim)
        host = (positions.get(server.host, (None, None))[1]
                if server is not None else None)
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
