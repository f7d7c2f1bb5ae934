"""What a strategy is, and the ordered strategies' common walk.

A strategy is a class with ``choose(view, rng)``: given a
:class:`reaper_svc.strategies.rules.CandidateView` of a request that does
not fit but can be made to, it returns the ids of the servers to preempt.
It never sees a server it may not choose nor a host the request cannot
use; :func:`reaper_svc.strategies.rules.select` checks its answer.
"""

import abc

from reaper_svc.strategies import rules


class Strategy(metaclass=abc.ABCMeta):
    """A victim-selection strategy (a ``reaper_svc.strategies`` plugin)."""

    #: The name it is registered under.
    name = None

    @abc.abstractmethod
    def choose(self, view, rng=None):
        """Server ids to preempt so that ``view.count`` servers fit."""


class _Room(object):
    """Free capacity per eligible host as victims come and go."""

    def __init__(self, view):
        self.view = view
        # Copied from the view when a victim's host is first touched.
        self.free = {}
        self.total = view.slots()

    def host_free(self, server_id):
        name = self.view.cluster.servers[server_id].host
        free = self.free.get(name)
        if free is None:
            free = self.free[name] = list(self.view.host(name).free)
        return free

    def helps(self, server_id):
        """Whether the server frees some of what its host lacks for one
        more of the request's servers."""
        free = self.host_free(server_id)
        need = self.view.need
        more = rules.slots(free, need) + 1
        vector = self.view.vector(server_id)
        return any(v > 0 and f < n * more
                   for v, f, n in zip(vector, free, need))

    def change(self, server_id, sign):
        free = self.host_free(server_id)
        before = rules.slots(free, self.view.need)
        for i, amount in enumerate(self.view.vector(server_id)):
            free[i] += sign * amount
        self.total += rules.slots(free, self.view.need) - before


def reprieve(view, victims):
    """Spare every victim the request can do without, trying the last
    ones first; the victims left, in their order."""
    room = _Room(view)
    for server_id in victims:
        room.change(server_id, +1)
    kept = list(victims)
    for server_id in reversed(victims):
        room.change(server_id, -1)
        if room.total >= view.count:
            kept.remove(server_id)
        else:
            room.change(server_id, +1)
    return kept


class OrderedStrategy(Strategy):
    """Preempt candidates in an order of preference.

    Walks the candidates in :meth:`order`, taking each one that frees
    some of what its host lacks, until the request fits; then spares,
    from the least preferred back, every victim not needed after all.
    """

    @abc.abstractmethod
    def order(self, view, rng):
        """All candidate ids, most preferred victim first."""

    def choose(self, view, rng=None):
        room = _Room(view)
        chosen = []
        for server_id in self.order(view, rng):
            if room.total >= view.count:
                break
            if room.helps(server_id):
                room.change(server_id, +1)
                chosen.append(server_id)
        return reprieve(view, chosen)
