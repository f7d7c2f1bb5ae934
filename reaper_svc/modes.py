"""Optional modes of the reaper: headroom (watermark) and lifetimes.

Both are off by default and run on the leader every ``[preemption]
modes_interval`` seconds when on.  Their victims go through the same
path as a scheduling failure's (an action: lock, soft shutdown,
``preemption.notice``, deletion after the grace period), and are chosen
among the same candidates: preemptible servers out of their guaranteed
minimum runtime and not claimed by another unfinished action.

* **Watermark** (``[preemption] watermark``, a ratio; 0 is off): an
  aggregate whose used share of some resource class, over its enabled
  and up hosts, is above the watermark gets one action (trigger
  ``watermark``) whose victims bring every class back to the watermark or
  under.  Servers already being preempted count as gone, so a pass does
  not pick more victims while earlier ones wait out their grace period.
  Victims are taken lowest priority first, then oldest first.
* **Maximum lifetime** (``[preemption] max_lifetime``, seconds; 0 is
  off): preemptible servers running for longer get one action (trigger
  ``max_lifetime``).
"""

import datetime
import hashlib

from oslo_log import log as logging

from reaper_svc.db import actions as actions_db
from reaper_svc import reaper as reaper_mod

LOG = logging.getLogger(__name__)

TRIGGER_WATERMARK = 'watermark'
TRIGGER_MAX_LIFETIME = 'max_lifetime'
#: The length of the actions' ``trigger_id`` column.
TRIGGER_ID_LENGTH = 255


# -- pure logic ---------------------------------------------------------

def usage(cluster, host_names, gone=frozenset()):
    """``{rc: (used, total)}``: the capacity of the enabled and up hosts
    of ``host_names`` and what the servers on ``host_names`` use of it,
    not counting the servers in ``gone``.

    Read from the snapshot's per-host usage, less what the servers of
    ``gone`` on those hosts use: it costs the aggregate's hosts and
    ``gone``, not a pass over every server of the cloud (a watermark pass
    asks for it once per aggregate)."""
    result = {}
    present = set(name for name in host_names if name in cluster.hosts)
    for name in present:
        host = cluster.hosts[name]
        if not (host.enabled and host.up):
            continue
        for rc, total in host.capacity.items():
            used, capacity = result.get(rc, (0, 0))
            result[rc] = (used, capacity + total)
    for name in present:
        for rc, amount in cluster.used[name].items():
            if rc in result:
                used, capacity = result[rc]
                result[rc] = (used + amount, capacity)
    for server_id in gone:
        server = cluster.servers.get(server_id)
        if server is None or server.host not in present:
            continue
        for rc, amount in server.resources.items():
            if rc in result:
                used, capacity = result[rc]
                result[rc] = (used - amount, capacity)
    return result


def over(per_rc, watermark):
    """Whether some class is used above ``watermark`` of its total."""
    return any(total and used > watermark * total
               for used, total in per_rc.values())


def candidates(cluster, host_names, now):
    """The candidate victims on ``host_names`` at ``now`` (preemptible,
    out of their guarantee), lowest priority first, then oldest."""
    found = []
    for name in sorted(host_names):
        if name not in cluster.hosts:
            continue
        for _key, ids in cluster.candidates(name, now):
            found.extend(cluster.servers[i] for i in ids)
    return sorted(found, key=lambda s: (s.priority, s.created_at, s.id))


def watermark_victims(cluster, host_names, watermark, now,
                      gone=frozenset()):
    """Victims on ``host_names`` that bring the aggregate under
    ``watermark``; [] when it is not over, or when every candidate would
    not be enough (nothing is killed in vain)."""
    per_rc = usage(cluster, host_names, gone)
    if not over(per_rc, watermark):
        return []
    victims = []
    for server in candidates(cluster, host_names, now):
        if server.id in gone or not (cluster.hosts[server.host].enabled
                                     and cluster.hosts[server.host].up):
            continue
        victims.append(server)
        for rc, amount in server.resources.items():
            if rc in per_rc:
                used, total = per_rc[rc]
                per_rc[rc] = (used - amount, total)
        if not over(per_rc, watermark):
            return victims
    return []


def expired_servers(cluster, max_lifetime, now):
    """The candidates (preemptible, out of their guarantee) started more
    than ``max_lifetime`` seconds before ``now``."""
    limit = now - datetime.timedelta(seconds=max_lifetime)
    return [s for s in candidates(cluster, cluster.hosts, now)
            if s.created_at is not None and s.created_at < limit]


def watermark_trigger_id(aggregate, now):
    """The trigger id of a watermark action on ``aggregate`` at ``now``:
    ``watermark:<aggregate>:<time>``, with the aggregate's name replaced
    by ``sha256-<hex digest>`` when the id would not fit its column (255
    characters; Nova's aggregate names are up to 255 long).  Longer, it
    made PostgreSQL refuse the action, and the pass ended there, for
    that aggregate and every one after it, at every pass."""
    trigger_id = '%s:%s:%s' % (TRIGGER_WATERMARK, aggregate, now.isoformat())
    if len(trigger_id) <= TRIGGER_ID_LENGTH:
        return trigger_id
    digest = hashlib.sha256(aggregate.encode('utf-8', 'surrogatepass'))
    return '%s:sha256-%s:%s' % (TRIGGER_WATERMARK, digest.hexdigest(),
                                now.isoformat())


def freed(victims):
    """What ``victims`` use in total, per resource class."""
    total = {}
    for server in victims:
        for rc, amount in server.resources.items():
            total[rc] = total.get(rc, 0) + amount
    return total


# -- the modes ----------------------------------------------------------

class Modes(object):
    """The watermark and max-lifetime passes of one cloud.

    :param reaper: the engine's :class:`reaper_svc.reaper.Reaper`
    """

    def __init__(self, conf, db, reaper):
        self.conf = conf
        self.db = db
        self.reaper = reaper

    @property
    def enabled(self):
        options = self.conf.preemption
        return bool(options.watermark) or bool(options.max_lifetime)

    def run(self):
        """One pass of every mode that is on; the actions started."""
        started = []
        options = self.conf.preemption
        if options.watermark:
            started.extend(self.watermark_pass())
        if options.max_lifetime:
            started.extend(self.max_lifetime_pass())
        return started

    def _snapshot(self):
        claimed = actions_db.claimed_servers(self.db, self.reaper.ctx)
        return self.reaper.driver.cluster(), claimed

    def watermark_pass(self):
        cluster, claimed = self._snapshot()
        now = self.reaper.clock()
        started = []
        # Once for the pass, not per aggregate (each copy costs every
        # server of the cloud): the victims of this pass's own actions
        # are in ``claimed`` too, which watermark_victims neither counts
        # nor chooses again.
        cluster = reaper_mod.without_candidates(cluster, claimed)
        claimed = set(claimed)
        for name, hosts in sorted(self.reaper.driver.aggregates().items()):
            victims = watermark_victims(
                cluster, hosts, self.conf.preemption.watermark, now,
                gone=claimed)
            if not victims:
                continue
            action = self._act(TRIGGER_WATERMARK,
                               watermark_trigger_id(name, now), victims,
                               aggregates=[name])
            if action is not None:
                started.append(action)
                claimed |= {v.id for v in victims}
        return started

    def max_lifetime_pass(self):
        cluster, claimed = self._snapshot()
        now = self.reaper.clock()
        victims = expired_servers(
            reaper_mod.without_candidates(cluster, claimed),
            self.conf.preemption.max_lifetime, now)
        if not victims:
            return []
        action = self._act(TRIGGER_MAX_LIFETIME, '%s:%s' % (
            TRIGGER_MAX_LIFETIME, now.isoformat()), victims)
        return [action] if action is not None else []

    def _act(self, trigger, trigger_id, victims, aggregates=None):
        """Persist an action for ``victims`` and give notice; None when a
        victim was claimed meanwhile (the next pass tries again)."""
        request = {'resources': freed(victims), 'count': 1,
                   'aggregates': aggregates}
        try:
            action = actions_db.create_action(
                self.db, self.reaper.ctx, trigger, trigger_id, None,
                trigger, request, victims)
        except (actions_db.VictimClaimed, actions_db.TriggerActed):
            LOG.info('%s: a victim was claimed meanwhile', trigger)
            return None
        LOG.info('%s: action %s, victims %s', trigger, action['id'],
                 [v.id for v in victims])
        return self.reaper.give_notice(action)
