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

Step 2 never costs every host: hosts with the same free capacity and the
same kinds of candidate (a signature) have the same one-victim option,
so each signature enters a heap once, keyed by a bound of its hosts'
options, and a host is costed only when its signature's bound reaches
the top.  The choice is the one costing every host would make (a test
checks it); the work per request grows with the number of signatures,
a few dozen on a full cloud of thousands of hosts.

Among candidates of the same resources on a host, the one whose guarantee
ended last (the most recently started, in practice) goes first.  The
tests compare it with the exact solver of
:mod:`reaper_svc.strategies.exhaustive` on small clusters.
"""

import functools
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
        key, gain = _key(self.free, self.slots, need,
                         [self.groups[index][0] for index in picks],
                         remaining)
        return key, picks, gain

    def take(self, picks):
        victims = []
        for index in picks:
            vector, ids = self.groups[index]
            self.taken[index] += 1
            victims.append(ids[len(ids) - self.taken[index]])
            self.free = [f + v for f, v in zip(self.free, vector)]
        self.slots = rules.slots(self.free, self.need)
        return victims


#: How many victim counts _signature_bound tries for a host that needs
#: several victims (its bound is looser, never wrong, past them).
_MAX_TRIED = 16


def _key(free, slots, need, vectors, remaining):
    """``(key, gain)`` of taking victims of these ``vectors`` from a host
    with ``free`` (holding ``slots`` of the request's servers): the key
    is victims per server made room for, then capacity left unused, in
    units of the request's flavor."""
    free = list(free)
    for vector in vectors:
        free = [f + v for f, v in zip(free, vector)]
    gain = rules.slots(free, need) - slots
    used = min(gain, remaining)
    waste = sum((f - (slots + used) * n) / n
                for f, n in zip(free, need)) / len(need)
    return (len(vectors) / used, waste), gain


def _signatures(hosts):
    """The view's hosts with candidates, by what decides their one-victim
    option: ``[(free, kinds, [position])]``, where ``kinds`` are the
    resource vectors of their candidates and positions ascend.  On a full
    cloud thousands of hosts share a few dozen signatures."""
    found = {}
    for position, host in enumerate(hosts):
        if host.groups:
            kinds = tuple(sorted(vector for vector, _ids in host.groups))
            found.setdefault((host.free, kinds), []).append(position)
    return [(free, kinds, positions)
            for (free, kinds), positions in found.items()]


@functools.lru_cache(maxsize=4096)
def _signature_bound(free, kinds, need, remaining):
    """A key no option of a host of this signature can beat (see
    :meth:`_Host.option`), computed without its candidate counts.

    When one candidate covers what such a host lacks for one more
    server, its option is one such victim, whatever the counts: the
    bound is the least key of those victims.  Otherwise the option takes at
    least two victims, each freeing at most the largest amount of each
    class any candidate frees and at least the least one does."""
    now = rules.slots(free, need)
    lacking = [max(n * (now + 1) - f, 0) for f, n in zip(free, need)]
    singles = [_key(free, now, need, [vector], remaining)[0]
               for vector in kinds
               if all(v >= d for v, d in zip(vector, lacking))]
    if singles:
        # The one _Host._option picks is one of them (the same one on
        # a full cloud, where its ranking and the key's agree).
        return min(singles)
    largest = tuple(max(column) for column in zip(*kinds))
    smallest = tuple(min(column) for column in zip(*kinds))
    # Each victim frees at most ``largest``: it takes at least this many
    # to cover what is lacking ...
    fewest = 2
    for v, d in zip(largest, lacking):
        if d > v * fewest:
            if not v:
                return None
            fewest = -(-d // v)
    # ... and k victims make room for at most slots(free + k * largest)
    # - now servers.  The least victims per server over k: none past
    # k = remaining * ratio does better, and none past the last k tried
    # better than (last + 1) / remaining.
    ratio = float('inf')
    last = fewest + _MAX_TRIED
    for victims in range(fewest, last):
        if victims >= remaining * ratio:
            break
        room = min(rules.slots([f + victims * v for f, v in
                                zip(free, largest)], need) - now,
                   remaining)
        if room > 0:
            ratio = min(ratio, victims / room)
    else:
        ratio = min(ratio, last / remaining)
    # The least unused capacity, as _key computes it, from integers no
    # larger than its own, so that the floats compare the same way.
    waste = sum(max(f + fewest * v - (now + remaining) * n, 0) / n
                for f, v, n in zip(free, smallest, need)) / len(need)
    return (ratio, waste)


class BestFit(base.Strategy):
    """Fewest victims, then least capacity wasted (greedy; see module)."""

    name = 'best_fit'

    def choose(self, view, rng=None):
        need = view.need
        remaining = view.count - view.slots()
        # The heap holds one entry per signature of hosts (see
        # _signatures), keyed by a bound of the options of its hosts and
        # at the position of its first host not yet costed; when it
        # reaches the top, that host is costed and has an entry of its
        # own, and the signature moves on to its next host.  A host's
        # entry is exact once costed, so the choice is the one costing
        # every host would make, but few hosts are ever costed and the
        # work per request does not grow with the number of hosts.
        # Entries: (key, position, costed, picks, signature), where a
        # signature's entry has the number of servers missing when it
        # was bound instead of picks.
        signatures = view.shared('best_fit.signatures',
                                 lambda: _signatures(view.hosts))
        view_hosts = view.hosts
        hosts = {}
        memo = {}
        heap = []
        following = []
        for index, (free, kinds, positions) in enumerate(signatures):
            bound = _signature_bound(free, kinds, need, remaining)
            if bound is not None:
                heap.append((bound, positions[0], 0, remaining, index))
            following.append(1)
        heapq.heapify(heap)
        victims = []
        while remaining > 0 and heap:
            key, position, costed, picks, index = heapq.heappop(heap)
            if index is not None:
                free, kinds, positions = signatures[index]
                if picks != remaining:
                    # Fewer servers are missing than when it was bound:
                    # its hosts' options may cost more now.
                    bound = _signature_bound(free, kinds, need, remaining)
                    if bound is not None:
                        heapq.heappush(heap, (bound, position, 0,
                                              remaining, index))
                    continue
                if following[index] < len(positions):
                    heapq.heappush(heap, (key, positions[following[index]],
                                          0, remaining, index))
                    following[index] += 1
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
                heapq.heappush(heap, (current[0], position, 1, current[1],
                                      None))
                continue
            before = host.slots
            victims.extend(host.take(picks))
            remaining -= host.slots - before
            option = host.option(max(remaining, 1))
            if option is not None:
                heapq.heappush(heap, (option[0], position, 1, option[1],
                                      None))
        return base.reprieve(view, victims)
