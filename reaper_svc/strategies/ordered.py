"""Strategies that preempt in an order: ``chance``, ``oldest``,
``newest`` and ``priority``.

The deterministic orders depend only on the view's hosts: they are
sorted once per view and shared by the requests that follow on the same
snapshot (see :meth:`reaper_svc.strategies.rules.CandidateView.shared`).
"""

import random

from reaper_svc.strategies import base


def _candidate_ids(view):
    return view.shared('ordered.candidates', lambda: [
        server_id for host in view.hosts
        for server_id in host.candidate_ids()])


def _sorted_ids(view, name, key, reverse=False):
    """The candidates' ids sorted by ``key`` of their servers (then by
    ``priority`` when ``name`` is ``priority``), once per view."""
    servers = view.cluster.servers

    def build():
        ordered = sorted((servers[i] for i in _candidate_ids(view)),
                         key=key, reverse=reverse)
        if name == 'priority':
            # sorted() is stable: equal priorities keep the first order.
            ordered.sort(key=lambda s: s.priority)
        return [s.id for s in ordered]
    return view.shared(('ordered', name), build)


def _age(server):
    return (server.created_at, server.id)


class Chance(base.OrderedStrategy):
    """Random victims, as CERN's Aardvark ``chance`` strategy: cheap, and
    spreads preemption over users; no attempt at fewest victims."""

    name = 'chance'

    def order(self, view, rng):
        # A shuffle drawn as it is walked: the walk usually stops after
        # a few candidates, so only those are drawn.
        ids = list(_candidate_ids(view))
        rng = rng or random.Random()
        for index in range(len(ids) - 1):
            pick = rng.randint(index, len(ids) - 1)
            ids[index], ids[pick] = ids[pick], ids[index]
            yield ids[index]
        if ids:
            yield ids[-1]


class Oldest(base.OrderedStrategy):
    """The longest-running preemptibles first: they have had their share."""

    name = 'oldest'

    def order(self, view, rng):
        return _sorted_ids(view, 'oldest', _age)


class Newest(base.OrderedStrategy):
    """The most recently started preemptibles first: the least work lost."""

    name = 'newest'

    def order(self, view, rng):
        return _sorted_ids(view, 'newest', _age, reverse=True)


class Priority(base.OrderedStrategy):
    """The lowest priority first, as Kubernetes orders victims; among
    equal priorities the newest first."""

    name = 'priority'

    def order(self, view, rng):
        # Newest first among equal priorities.
        return _sorted_ids(view, 'priority', _age, reverse=True)
