"""Strategies that preempt in an order: ``chance``, ``oldest``,
``newest`` and ``priority``."""

import random

from reaper_svc.strategies import base


def _candidates(view):
    servers = view.cluster.servers
    return [servers[i] for host in view.hosts for i in host.candidate_ids()]


class Chance(base.OrderedStrategy):
    """Random victims, as CERN's Aardvark ``chance`` strategy: cheap, and
    spreads preemption over users; no attempt at fewest victims."""

    name = 'chance'

    def order(self, view, rng):
        ids = [server.id for server in _candidates(view)]
        (rng or random.Random()).shuffle(ids)
        return ids


class Oldest(base.OrderedStrategy):
    """The longest-running preemptibles first: they have had their share."""

    name = 'oldest'

    def order(self, view, rng):
        return [s.id for s in sorted(_candidates(view),
                                     key=lambda s: (s.created_at, s.id))]


class Newest(base.OrderedStrategy):
    """The most recently started preemptibles first: the least work lost."""

    name = 'newest'

    def order(self, view, rng):
        return [s.id for s in sorted(_candidates(view),
                                     key=lambda s: (s.created_at, s.id),
                                     reverse=True)]


class Priority(base.OrderedStrategy):
    """The lowest priority first, as Kubernetes orders victims; among
    equal priorities the newest first."""

    name = 'priority'

    def order(self, view, rng):
        newest_first = sorted(_candidates(view),
                              key=lambda s: (s.created_at, s.id),
                              reverse=True)
        # sorted() is stable: equal priorities stay newest first.
        return [s.id for s in sorted(newest_first, key=lambda s: s.priority)]
