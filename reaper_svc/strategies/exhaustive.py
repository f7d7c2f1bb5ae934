"""``exhaustive``: the exact answer, by enumeration, for small clusters.

As CERN's Aardvark ``strict`` strategy, it enumerates combinations of
preemptible servers per host; candidates with the same resources on a
host are interchangeable, so it enumerates how many of each are taken
rather than every subset.  Across hosts a dynamic programme over the
number of servers made room for picks, for each host, how many it
takes: the fewest victims, then the least waste, exactly.

The enumeration grows as the product of the candidate counts per flavor
on each host; beyond ``max_combinations`` on one host it raises
:class:`TooLarge`.  It is the baseline the tests and ``tools/bench_reaper``
compare the other strategies with, and usable on small clouds.
"""

import itertools

from reaper_svc.strategies import base
from reaper_svc.strategies import rules


class TooLarge(Exception):
    """A host has too many combinations to enumerate."""


def _host_table(host, need, count, max_combinations):
    """For k = 0..count: the cheapest (victims, waste, takes) giving the
    host room for k of the request's servers; None where impossible."""
    sizes = [len(ids) for _vector, ids in host.groups]
    combinations = 1
    for size in sizes:
        combinations *= size + 1
    if combinations > max_combinations:
        raise TooLarge('host %s has %d combinations of candidates'
                       % (host.name, combinations))
    base_slots = rules.slots(host.free, need)
    table = [None] * (count + 1)
    for k in range(min(base_slots, count) + 1):
        table[k] = (0, 0.0, ())
    for takes in itertools.product(*[range(s + 1) for s in sizes]):
        victims = sum(takes)
        if not victims:
            continue
        free = list(host.free)
        for (vector, _ids), take in zip(host.groups, takes):
            free = [f + v * take for f, v in zip(free, vector)]
        room = rules.slots(free, need)
        for k in range(base_slots + 1, min(room, count) + 1):
            waste = sum((f - k * n) / n
                        for f, n in zip(free, need)) / len(need)
            cost = (victims, waste, takes)
            if table[k] is None or cost[:2] < table[k][:2]:
                table[k] = cost
    return table


class Exhaustive(base.Strategy):
    """Exact fewest victims, then least waste (small clusters only)."""

    name = 'exhaustive'

    def __init__(self, max_combinations=100000):
        self.max_combinations = max_combinations

    def choose(self, view, rng=None):
        count = view.count
        # best[j]: (victims, waste, [(host, takes)]) for room for j servers
        best = [None] * (count + 1)
        best[0] = (0, 0.0, [])
        for host in view.hosts:
            table = _host_table(host, view.need, count,
                                self.max_combinations)
            merged = list(best)
            for j, done in enumerate(best):
                if done is None:
                    continue
                for k, cost in enumerate(table):
                    if cost is None or not k:
                        continue
                    target = min(j + k, count)
                    candidate = (done[0] + cost[0], done[1] + cost[1],
                                 done[2] + [(host, cost[2])])
                    if (merged[target] is None
                            or candidate[:2] < merged[target][:2]):
                        merged[target] = candidate
            best = merged
        victims = []
        for host, takes in best[count][2]:
            for (_vector, ids), take in zip(host.groups, takes):
                victims.extend(ids[len(ids) - take:] if take else [])
        return victims
