"""``best_fit``: fewest victims, then least capacity wasted.

A greedy heuristic that never enumerates combinations, so that it stays
fast on thousands of hosts:

1. For every eligible host, the cheapest way to make room for one more of
   the request's servers there: if one candidate covers what the host
   lacks, the one that leaves the least unused; otherwise candidates taken
   one by one, the one covering most of what is still lacking first.
   Candidates with the same resources are interchangeable here, so a host
   costs the number of its distinct flavors, not of its servers.
2. Take the cheapest option over all hosts (victims per server made room
   for, then waste), apply it, recompute that host only, and repeat until
   the request fits.
3. Spare any victim that turns out not to be needed.

Among candidates of the same resources on a host, the one whose guarantee
ended last (the most recently started, in practice) goes first.  The
tests compare it with the exact solver of
:mod:`reaper_svc.strategies.exhaustive` on small clusters.
"""

import heapq

from reaper_svc.strategies import base
from reaper_svc.strategies import rules


class _Host(object):
    def __init__(self, view_host, need, memo):
        self.memo = memo
        self.name = view_host.name
        self.free = list(view_host.free)
        self.need = need
        # ids are shared with the view, never copied: taken counts how
        # many were used from the end of each list.
        self.groups = view_host.groups
        self.taken = [0] * len(self.groups)
        self.slots = rules.slots(self.free, need)

    def option(self, remaining):
        """``(key, picks, gain)`` of the cheapest way to one more slot,
        or None; ``picks`` are indices into ``groups``."""
        counts = [len(ids) - taken for (_vector, ids), taken in
                  zip(self.groups, self.taken)]
        # Hosts with the same free capacity and the same kinds of
        # candidate left have the same one-victim option: on a full
        # cloud, few kinds for thousands of hosts.
        present = [i for i, count in enumerate(counts) if count]
        memo_key = (tuple(self.free), remaining,
                    tuple(self.groups[i][0] for i in present))
        known = self.memo.get(memo_key)
        if known is not None:
            key, which, gain = known
            return key, [present[which]], gain
        found = self._option(remaining, counts)
        if found is not None and len(found[1]) == 1:
            self.memo[memo_key] = (found[0], present.index(found[1][0]),
                                   found[2])
        return found

    def _option(self, remaining, counts):
        need = self.need
        more = self.slots + 1
        lacking = [max(n * more - f, 0) for f, n in zip(self.free, need)]
        picks = []
        while True:
            single = None
            for index, (vector, _ids) in enumerate(self.groups):
                if not counts[index]:
                    continue
                for v, d in zip(vector, lacking):
                    if v < d:
                        break
                else:
                    # More room per victim first, then less waste.
                    gain = min(min((f + v) // n for f, v, n in
                                   zip(self.free, vector, need))
                               - self.slots, remaining)
                    waste = sum((v - d) / n for v, d, n in
                                zip(vector, lacking, need))
                    key = (-gain, waste)
                    if single is None or key < single[0]:
                        single = (key, index)
            if single is not None:
                picks.append(single[1])
                break
            best = None
            for index, (vector, _ids) in enumerate(self.groups):
                if not counts[index]:
                    continue
                covered = sum(min(v, d) / n for v, d, n in
                              zip(vector, lacking, need))
                if covered > 0 and (best is None or covered > best[0]):
                    best = (covered, index)
            if best is None:
                return None
            index = best[1]
            picks.append(index)
            counts[index] -= 1
            lacking = [max(d - v, 0) for d, v in
                       zip(lacking, self.groups[index][0])]
        free = list(self.free)
        for index in picks:
            free = [f + v for f, v in zip(free, self.groups[index][0])]
        gain = rules.slots(free, need) - self.slots
        used = min(gain, remaining)
        waste = sum((f - (self.slots + used) * n) / n
                    for f, n in zip(free, need)) / len(need)
        return (len(picks) / used, waste), picks, gain

    def take(self, picks):
        victims = []
        for index in picks:
            vector, ids = self.groups[index]
            self.taken[index] += 1
            victims.append(ids[len(ids) - self.taken[index]])
            self.free = [f + v for f, v in zip(self.free, vector)]
        self.slots = rules.slots(self.free, self.need)
        return victims


def _bound(view_host, need, remaining):
    """A key no option of the host can beat (see :meth:`_Host.option`),
    computed without costing the host's candidates; None when the host
    cannot hold one more server even with every candidate gone."""
    now = rules.slots(view_host.free, need)
    most = rules.slots(view_host.freeable(), need) - now
    if most <= 0:
        return None
    # At least one victim for at most this many servers ...
    used = min(remaining, most)
    # ... and, for that ratio, one victim freeing at least the least any
    # candidate frees, leaving at least this much unused.  Computed as
    # option() computes waste, from integers no larger than its own, so
    # that the floats compare the same way.  (Any option with more
    # victims per server has a larger first member.)
    waste = sum(max(f + v - (now + used) * n, 0) / n for f, v, n in
                zip(view_host.free, view_host.smallest(), need)) / len(need)
    return (1 / used, waste)


class BestFit(base.Strategy):
    """Fewest victims, then least capacity wasted (greedy; see module)."""

    name = 'best_fit'

    def choose(self, view, rng=None):
        need = view.need
        remaining = view.count - view.slots()
        # Every host enters the heap with a bound of its options, and is
        # costed only when that bound reaches the top: the choice is the
        # one costing every host would make, but most hosts are never
        # costed.  Entries: (key, position, costed, picks).
        view_hosts = view.hosts
        hosts = {}
        memo = {}
        heap = []
        for position, view_host in enumerate(view_hosts):
            if not view_host.groups:
                continue
            bound = _bound(view_host, need, remaining)
            if bound is not None:
                heap.append((bound, position, 0, None))
        heapq.heapify(heap)
        victims = []
        while remaining > 0 and heap:
            key, position, costed, picks = heapq.heappop(heap)
            host = hosts.get(position)
            if host is None:
                host = hosts[position] = _Host(view_hosts[position], need,
                                               memo)
            current = host.option(remaining)
            if current is None:
                continue
            if not costed or (current[0], current[1]) != (key, picks):
                # A bound, or stale: the host changed or fewer servers
                # are missing.
                heapq.heappush(heap, (current[0], position, 1, current[1]))
                continue
            before = host.slots
            victims.extend(host.take(picks))
            remaining -= host.slots - before
            option = host.option(max(remaining, 1))
            if option is not None:
                heapq.heappush(heap, (option[0], position, 1, option[1]))
        return base.reprieve(view, victims)
