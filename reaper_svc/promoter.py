"""The promoter: build pending requests when room frees.

The leader runs :meth:`Promoter.promote` every ``[preemption]
promote_interval`` seconds and as soon as Nova reports a server deleted
(``instance.delete.end``) to the leader's listener (another host's
listener wakes nothing: the leader's next pass sees the room).  One pass:

0. requests left ``building`` for more than ``[preemption]
   build_timeout`` seconds (an engine stopped in the middle of building
   them) are settled from what the cloud shows (:meth:`Promoter.recover`):
   every server the promoter builds carries the metadata
   ``arbiter:pending_request = <request id>``, so the driver finds them
   again.  No server: queued again (nothing was built); all of them
   built (:data:`NOT_BUILT_STATUSES`: a server its user stopped,
   paused or suspended since is built): ``active``; some still
   building in the cloud: left for the next pass, until twice
   ``build_timeout`` (then ``failed``, what was found deleted: stuck,
   they left the request building for good); fewer built than an
   all-or-nothing request needs (some in ERROR), or none of one that is
   not: ``failed`` (those found are deleted, as a build that fails
   half-way deletes what it built); one with none built of one of its
   kinds (all or nothing: none made, and the others whole): queued
   again, what was built deleted, as a build whose later kind finds no
   room (see :meth:`Promoter._requeue_short`); else ``active``, those
   in ERROR deleted.  A request is never built twice;
1. queued requests whose deadline has passed become ``expired``;
2. the others are served in the **fair order** (:func:`fair_order`): the
   request of the project with the smallest share of the cloud first,
   then the oldest (then the first submitted).  A project's share is
   its *dominant share*: the largest, over the resource classes, of what
   its running servers use divided by the capacity of the enabled and up
   hosts (a project running a quarter of the VCPUs and a tenth of the
   memory has a share of 0.25);
3. a request is built when the cloud, as the driver's snapshot shows it,
   has room for ALL of its servers (:func:`placement`: the reaper's
   placement rules — enabled and up hosts with the flavor's resource
   classes and required traits — and first fit over the hosts); otherwise
   it stays queued and the next one is tried (backfilling: a request that
   does not fit does not hold back smaller ones behind it).  After each
   build the pass goes on with what it knew less what it built
   (:class:`PassRoom`: the servers, on the hosts the cloud put them on,
   count in the room and in their project's share), and reads a new
   snapshot only when something else may have changed the cloud (see
   :meth:`Promoter.promote`);
4. the first request of non-preemptible servers, in that order, that does
   not fit may have the reaper make room for it (``[preemption]
   promoter_preempts``): when it is of one flavor and the reaper's
   planning finds victims that make room for all of it, an action with
   trigger ``pending_request`` gives them notice; this happens once per
   request (the action's trigger id is the request's id).

A pass that finds the cloud away (Nova, Placement or Keystone
unreachable, answering 5xx or timing out) ends there and raises; the
engine's runner logs the outage once (:mod:`svc_common.outage`): a
warning at the first failed pass, an info line at the first pass that
succeeds again, no traceback.

A pending request's states::

                     room for all of it
     +--------+  ------------------------->  +----------+   built   +--------+
     | queued |                              | building | --------> | active |
     +--------+  <-------------------------  +----------+           +--------+
       |    |      no room after all               |
       |    |      (NoValidHost, the cloud away:    | the cloud refused
       |    |      queued again; or stale and       | for another reason
       |    |      nothing or a kind unmade)        |
       |    | deadline passed                      v
       |    +-------------> +---------+       +--------+
       |                    | expired |       | failed |
       | withdrawn by       +---------+       +--------+
       | the user
       v
    +-----------+
    | cancelled |
    +-----------+

Servers are built with Nova's all-or-nothing multi-create (``min_count``
= ``max_count`` = count) through the driver, with the request's trust
when it has one (:mod:`reaper_svc.trusts`).  A request of several kinds
of servers is built kind by kind; if a later kind finds no room, the
servers of the earlier kinds are deleted and the request is queued
again (``failed`` instead when the cloud would not delete them all:
queued again, it would be built a second time next to them).

A build that the cloud's outage interrupts
(:func:`svc_common.outage.remote_unreachable`: unreachable, 502, 503,
504, timeouts) ends the pass with the outage, and:

* when Nova certainly never got the create (connection refused while
  connecting, no endpoint, 503:
  :func:`svc_common.outage.never_received`), it is queued
  again in its place (its ``created_at`` kept), what it built deleted;
  while the cloud cannot delete what it built, it stays ``building``
  for :meth:`Promoter.recover` (see :meth:`Promoter._requeue_interrupted`);
* when Nova may have taken it (a timeout, 502, 504), it stays
  ``building``: a server may appear after any search for it, and queued
  again the request could be built twice; :meth:`Promoter.recover`
  settles it from what the cloud shows after ``build_timeout``.

A 5xx that is no outage (a 500 of Nova, or of Keystone for the trust's
token: their database away for a moment, or a request the cloud cannot
handle) is an interruption too: the request is queued again in its
place and the pass ends (failed at once, a moment of 500s failed the
whole queue in one pass).

Every interruption is counted; at ``[preemption]
max_build_interruptions`` the request fails rather than coming back
for good in front of every request queued after it.  Once every create
of a build has returned, nothing undoes its servers (a database error
recording their guarantee leaves the request ``building`` for the
recovery, which makes it active).  A request built after interrupted
builds has the servers of its own that are not its servers deleted (a
create Nova carried out after the search, or answered with a 500), and
so has a request queued again after an interrupted build (every server
of its own is of an earlier build: they took the room it waits for,
and with it built the user would have more servers than it asked for)
and one that ended without being built after interrupted builds: at
every pass until ``[preemption] build_timeout`` after it was queued
again, built or ended, and once after that, one listing of a project's
servers for all its requests, at most ``[preemption]
late_server_projects_per_pass`` projects a pass (see
:meth:`Promoter._clean_interrupted`).
The promoter's own servers are those that carry the secret token of the
request's builds, were created by the user it builds the request as and
after its first build started (see :func:`own_servers`): any member of
the project can tag any server of it with the request's id, and copy the
token read on the promoter's servers onto one of their own.  The user is
asked of the cloud when the first build starts (Keystone away then ends
the pass, the request left queued).

Built
servers carry their guaranteed minimum runtime: it is
recorded in :mod:`reaper_svc.db.guarantees`, which the drivers' snapshots
apply, so no strategy takes them as victims before it is over.
"""

import collections
import datetime
import json
import secrets

from oslo_log import log as logging

from reaper_svc import cloud_errors
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc import reaper as reaper_mod
from reaper_svc.strategies import model
from reaper_svc import trusts as trusts_mod
from svc_common import context
from svc_common import outage

LOG = logging.getLogger(__name__)

TRIGGER_PENDING = reaper_mod.TRIGGER_PENDING

#: Server metadata key naming the pending request a server was built for.
REQUEST_METADATA = 'arbiter:pending_request'

#: Server metadata key holding the secret token of the request's builds
#: (``build_token`` of its row): only a server carrying it is one the
#: promoter built.  Any member of the project can set
#: ``arbiter:pending_request`` on any server of it, and read the
#: project's request ids, but not the token.
TOKEN_METADATA = 'arbiter:build_token'

#: Server metadata key holding the index, in the request's ``servers``,
#: of the kind a server was built as: the recovery adopts as many of
#: each kind as the request asked (a server Nova made late for an
#: interrupted build may be of any kind).
KIND_METADATA = 'arbiter:server_kind'


#: Statuses of a server the recovery does not take for built: still
#: building (it waits), failed (``ERROR``: deleted, as a build deletes
#: the servers of its reservation in ``ERROR``), or deleted by its owner.
#: Every other status is one Nova gives only a server whose build is
#: over, whatever its owner did with it since (stopped it: ``SHUTOFF``;
#: paused, suspended, shelved, resized, rebooted it; its host down:
#: ``UNKNOWN``): the driver's create returns such servers as built too.
NOT_BUILT_STATUSES = frozenset(['BUILD', 'ERROR', 'DELETED',
                                'SOFT_DELETED'])


#: How much earlier than the start of a request's first build (on the
#: reaper's database's clock) Nova's clock may date a server built for
#: it.
CLOCK_SLACK = datetime.timedelta(minutes=5)


def own_servers(request, found):
    """``(own, foreign)``: of ``found`` (servers of ``request``'s project
    that carry its id in their metadata), those the promoter built for
    it, and the others, which it never deletes nor adopts: a server is
    its own when it is of the request's project, carries the token of
    its builds, was created by the user the promoter built it as
    (``build_user_id``: the token can be read on the servers built for
    it by any member of the project, and copied onto a server of their
    own) and not before its first build started (nor at a time the
    cloud does not tell: copied onto an older server).  A user can set
    the request's id on any server of the project; a server built
    before the request had a token (by an earlier release) is not known
    to be its own either.  The user the promoter built as can still
    copy the token onto a server it creates after the build started:
    with a trust, that is the requester, on their own request."""
    token = request.get('build_token')
    started = request.get('build_started_at')
    user_id = request.get('build_user_id')
    own, foreign = [], []
    for server in found:
        created = server.get('created_at')
        mine = (token is not None and user_id is not None
                and server.get('project_id') == request['project_id']
                and server.get('user_id') == user_id
                and secrets.compare_digest(
                    str((server.get('metadata') or {}).get(
                        TOKEN_METADATA, '')).encode('utf-8'),
                    token.encode('utf-8'))
                and started is not None and created is not None
                and created >= started - CLOCK_SLACK)
        (own if mine else foreign).append(server)
    return own, foreign


def _kinds(request, servers):
    """``{server id: index of its kind in request's servers}`` from the
    kind each of ``servers`` (its own) carries (:data:`KIND_METADATA`);
    None when one carries none (built by an earlier release) or one the
    request does not have."""
    kind_of = {}
    for server in servers:
        value = str((server.get('metadata') or {}).get(KIND_METADATA, ''))
        if not (value.isascii() and value.isdigit() and
                int(value) < len(request['servers'])):
            return None
        kind_of[server['id']] = int(value)
    return kind_of


#: What became of a request a pass tried to build (keys of the result of
#: :meth:`Promoter.promote`).
BUILT = 'built'
REQUEUED = 'requeued'
FAILED = 'failed'
TAKEN = 'taken'


# -- pure logic ---------------------------------------------------------

def _capacity(cluster):
    """``{rc: amount}`` of the enabled and up hosts of ``cluster``."""
    totals = {}
    for host in cluster.hosts.values():
        if host.enabled and host.up:
            for rc, amount in host.capacity.items():
                totals[rc] = totals.get(rc, 0) + amount
    return totals


def _add_use(used, project_id, resources):
    per_rc = used.setdefault(project_id, {})
    for rc, amount in resources.items():
        per_rc[rc] = per_rc.get(rc, 0) + amount


def _dominant_shares(used, totals):
    return {project: max([amount / totals[rc]
                          for rc, amount in per_rc.items()
                          if totals.get(rc)] or [0.0])
            for project, per_rc in used.items()}


def project_shares(cluster):
    """``{project id: dominant share}`` of the projects running servers
    in ``cluster`` (see the module documentation)."""
    used = {}
    for server in cluster.servers.values():
        _add_use(used, server.project_id, server.resources)
    return _dominant_shares(used, _capacity(cluster))


class PassRoom(object):
    """The cloud as one pass of the promoter knows it: the free resources
    of each host and what each project uses, read from one snapshot,
    less what the pass built itself since.

    It answers :func:`placement` as a snapshot does (``hosts`` and
    :meth:`free`), and :meth:`shares` as :func:`project_shares` does on
    a snapshot that would show the pass's builds.  Reading a snapshot
    again after each build (every server and host of the cloud, 0.3 s at
    20,000 servers with the simulated driver, much more from Nova) cost
    a pass over 2,000 queued requests most of its time.
    """

    def __init__(self, cluster):
        self.hosts = cluster.hosts
        self._free = {name: {rc: cluster.free(name, rc)
                             for rc in host.capacity}
                      for name, host in cluster.hosts.items()}
        # A server's host as Nova names it (the compute service's) may
        # be another name of one node of the snapshot.
        nodes = {}
        for name, host in cluster.hosts.items():
            if host.service_host and host.service_host != name:
                nodes.setdefault(host.service_host, []).append(name)
        self._nodes = {service: names[0] for service, names in nodes.items()
                       if len(names) == 1}
        self._totals = _capacity(cluster)
        self._used = {}
        for server in cluster.servers.values():
            _add_use(self._used, server.project_id, server.resources)

    def free(self, host_name, rc):
        """What is free of ``rc`` on the host (never negative)."""
        return self._free[host_name].get(rc, 0)

    def shares(self):
        """``{project id: dominant share}`` (see :func:`project_shares`)."""
        return _dominant_shares(self._used, self._totals)

    def take(self, project_id, landed):
        """Count the servers the pass built; False (and nothing counted)
        when a server's host is not one of the snapshot's: the room is
        then unknown, and a snapshot must be read.

        :param landed: ``[(host, resources)]``, a pair per server
        """
        names = [host if host in self._free else self._nodes.get(host)
                 for host, _resources in landed]
        if None in names:
            return False
        for name, (_host, resources) in zip(names, landed):
            room = self._free[name]
            for rc, amount in resources.items():
                if rc in room:
                    room[rc] = max(room[rc] - amount, 0)
            _add_use(self._used, project_id, resources)
        return True


def fair_order(requests, shares):
    """``requests`` (dicts with ``project_id``, ``created_at``, ``id``
    and ``submission_seq``) in the order the promoter serves them:
    smallest project share first, then oldest, then first submitted
    (``created_at`` is the database's clock to its tick), then by id (a
    total order: every engine agrees)."""
    return sorted(requests, key=lambda r: (shares.get(r['project_id'], 0.0),
                                           r['created_at'],
                                           r.get('submission_seq', 0),
                                           r['id']))


def spec_request(spec, flavors):
    """The :class:`~reaper_svc.strategies.model.Request` of one kind of
    server of a pending request.

    :param flavors: the driver's flavors (name -> resources, extra specs)
    :raises KeyError: the cloud has no such flavor
    """
    flavor = flavors[spec['flavor']]
    required, forbidden = model.flavor_traits(flavor['extra_specs'])
    return model.Request(resources=dict(flavor['resources']),
                         count=spec.get('count', 1), required_traits=required,
                         forbidden_traits=forbidden)


def placement(cluster, requests):
    """Hosts for every server of ``requests`` (model Requests, placed in
    turn, first fit over the allowed hosts by name), or None when one of
    them does not fit.  ``{request index: [host name]}``."""
    free = {}
    for name, host in cluster.hosts.items():
        free[name] = {rc: cluster.free(name, rc) for rc in host.capacity}
    placed = {}
    for index, request in enumerate(requests):
        hosts = placed[index] = []
        for name in sorted(cluster.hosts):
            if not request.allows(cluster.hosts[name]):
                continue
            room = free[name]
            while len(hosts) < request.count and all(
                    room.get(rc, 0) >= amount
                    for rc, amount in request.resources.items()):
                for rc, amount in request.resources.items():
                    room[rc] = room.get(rc, 0) - amount
                hosts.append(name)
            if len(hosts) == request.count:
                break
        if len(hosts) < request.count:
            return None
    return placed


def shape_of(request):
    """What decides whether ``request`` fits a snapshot of the cloud: its
    kinds of servers (flavor, count) and whether it needs all of them.

    Two requests of one shape fit the same snapshot or neither, so a pass
    places each shape once: with a thousand requests queued on a full
    cloud of 2,000 hosts, placing each in turn took 6.8 s per pass, with
    nothing built.
    """
    return (bool(request['all_or_nothing']),
            tuple((spec['flavor'], spec.get('count', 1))
                  for spec in request['servers']))


# -- the promoter -------------------------------------------------------

class Promoter(object):
    """Pending requests on one cloud.

    :param reaper: the engine's :class:`reaper_svc.reaper.Reaper` (its
        driver, database and planning are used)
    :param trusts: a :class:`reaper_svc.trusts.TrustBroker` giving the
        auth to build a request with its trust; None: the broker
        ``[trustee]`` describes, if any, else the driver's own
        credentials
    :param clock: returns the naive UTC now (tests move it)
    """

    def __init__(self, conf, db, reaper, trusts=None, clock=None):
        self.conf = conf
        self.db = db
        self.reaper = reaper
        self.driver = reaper.driver
        self.trusts = trusts if trusts is not None else trusts_mod.get(conf)
        self.clock = clock or reaper.clock
        self.ctx = context.admin_context()
        # The late-server sweep (see _clean_interrupted): the last
        # project a pass took, and {queued request id: updated_at}
        # of the requests looked at a last time after build_timeout.
        # Lost with the process: a new leader looks once more.
        self._swept_last = ''
        self._looked_last = {}

    def promote(self):
        """One pass (see the module documentation); what it did, as lists
        of request ids:

        ``built``
            now ``active``, their servers built;
        ``requeued``
            tried, but the cloud had no room after all (NoValidHost):
            ``queued`` again, nothing left in the cloud;
        ``failed``
            the cloud refused the build for another reason, or lost the
            request's flavor: ``failed``;

        (a build that the cloud's outage interrupts is queued again,
        left building, or failed after ``max_build_interruptions``, see
        the module documentation, and the pass ends there: the outage is
        raised, for the engine's runner to log once)
        ``taken``
            tried, but moved meanwhile by someone else (withdrawn by the
            user, or taken by another engine): left as they were;
        ``expired``
            their deadline passed;
        ``preempted_for``
            the reaper gave victims notice to make room for them;

        and ``recovered`` (see :meth:`recover`).
        """
        now = self.clock()
        done = {'built': [], 'requeued': [], 'failed': [], 'taken': [],
                'recovered': self.recover(now),
                'expired': pending_db.expire(self.db, self.ctx, now),
                'preempted_for': []}
        expired_trusts = pending_db.trust_ids(self.db, self.ctx,
                                              done['expired'])
        for request_id in done['expired']:
            LOG.info('Pending request %s expired', request_id)
            self._give_trust_up(request_id, expired_trusts.get(request_id))
        self._clean_interrupted(now)
        waiting = pending_db.queued(self.db, self.ctx)
        if not waiting:
            return done
        flavors = self.driver.flavors()
        preempt_tried = not self.conf.preemption.promoter_preempts
        room = None
        while waiting:
            if room is None:
                room = PassRoom(self.driver.cluster())
                # Whether each shape fits the room (see shape_of).
                fits = {}
            built = None
            for request in fair_order(waiting, room.shares()):
                try:
                    kinds = [spec_request(spec, flavors)
                             for spec in request['servers']]
                except KeyError as exc:
                    waiting.remove(request)
                    done[self._flavor_lost(request, exc)].append(
                        request['id'])
                    continue
                shape = shape_of(request)
                if shape not in fits:
                    fits[shape] = self._fits(room, request, kinds)
                if fits[shape]:
                    outcome, made = self._build(request, kinds, now)
                    built = request
                    break
                if not preempt_tried and self._may_preempt_for(
                        request, flavors):
                    preempt_tried = True
                    if self._preempt_for(request, kinds[0]):
                        done['preempted_for'].append(request['id'])
            if built is None:
                break
            waiting.remove(built)
            done[outcome].append(built['id'])
            landed = self._landed(made) if made else None
            if landed is not None and room.take(built['project_id'], landed):
                # Only this build changed the room, and it took room
                # away: a shape that did not fit still does not.
                fits = {shape: fit for shape, fit in fits.items() if not fit}
            else:
                # The build did not go as the room said (no room after
                # all: something else took it), or its servers are not
                # where the room can count them: read the cloud again.
                room = None
        return done

    def _landed(self, made):
        """``[(host, resources)]`` of the servers ``made`` (``[(server
        id, resources)]``), each on the host the cloud shows it on; None
        when the cloud cannot tell (a server gone already, an error)."""
        landed = []
        for server_id, resources in made:
            try:
                host = self.driver.server_state(server_id)['host']
            except driver_base.DriverError as exc:
                LOG.info('Where %s was built is unknown (%s): the cloud is '
                         'read again', server_id, exc)
                return None
            landed.append((host, resources))
        return landed

    def _flavor_lost(self, request, exc):
        """Fail ``request``, one of whose flavors the cloud lost (the
        KeyError ``exc`` names it); ``failed``, or ``taken`` when it was
        not queued any more."""
        if (self._move(request, pending_db.QUEUED, pending_db.BUILDING)
                and self._move(request, pending_db.BUILDING,
                               pending_db.FAILED,
                               reason='The cloud has no flavor %s.' % exc)):
            return FAILED
        return TAKEN

    @staticmethod
    def _fits(cluster, request, kinds):
        """Whether ``request`` fits ``cluster`` (a snapshot, or the
        :class:`PassRoom` of a pass)."""
        if request['all_or_nothing']:
            return placement(cluster, kinds) is not None
        # Built with as many as fit, at least one of the first kind.
        first = kinds[0]
        return placement(cluster, [model.Request(
            resources=first.resources, count=1,
            required_traits=first.required_traits,
            forbidden_traits=first.forbidden_traits)]) is not None

    def _may_preempt_for(self, request, flavors):
        spec_name = self.conf.preemption.preemptible_extra_spec
        return (len(request['servers']) == 1 and not model.is_preemptible(
            flavors[request['servers'][0]['flavor']]['extra_specs'],
            spec_name))

    def _preempt_for(self, request, kind):
        """Have the reaper make room for ``request`` (one kind); whether
        an action was started."""
        action = self.reaper.plan(kind, TRIGGER_PENDING, request['id'],
                                  request['project_id'])
        if action is None or action['state'] != 'planned':
            return False
        LOG.info('Preempting for pending request %s (action %s)',
                 request['id'], action['id'])
        self.reaper.give_notice(action)
        return True

    def _move(self, request, current, new, since=None, **fields):
        """``current`` -> ``new`` (a compare-and-set; with ``since``, on
        the ``updated_at`` read too); a request that this finishes gives
        its trust up."""
        moved = pending_db.transition(self.db, self.ctx, request['id'],
                                      current, new, since=since, **fields)
        if not moved:
            LOG.info('Pending request %s was not %s any more', request['id'],
                     current)
        elif new in pending_db.FINAL:
            self._give_trust_up(request['id'], request.get('trust_id'))
        return moved

    def _give_trust_up(self, request_id, trust_id):
        """Delete the Keystone trust of a finished request (built,
        failed or expired): it lets the reaper act as the user on the
        project, with no end of its own, and nothing needs it any more.
        A failure is only logged, as for a withdrawn request."""
        if trust_id is None or self.trusts is None:
            return
        try:
            self.trusts.delete_trust(trust_id)
        except trusts_mod.TrustError as exc:
            LOG.warning('Trust %s of finished pending request %s could not '
                        'be deleted: %s', trust_id, request_id, exc)

    def guaranteed_runtime(self, request):
        """Seconds of guaranteed runtime of the servers built for
        ``request`` (0: none): its ``min_runtime``, at most
        ``[preemption] max_guaranteed_runtime``.  The API refuses more;
        a request queued before the operator lowered the limit is held
        to the limit of the time it is built."""
        return min(request['min_runtime'] or 0,
                   self.conf.preemption.max_guaranteed_runtime)

    def build(self, request, kinds, now):
        """``queued`` -> ``building`` -> ``active`` (or back to
        ``queued``, or ``failed``); whether it became active."""
        return self._build(request, kinds, now)[0] == BUILT

    def _build(self, request, kinds, now):
        """:meth:`build`; ``(outcome, made)``: the key of
        :meth:`promote`'s result the request goes under (``built``,
        ``requeued``, ``failed`` or ``taken``), and ``[(server id,
        resources)]`` of the servers built when it became active, else
        None."""
        token = request.get('build_token')
        first = {}
        auth = None
        if request.get('trust_id') and self.trusts is not None:
            auth = self.trusts.auth(request['trust_id'])
        if token is None:
            # Kept for every later build of it: the servers of an
            # interrupted build are known by it, by their creator (the
            # user it builds as) and by being created after its first
            # build started (now: the start of the pass).
            token = secrets.token_urlsafe(24)
            first = {'build_token': token, 'build_started_at': now,
                     'build_user_id': self.driver.creator(auth)}
        started = self._move(request, pending_db.QUEUED, pending_db.BUILDING,
                             **first)
        if not started:
            return TAKEN, None
        # Its moves from building compare the updated_at this one wrote:
        # on the state only, a build that outlasted build_timeout (a
        # create slow to return) moved the request of another engine's
        # build (the recovery queued it again, what this one had built
        # deleted, and built it) active with this build's servers.
        request = dict(request, state=pending_db.BUILDING, updated_at=started,
                       **first)
        runtime = self.guaranteed_runtime(request)
        guaranteed_until = None
        if runtime:
            guaranteed_until = now + datetime.timedelta(seconds=runtime)

        def guarantee(ids):
            # As soon as the cloud has the servers, and again once they
            # are built (the later end is kept): recorded only after the
            # build, they were candidates while it lasted (minutes with
            # Nova), and their guarantee ran from the start of the pass.
            if runtime:
                guarantees_db.record(
                    self.db, self.ctx, ids, self.clock()
                    + datetime.timedelta(seconds=runtime), request['id'])

        server_ids = []
        made = []
        returned = 0
        try:
            for index, (spec, kind) in enumerate(zip(request['servers'],
                                                     kinds)):
                count = kind.count
                ids = self.driver.create(
                    request['project_id'], spec['name'], spec['flavor'],
                    count, count if request['all_or_nothing'] else 1,
                    image=spec.get('image'), networks=spec.get('networks'),
                    guaranteed_until=guaranteed_until, auth=auth,
                    metadata={REQUEST_METADATA: request['id'],
                              TOKEN_METADATA: token,
                              KIND_METADATA: str(index)},
                    on_created=guarantee)
                returned += 1
                server_ids.extend(ids)
                made.extend((server_id, kind.resources) for server_id in ids)
                guarantee(ids)
        except driver_base.NoValidHost as exc:
            LOG.info('No room for pending request %s after all: %s',
                     request['id'], exc)
            left = self._undo(server_ids)
            if left:
                # Queued again, it would be built again next to them.
                moved = self._move(
                    request, pending_db.BUILDING, pending_db.FAILED,
                    since=request['updated_at'],
                    reason='No room when building (%s), and the servers '
                           'built before could not be deleted: %s; it is '
                           'not built again next to them.'
                           % (exc, ', '.join(left)))
                return (FAILED if moved else TAKEN), None
            moved = self._move(request, pending_db.BUILDING,
                               pending_db.QUEUED, since=request['updated_at'],
                               reason='No room when building: %s' % exc)
            return (REQUEUED if moved else TAKEN), None
        except Exception as exc:
            if returned == len(kinds):
                # Every create returned: the servers are built and the
                # request's.  What failed after (the database recording
                # their guarantee, say) never undoes them; the request
                # stays building, and the recovery after build_timeout
                # makes it active from what the cloud shows.
                LOG.warning('Pending request %s: its servers %s are built, '
                            'but the build could not be finished (%s); it '
                            'is settled once it is older than [preemption] '
                            'build_timeout', request['id'], server_ids,
                            outage.one_line(exc))
                raise
            if outage.remote_unreachable(exc):
                # Nova (or Keystone, Placement) away: the build may well
                # succeed once it is back.  The pass ends here as one
                # outage (the engine's runner logs it once).
                if outage.never_received(exc):
                    self._requeue_interrupted(request, server_ids, exc)
                else:
                    self._leave_building(request, exc)
                raise
            if not isinstance(exc, driver_base.DriverError):
                raise
            if outage.server_error(exc):
                # A 500 (Nova's or Keystone's database away for a
                # moment, or this request's fault): the request is
                # queued again in its place and the interruption
                # counted, and the pass ends, its traceback logged by
                # the engine's runner: failed at once, every request of
                # the queue failed in one pass of a blip.  One that is
                # always answered 500 fails at max_build_interruptions.
                LOG.warning('Building pending request %s failed with an '
                            'error of the cloud: %s', request['id'], exc)
                self._requeue_interrupted(request, server_ids, exc)
                raise
            LOG.error('Building pending request %s failed: %s',
                      request['id'], exc)
            left = self._undo(server_ids)
            reason = ('The cloud refused the build: %s'
                      % cloud_errors.public_reason(exc))
            if left:
                reason += ('; the servers built before could not be '
                           'deleted: %s' % ', '.join(left))
            moved = self._move(request, pending_db.BUILDING,
                               pending_db.FAILED, since=request['updated_at'],
                               reason=reason)
            return (FAILED if moved else TAKEN), None
        LOG.info('Pending request %s built: %s', request['id'], server_ids)
        if not self._move(request, pending_db.BUILDING, pending_db.ACTIVE,
                          since=request['updated_at'],
                          server_ids=server_ids, reason=None):
            return TAKEN, None
        if request.get('interruptions'):
            self._delete_orphans(request, server_ids)
        return BUILT, made

    def _delete_orphans(self, request, server_ids):
        """Delete the servers the cloud shows with ``request``'s metadata
        in its project that are not ``server_ids``, the servers it was
        built with: servers of an interrupted build that Nova made after
        the promoter had looked for them (a create whose connection
        broke after it was sent).  Only the request's project's servers
        carrying its id are ever looked at.  A failure is only logged:
        the servers are still found by their metadata."""
        try:
            found = self._servers_of(request)
            orphans = sorted(s['id'] for s in found
                             if s['id'] not in set(server_ids))
            for server_id in orphans:
                LOG.warning('Deleting %s, built for pending request %s by '
                            'an interrupted build and not one of its '
                            'servers', server_id, request['id'])
                try:
                    self.driver.delete(server_id)
                except driver_base.ServerNotFound:
                    pass
        except driver_base.DriverError as exc:
            LOG.warning('Pending request %s: the servers of its interrupted '
                        'builds could not be looked for or deleted: %s',
                        request['id'], exc)

    def _servers_of(self, request):
        """The servers the cloud shows that the promoter built for
        ``request`` (see :func:`own_servers`); those that carry only its
        id are logged, for an operator, and left alone."""
        return self._own_and_foreign(request)[0]

    def _own_and_foreign(self, request):
        """``(own, foreign)`` of the servers the cloud shows with
        ``request``'s id in their metadata (see :func:`own_servers`); the
        foreign ones are logged, for an operator, and left alone."""
        own, foreign = own_servers(request, self.driver.servers_with_metadata(
            request['project_id'], REQUEST_METADATA, request['id']))
        self._warn_foreign(request, foreign)
        return own, foreign

    @staticmethod
    def _warn_foreign(request, foreign):
        """Log the ``foreign`` servers (see :func:`own_servers`) found
        with ``request``'s id, left alone, for an operator."""
        if foreign and request.get('build_token') is None:
            LOG.warning('Pending request %s: servers %s carry its id in '
                        'their metadata; it has no build token, so they '
                        'were built for it by the previous release (or '
                        'tagged by a member) and are left alone',
                        request['id'], ', '.join(sorted(
                            s['id'] for s in foreign)))
        elif foreign:
            LOG.warning('Pending request %s: servers %s carry its id in '
                        'their metadata but are not the promoter\'s (not '
                        'the token of its builds, another creator than the '
                        'user it built as, or created before its first '
                        'build); they are left alone',
                        request['id'], ', '.join(sorted(
                            s['id'] for s in foreign)))

    def _clean_interrupted(self, now):
        """Delete the servers of its own that the cloud shows for a
        request queued again, built, or ended without being built
        (failed, withdrawn, expired), after interrupted builds, other
        than the servers it was built with: a create that Nova carried
        out after its connection broke or after answering it with a
        500, which may show in the cloud after any search for it, until
        ``[preemption] build_timeout`` after it was sent (as
        :meth:`recover` assumes).  Such a request is looked at every
        pass until ``build_timeout`` after it was queued again, built or
        ended (its ``updated_at``, later than the start of any of its
        builds), and a last time after that; a finished request's token
        is then forgotten.  A queued one's servers are all of earlier
        builds: none of its builds runs (see :meth:`_sweep_project`).

        The requests are looked at per project, one listing of the
        project's servers for all its requests, and at most
        ``[preemption] late_server_projects_per_pass`` projects a pass,
        in turn; one the cloud cannot be asked about now is looked at
        again next pass."""
        swept = pending_db.swept_after_interruptions(self.db, self.ctx)
        queued = {r['id'] for r in swept if r['state'] == pending_db.QUEUED}
        self._looked_last = {request_id: at for request_id, at
                             in self._looked_last.items()
                             if request_id in queued}
        projects = {}
        for request in swept:
            if (request['state'] == pending_db.QUEUED
                    and self._looked_last.get(request['id'])
                    == request['updated_at']):
                continue
            projects.setdefault(request['project_id'], []).append(request)
        for project_id in self._sweep_turn(sorted(projects)):
            # Its turn is over even when its sweep ends the pass (the
            # cloud taken for away: a listing of many pages timing
            # out): the next pass starts after it.  Moved to the end of
            # the turn before it was taken, a project failing so at
            # every turn kept those after it in its turn from theirs.
            self._swept_last = project_id
            self._sweep_project(project_id, projects[project_id], now)

    def _sweep_turn(self, projects):
        """Of ``projects`` (sorted), those this pass looks at: at most
        ``[preemption] late_server_projects_per_pass``, starting after
        the last one an earlier pass took, so that each comes in
        turn."""
        most = self.conf.preemption.late_server_projects_per_pass
        after = [p for p in projects if p > self._swept_last]
        return (after + [p for p in projects
                         if p <= self._swept_last])[:most]

    def _sweep_project(self, project_id, requests, now):
        """Delete what the interrupted builds of ``requests`` (of
        ``project_id``) left, from one listing of the project's servers
        (see :meth:`_clean_interrupted`).

        A queued request may be built by another engine meanwhile (a
        new leader's pass while the old one still builds): it is read
        again after the listing, and left for the next pass unless it
        is as it was read, queued with as many interruptions, no build
        of it started since.  Every server of its own listed was then
        made by an earlier build; one that a build starting later makes
        was not listed, so is never deleted."""
        window = datetime.timedelta(
            seconds=self.conf.preemption.build_timeout)
        try:
            found = self.driver.servers_with_metadata(project_id,
                                                      REQUEST_METADATA)
        except driver_base.DriverError as exc:
            if outage.remote_unreachable(exc):
                # Nova away: for the rest of the pass too, which ends
                # here as one outage, as in recover().
                raise
            LOG.warning('Project %s: what the interrupted builds of pending '
                        'requests %s left cannot be looked for (%s); they are '
                        'looked for again at the next pass', project_id,
                        ', '.join(r['id'] for r in requests), exc)
            return
        tagged = {}
        for server in found:
            tagged.setdefault(server['metadata'].get(REQUEST_METADATA),
                              []).append(server)
        unmoved = pending_db.unmoved(self.db, self.ctx, [
            r for r in requests if r['state'] == pending_db.QUEUED])
        for request in requests:
            queued = request['state'] == pending_db.QUEUED
            if queued and request['id'] not in unmoved:
                continue
            own, foreign = own_servers(request, tagged.get(request['id'], []))
            self._warn_foreign(request, foreign)
            built = set(request['server_ids']
                        if request['state'] == pending_db.ACTIVE else ())
            try:
                for server in own:
                    if server['id'] in built:
                        continue
                    LOG.warning('Deleting %s, built for pending request %s '
                                '(%s) by an interrupted build and not one '
                                'of its servers', server['id'],
                                request['id'], request['state'])
                    try:
                        self.driver.delete(server['id'])
                    except driver_base.ServerNotFound:
                        pass
            except driver_base.DriverError as exc:
                if outage.remote_unreachable(exc):
                    raise
                LOG.warning('Pending request %s: what its interrupted '
                            'builds left cannot be deleted (%s); it is '
                            'looked for again at the next pass',
                            request['id'], exc)
                continue
            if now < request['updated_at'] + window:
                continue
            if queued:
                # Its token is kept for its next build; it is not looked
                # at again until a build of it moves it.
                self._looked_last[request['id']] = request['updated_at']
            else:
                pending_db.forget_build_token(self.db, self.ctx,
                                              request['id'])

    def _leave_building(self, request, exc):
        """The create of ``request`` failed in a way that does not tell
        whether Nova took it (``exc``: a timeout, a 502 or 504, a TLS
        error): a server may appear after any search for it.  Queued
        again, it could be built twice; it stays ``building``, its
        interruption counted, and the recovery of builds older than
        ``[preemption] build_timeout`` settles it from what the cloud
        shows then (see :meth:`recover`)."""
        count = pending_db.interrupted(
            self.db, self.ctx, request['id'],
            'The cloud did not answer its build (%s); it is settled from '
            'what the cloud shows once it is older than [preemption] '
            'build_timeout.' % cloud_errors.public_reason(exc),
            since=request['updated_at'])
        LOG.info('Pending request %s: the cloud did not answer its build '
                 '(%s, interruption %s); it is settled once its build is '
                 'older than [preemption] build_timeout', request['id'],
                 outage.one_line(exc), count)

    def _requeue_interrupted(self, request, server_ids, exc):
        """The cloud went away (``exc``, an outage) while ``request``
        was building: delete what was built, the servers of the kinds
        built before and any the cloud shows with the request's
        metadata (a create interrupted after Nova took it), and queue it
        again; its ``created_at``, and so its place in the queue, is
        kept.  Whether it was queued again.  A request that moved since
        this build started (it outlasted ``build_timeout``, and the
        recovery settled it) is left, nothing deleted: the servers
        listed by its token may be another build's.

        When the cloud cannot yet tell or delete what was built, the
        request stays ``building``: queued, it would be built again next
        to its servers.  The recovery of builds left for ``[preemption]
        build_timeout`` settles it from what the cloud shows then (see
        :meth:`recover`).
        """
        try:
            found = self._servers_of(request)
            if request['id'] not in pending_db.unmoved(self.db, self.ctx,
                                                       [request]):
                # This build outlasted build_timeout: the recovery
                # settled the request (another build of it may run, its
                # servers listed here with the same token) or made it
                # active with this build's servers.  Nothing is deleted.
                LOG.warning('Pending request %s moved while its build was '
                            'interrupted (%s): its servers are left',
                            request['id'], outage.one_line(exc))
                return False
            for server_id in sorted(set(server_ids)
                                    | {s['id'] for s in found}):
                try:
                    self.driver.delete(server_id)
                except driver_base.ServerNotFound:
                    pass
        except driver_base.DriverError as error:
            # Counted now, as the recovery that settles it does not
            # count it: else a build interrupted every time would be
            # queued again for ever, never failed.
            count = pending_db.interrupted(
                self.db, self.ctx, request['id'],
                'The cloud went away while it was building (%s), and what '
                'was built could not be deleted yet; it is settled from '
                'what the cloud shows once it is older than [preemption] '
                'build_timeout.' % cloud_errors.public_reason(exc),
                since=request['updated_at'])
            LOG.info('Pending request %s: the cloud went away while it was '
                     'building (%s, interruption %s), and what was built '
                     'cannot be deleted yet (%s); it is settled once its '
                     'build is older than [preemption] build_timeout',
                     request['id'], outage.one_line(exc), count, error)
            return False
        count = pending_db.interrupted(self.db, self.ctx, request['id'],
                                       since=request['updated_at'])
        if count is None:
            return False
        most = self.conf.preemption.max_build_interruptions
        if count >= most:
            LOG.warning('Pending request %s failed: the cloud was away or '
                        'failed while it was building, %d times',
                        request['id'], count)
            return self._move(
                request, pending_db.BUILDING, pending_db.FAILED,
                since=request['updated_at'],
                reason='The cloud was away or failed while it was building, '
                       '%d times ([preemption] max_build_interruptions), '
                       'the last: %s; what it had built was deleted.'
                       % (count, cloud_errors.public_reason(exc)))
        moved = self._move(
            request, pending_db.BUILDING, pending_db.QUEUED,
            since=request['updated_at'],
            reason='Queued again: the cloud was away while it was '
                   'building (%s); what it had built was deleted.'
                   % cloud_errors.public_reason(exc))
        if moved:
            LOG.info('Pending request %s queued again in its place: the '
                     'cloud went away while it was building (interruption '
                     '%d of %d)', request['id'], count, most)
        return moved

    def _undo(self, server_ids):
        """Delete the servers of the kinds built before one failed (all or
        nothing across kinds); the ids of those the cloud would not
        delete (one gone already counts as deleted)."""
        left = []
        for server_id in server_ids:
            try:
                self.driver.delete(server_id)
            except driver_base.ServerNotFound:
                pass
            except driver_base.DriverError as exc:
                LOG.warning('Could not delete %s of a failed build: %s',
                            server_id, exc)
                left.append(server_id)
        return left

    # -- requests an engine left building ---------------------------------

    def _recovery_move(self, request, new, **fields):
        """Move ``request``, read ``building`` by :meth:`recover`, to
        ``new`` unless it moved since it was read: not only still
        ``building`` but with the ``updated_at`` read (every move sets
        it).  On the state only, two engines settling one request (a
        new leader's pass while the old one's still runs) could each
        move it: one queued it again and built it, and the other, from
        what it had read before, moved that build's request queued
        again (built twice, the first build's servers left to nobody)
        or failed, or made it active with servers it no longer had."""
        return self._move(request, pending_db.BUILDING, new,
                          since=request['updated_at'], **fields)

    def recover(self, now):
        """Settle the requests left ``building`` for longer than
        ``[preemption] build_timeout`` (see the module documentation);
        ``{request id: new state}`` of those settled."""
        before = now - datetime.timedelta(
            seconds=self.conf.preemption.build_timeout)
        settled = {}
        for request in pending_db.stale_building(self.db, self.ctx, before):
            try:
                servers, foreign = self._own_and_foreign(request)
            except driver_base.DriverError as exc:
                if outage.remote_unreachable(exc):
                    # Nova away: so it is for the rest of the pass, which
                    # ends here as one outage (the engine's runner logs
                    # it once), not a warning per request per pass.
                    raise
                LOG.warning('Cannot tell what pending request %s left in '
                            'the cloud: %s', request['id'], exc)
                continue
            if request['id'] not in pending_db.unmoved(self.db, self.ctx,
                                                       [request]):
                # Moved while the cloud was listed (another engine's
                # recovery queued it again and builds it): what was
                # listed may be that build's, which the settling could
                # delete before its move found it moved.
                LOG.info('Pending request %s moved while what it left in '
                         'the cloud was looked for: left', request['id'])
                continue
            if request.get('build_token') is None and foreign:
                state = self._fail_untokened(request, foreign)
            else:
                state = self._settle(request, servers, now)
            if state is not None:
                settled[request['id']] = state
        return settled

    def _requeue_short(self, request, ids, missing):
        """``request``, left ``building``, has no server built of its
        kinds ``missing`` (indexes; all or nothing: none made at all, the
        others whole): the engine stopped before their create, or the
        cloud never carried it out.  A build is at least one server of
        each kind, all of them all or nothing (one whose later kind
        finds no room is queued again, what it built deleted): made
        active, the user never had the kinds it lacked; failed, it lost
        its place for the engine's restart.  As that build,
        what it built (``ids``) is deleted and it is queued again in its
        place, or ``failed`` when the cloud would not delete them all
        (queued, it would be built again next to them); its new state
        (None: another pass moved it)."""
        names = ', '.join('servers/%d (%s)' % (i, json.dumps(
            request['servers'][i]['name'], ensure_ascii=False))
            for i in missing)
        LOG.warning('Pending request %s was left building with no server '
                    'built of %s: what was built is deleted and it is '
                    'queued again', request['id'], names)
        left = self._undo(ids)
        if left:
            moved = self._recovery_move(
                request, pending_db.FAILED,
                reason='Its build was interrupted before any server of '
                       '%s was built, and the servers built before could '
                       'not be deleted: %s; it is not built again next to '
                       'them.' % (names, ', '.join(left)))
            return pending_db.FAILED if moved else None
        most = self.conf.preemption.max_build_interruptions
        if request.get('interruptions', 0) >= most:
            # As when nothing of it is left: a build interrupted every
            # time (a kind's create never answered) is not queued again
            # for good in front of the requests queued after it.
            moved = self._recovery_move(
                request, pending_db.FAILED,
                reason='The cloud was away while it was building, %d '
                       'times ([preemption] max_build_interruptions); no '
                       'server of %s was built, and what was built was '
                       'deleted.' % (request['interruptions'], names))
            return pending_db.FAILED if moved else None
        moved = self._recovery_move(
            request, pending_db.QUEUED,
            reason='Queued again: its build was interrupted before any '
                   'server of %s was built; what it had built was '
                   'deleted.' % names)
        return pending_db.QUEUED if moved else None

    def _fail_untokened(self, request, foreign):
        """Fail ``request``, left ``building`` by the previous release
        (it has no build token), whose id the cloud shows on
        ``foreign`` servers: most likely what that release built for it,
        which cannot be told from a member's tagging.  Queued again, it
        would be built a second time next to them; deleted or adopted,
        they could be a member's.  They are left, listed in the reason
        for an operator to keep or delete; its new state (None: another
        pass moved it)."""
        ids = ', '.join(sorted(s['id'] for s in foreign))
        moved = self._recovery_move(
            request, pending_db.FAILED,
            reason='Left building by the previous release, whose servers '
                   'carry no build token; the cloud shows servers with '
                   'its id (%s): they were left for an operator to keep '
                   'or delete, and it is not built again.' % ids)
        return pending_db.FAILED if moved else None

    def _settle(self, request, servers, now):
        """Move one stale request from what the cloud shows; its new state
        (None: left building)."""
        statuses = [s['status'] for s in servers]
        ids = [s['id'] for s in servers]
        if not servers:
            most = self.conf.preemption.max_build_interruptions
            if request.get('interruptions', 0) >= most:
                LOG.warning('Pending request %s was left building with no '
                            'server in the cloud, its build interrupted %d '
                            'times: failed', request['id'],
                            request['interruptions'])
                moved = self._recovery_move(
                    request, pending_db.FAILED,
                    reason='The cloud was away while it was building, %d '
                           'times ([preemption] max_build_interruptions); '
                           'no server of it was left.'
                           % request['interruptions'])
                return pending_db.FAILED if moved else None
            LOG.warning('Pending request %s was left building with no '
                        'server in the cloud: queued again', request['id'])
            moved = self._recovery_move(
                request, pending_db.QUEUED,
                reason='Queued again: its build was interrupted before '
                       'any server existed.')
            return pending_db.QUEUED if moved else None
        if 'BUILD' in statuses:
            stuck_after = request['updated_at'] + datetime.timedelta(
                seconds=2 * self.conf.preemption.build_timeout)
            if now < stuck_after:
                return None
            # Building for twice build_timeout, which is longer than any
            # build: stuck (its compute host died, say).  Waiting for it
            # left the request building for good, counted against the
            # project's max_pending_per_project, its trust kept.  Failed
            # as a live engine fails a build that outlasts its wait, what
            # it built deleted.
            stuck = statuses.count('BUILD')
            LOG.warning('Pending request %s was left building; %d of its '
                        'servers are still building: failed', request['id'],
                        stuck)
            self._undo(ids)
            moved = self._recovery_move(
                request, pending_db.FAILED,
                reason='Its build was interrupted and %d of its servers '
                       'were still building twice [preemption] '
                       'build_timeout after it started; those found were '
                       'deleted.' % stuck)
            return pending_db.FAILED if moved else None
        # Built: whatever the user did with them since (a server they
        # stopped is theirs as an active one is).  Only ACTIVE ones were
        # taken: a stopped server of a request that is not all or
        # nothing was left to the late-server sweep, which deleted it,
        # and a stopped one of a group failed it, deleted.
        active = [s['id'] for s in sorted(
            servers, key=lambda s: (s['created_at'], s['id']))
            if s['status'] not in NOT_BUILT_STATUSES]
        # After interrupted builds, the servers of its own it does not
        # adopt are those builds' (a create Nova carried out late, after
        # this build's): the late-server sweep deletes them, so its token
        # is kept for the sweep's look (see _clean_interrupted).
        swept = request.get('interruptions', 0) > 0
        kind_of = _kinds(request, servers)
        if kind_of is not None:
            # The first created of each kind, as many as it asked.
            taken = collections.Counter()
            adopted = []
            for server_id in active:
                kind = kind_of[server_id]
                if taken[kind] < request['servers'][kind].get('count', 1):
                    taken[kind] += 1
                    adopted.append(server_id)
            if len(adopted) < len(active):
                LOG.warning('Pending request %s: the cloud shows more '
                            'active servers of its own of a kind than it '
                            'asked; %s are %s', request['id'],
                            ', '.join(i for i in active
                                      if i not in adopted),
                            'left to the late-server sweep' if swept else
                            'left alone')
                extra = set(active) - set(adopted)
                ids = [i for i in ids if i not in extra]
            active = adopted
        elif (swept and len(active) > request['count'] and
                len(request['servers']) > 1):
            # The cloud does not tell which kind a server of its own is
            # (they carry one token): the first created of two builds
            # may be of one kind only, the other kinds' left to the
            # sweep (an all-or-nothing group short of its second kind).
            LOG.warning('Pending request %s was left building; the cloud '
                        'shows %d active servers of its own for %d asked, '
                        'of %d kinds it cannot tell apart: failed',
                        request['id'], len(active), request['count'],
                        len(request['servers']))
            self._undo(ids)
            moved = self._recovery_move(
                request, pending_db.FAILED,
                reason='Its builds were interrupted and the cloud showed '
                       '%d servers of its own active for %d asked, of '
                       'kinds it cannot tell apart (a create carried out '
                       'twice); those found were deleted.'
                       % (len(active), request['count']))
            return pending_db.FAILED if moved else None
        if len(active) > request['count']:
            # More than it asked for carry its token: servers of an
            # earlier, interrupted build of it, or copied by the user it
            # was built as onto servers of theirs.  The first created are
            # adopted; the others are not guaranteed, and left alone
            # unless its builds were interrupted (then the sweep deletes
            # them, as it does every late server of those builds).
            LOG.warning('Pending request %s: the cloud shows %d active '
                        'servers of its own for %d asked; %s are %s',
                        request['id'], len(active), request['count'],
                        ', '.join(active[request['count']:]),
                        'left to the late-server sweep' if swept else
                        'left alone')
            extra = set(active[request['count']:])
            active = active[:request['count']]
            ids = [i for i in ids if i not in extra]
        failed = [s['id'] for s in servers if s['status'] == 'ERROR']
        short = len(active) < (request['count'] if request['all_or_nothing']
                               else 1)
        if short and request['all_or_nothing'] and kind_of is not None \
                and not failed:
            # Its build stopped between kinds (the engine stopped, or the
            # next kind's answer was lost and Nova never carried it out):
            # the kinds it made are whole, nothing of the others exists.
            # As a build whose later kind finds no room, it is queued
            # again; it was failed, and the user lost its place.
            made = {kind_of[s['id']] for s in servers}
            missing = sorted(set(range(len(request['servers']))) - made)
            adopted = collections.Counter(kind_of[i] for i in active)
            if missing and all(
                    adopted[kind] == request['servers'][kind].get('count', 1)
                    for kind in made):
                return self._requeue_short(request, ids, missing)
        if short:
            LOG.warning('Pending request %s was left building; the cloud '
                        'shows %s: failed', request['id'], statuses)
            self._undo(ids)
            moved = self._recovery_move(
                request, pending_db.FAILED,
                reason='Its build was interrupted and the cloud showed %d '
                       'of %d servers built; those found were deleted.'
                       % (len(active), request['count']))
            return pending_db.FAILED if moved else None
        if kind_of is not None and not request['all_or_nothing']:
            # At least one of each kind, as a build makes.
            missing = sorted(set(range(len(request['servers'])))
                             - {kind_of[i] for i in active})
            if missing:
                return self._requeue_short(request, ids, missing)
        if failed:
            # Built with as many as it needs: those in ERROR are deleted,
            # as the driver's create deletes them when at least min_count
            # were built.  Left, they held the user's quota unmanaged (or
            # waited for the sweep).  Of an all-or-nothing request, one
            # beside all of its servers is a create of an interrupted
            # build that Nova carried out late, and failed: it failed
            # the request, every server of its own deleted.
            LOG.warning('Pending request %s was left building; its servers '
                        '%s are in ERROR: deleted', request['id'],
                        ', '.join(failed))
            self._undo(failed)
        runtime = self.guaranteed_runtime(request)
        if runtime:
            # From now: their build ended at some time before now, which
            # nothing recorded.  From the start of the build (when the
            # request became building), the guarantee was short by as
            # long as the build and the wait for this pass lasted.
            guarantees_db.record(
                self.db, self.ctx, active,
                now + datetime.timedelta(seconds=runtime), request['id'])
        LOG.info('Pending request %s was left building; its servers %s '
                 'are active', request['id'], active)
        # It looked after build_timeout: nothing of this build shows
        # later.  Without interruptions its token is not needed any more
        # (the servers of its own it did not adopt are left); after them
        # it is kept for the sweep, which deletes the servers of its own
        # that are not its servers and then forgets it.
        fields = {} if swept else {'build_token': None}
        moved = self._recovery_move(request, pending_db.ACTIVE,
                                    server_ids=active, reason=None,
                                    **fields)
        return pending_db.ACTIVE if moved else None
