"""The reaper: plan a preemption, give notice, delete after the grace.

:class:`Reaper` ties victim selection (:mod:`reaper_svc.strategies`), the
cloud driver and the actions table together.  The engine's listener calls
:meth:`Reaper.handle_failure` on every host; the leader's periodic task
calls :meth:`Reaper.process_unfinished`, which deletes the victims whose
grace period is over and resumes whatever a stopped engine left.

Two triggers never pick the same victim: planning is serialised in the
process (one lock per cloud), servers claimed by an unfinished action are
no candidates, and the claims table refuses a second claim on a server
from another engine host (that plan is made again).  One trigger never
gets two actions: the actions table holds one per ``(trigger,
trigger_id)``, so a second engine host that plans for the same failed
boot at the same time writes nothing and acts on nothing.
"""

import datetime
import threading

from oslo_log import log as logging

from reaper_svc import action_states as states
from reaper_svc import cloud_errors
from reaper_svc.db import actions as actions_db
from reaper_svc.db import clock as clock_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import base as driver_base
from reaper_svc import strategies
from reaper_svc.strategies import model
from reaper_svc.strategies import rules
from svc_common import context
from svc_common import errors
from svc_common import isotime
from svc_common.messaging import bus
from svc_common import outage

LOG = logging.getLogger(__name__)

TRIGGER_SCHEDULING = 'scheduling_failure'
#: The trigger of the promoter's actions (:mod:`reaper_svc.promoter`):
#: the trigger id is the pending request's.
TRIGGER_PENDING = 'pending_request'
PLAN_ATTEMPTS = 3
#: Seconds during which a victim the cloud refused to lock (after the
#: action was planned) or to delete (after the grace period) is tried
#: again at each pass of the leader.
RETRY_SECONDS = 3600


def request_dict(request):
    """A :class:`~reaper_svc.strategies.model.Request` as stored and
    shown."""
    return {'resources': dict(request.resources), 'count': request.count,
            'hosts': sorted(request.hosts) if request.hosts else None,
            'aggregates': (sorted(request.aggregates)
                           if request.aggregates else None),
            'availability_zone': request.availability_zone,
            'required_traits': sorted(request.required_traits),
            'forbidden_traits': sorted(request.forbidden_traits)}


def _candidate(server, now):
    """Whether ``server`` (of a snapshot) may be preempted at ``now``."""
    return server.preemptible and (server.guaranteed_until is None or
                                   server.guaranteed_until <= now)


class ServersOnce(object):
    """The servers of one snapshot of ``driver``'s cloud, read at the
    first call and handed out again after: one pass of the leader checks
    the victims of every planned action it resumes against one snapshot
    (with Nova, a snapshot reads every resource provider and every
    server), not one snapshot per action.  Other actions' victims
    deleted meanwhile change nothing of what an action's own victims
    show (whether they are candidates).  A resumed plan only stops its
    victims; each is read again on its own before it is deleted (see
    :meth:`Reaper.delete_victims`)."""

    def __init__(self, driver):
        self.driver = driver
        self._servers = None
        self._failure = None

    def __call__(self):
        """The servers; raises again the error of a snapshot that failed
        (the cloud away: each action of the pass waited for its own
        timeout)."""
        if self._failure is not None:
            raise self._failure
        if self._servers is None:
            try:
                self._servers = self.driver.cluster().servers
            except driver_base.DriverError as exc:
                self._failure = exc
                raise
        return self._servers


def without_candidates(cluster, server_ids):
    """``cluster`` in which ``server_ids`` still use their resources but
    are not candidates (other actions are preempting them)."""
    if not server_ids:
        return cluster
    return cluster.without_candidates(server_ids)


def notification_payload(action, **extra):
    """The payload of a notification about ``action``: its id, state,
    trigger and victims, and ``extra`` (``delete_after``, ``reason``).

    Times (``delete_after``) are written as the API writes them, ISO 8601
    UTC in whole seconds with ``Z`` (:func:`svc_common.isotime.isoformat`):
    written as kept, they had the fraction of a second of the database's
    clock and no time zone, unlike the same time in the action's API
    document.
    """
    payload = dict(action_id=action['id'], state=action['state'],
                   trigger=action['trigger'],
                   trigger_id=action['trigger_id'],
                   victims=[{'server_id': v['server_id'],
                             'project_id': v['project_id'],
                             'host': v['host'], 'state': v['state']}
                            for v in action['victims']])
    for key, value in extra.items():
        payload[key] = (isotime.isoformat(value)
                        if isinstance(value, datetime.datetime) else value)
    return bus.to_payload(payload)


class Reaper(object):
    """Preemption on one cloud.

    :param notifier: an ``oslo_messaging.Notifier`` for
        ``preemption.notice`` and ``preemption.action.*``
    :param clock: returns the naive UTC now; by default the database's
        (:class:`reaper_svc.db.clock.DatabaseClock`), the one clock of
        every engine host, so that no host's clock shortens a grace
        period or a guaranteed runtime another host wrote
    """

    def __init__(self, conf, db, driver, notifier, clock=None):
        self.conf = conf
        self.db = db
        self.driver = driver
        self.notifier = notifier
        self.ctx = context.admin_context()
        self.clock = clock or clock_db.DatabaseClock(db, self.ctx)
        self.strategy = strategies.load(conf.preemption.strategy)
        self._planning = threading.Lock()
        #: The outages of the cloud that the actions meet (see
        #: :meth:`_cloud_failed`).
        self.cloud_outage = outage.OutageLog(LOG, 'Preemption actions')
        # What the cloud did in the leader's pass of the calling thread
        # (see process_unfinished); the promoter's and the listener's
        # threads make calls of their own, outside any pass.
        self._pass = threading.local()

    # -- planning -----------------------------------------------------

    def _select(self, request):
        """The snapshot (claimed servers are no candidates) and the
        :class:`~reaper_svc.strategies.rules.Selection` on it."""
        cluster = without_candidates(
            self.driver.cluster(),
            actions_db.claimed_servers(self.db, self.ctx))
        return cluster, rules.select(self.strategy, cluster, request,
                                     self.clock())

    def preview(self, request):
        """The :class:`~reaper_svc.strategies.rules.Selection` for
        ``request`` now; nothing is recorded or acted on."""
        return self._select(request)[1]

    def plan(self, request, trigger, trigger_id=None, project_id=None):
        """Choose and persist the victims of ``request``; the action's
        dict, or None when there is room already or an action exists for
        ``trigger_id``.  An unsatisfiable request is recorded as a failed
        action without victims."""
        for attempt in range(PLAN_ATTEMPTS):
            with self._planning:
                if trigger_id and actions_db.list_actions(
                        self.db, self.ctx, 1, trigger=trigger,
                        trigger_id=trigger_id):
                    LOG.info('An action exists for %s already', trigger_id)
                    return None
                cluster, selection = self._select(request)
                if selection.outcome == 'fits':
                    LOG.info('Room for %s already; nothing preempted',
                             trigger_id)
                    return None
                victims = [cluster.servers[v] for v in selection.victims]
                unsatisfiable = selection.outcome == 'unsatisfiable'
                try:
                    action = actions_db.create_action(
                        self.db, self.ctx, trigger, trigger_id, project_id,
                        self.strategy.name, request_dict(request), victims,
                        selection.wasted,
                        state=states.FAILED if unsatisfiable
                        else states.PLANNED,
                        reason='Not even every candidate makes room for '
                               'the request.' if unsatisfiable else None)
                except actions_db.TriggerActed:
                    # Another engine host planned for the same trigger
                    # between the check above and this write.
                    LOG.info('An action exists for %s already', trigger_id)
                    return None
                except actions_db.VictimClaimed:
                    LOG.info('A victim was claimed by another engine; '
                             'planning again (attempt %d)', attempt + 1)
                    continue
            LOG.info('Action %s: %s, victims %s', action['id'],
                     action['state'], [v.id for v in victims])
            return action
        raise actions_db.VictimClaimed('Victims kept being claimed by other '
                                       'actions; gave up planning.')

    def handle_failure(self, failure):
        """Plan for a NoValidHost and give notice at once.  The trigger
        id is the boot's (:attr:`~reaper_svc.nova_notifications.
        SchedulingFailure.boot_id`): the failures of the N instances of
        one multi-create make one action, with room for all N.

        A boot of a preemptible flavor preempts nothing (None): room is
        freed for normal servers only, or one preemptible server would
        stop another to take its place.
        """
        if model.is_preemptible(dict(failure.extra_specs),
                                self.conf.preemption.preemptible_extra_spec):
            LOG.info('NoValidHost for %s, of the preemptible flavor %s: '
                     'nothing is preempted for a preemptible boot',
                     failure.instance_uuid, failure.flavor_name)
            return None
        request = model.Request(
            resources=failure.resources, count=failure.count,
            availability_zone=failure.availability_zone,
            required_traits=failure.required_traits,
            forbidden_traits=failure.forbidden_traits, hosts=failure.hosts)
        action = self.plan(request, TRIGGER_SCHEDULING,
                           failure.boot_id or failure.instance_uuid,
                           failure.project_id)
        if action is not None and action['state'] == states.PLANNED:
            return self.give_notice(action)
        return action

    # -- acting -------------------------------------------------------

    def _notify(self, event_type, action, **extra):
        self.notifier.info(self.ctx.to_dict(), event_type,
                           notification_payload(action, **extra))

    def _fail(self, action, current, reason):
        LOG.error('Action %s failed: %s', action['id'], reason)
        if actions_db.transition(self.db, self.ctx, action['id'], current,
                                 states.FAILED, reason=reason):
            if current == states.PLANNED:
                self._release(action['id'])
            self._notify('preemption.action.failed',
                         dict(action, state=states.FAILED), reason=reason)

    def _cancel(self, action, reason):
        """``planned`` -> ``cancelled``; the action's dict."""
        LOG.info('Action %s cancelled: %s', action['id'], reason)
        if actions_db.transition(self.db, self.ctx, action['id'],
                                 states.PLANNED, states.CANCELLED,
                                 reason=reason):
            self._release(action['id'])
            self._notify('preemption.action.cancelled',
                         dict(action, state=states.CANCELLED), reason=reason)
        return actions_db.get_action(self.db, self.ctx, action['id'])

    def _release(self, action_id):
        """Unlock the victims that a ``planned`` action, now cancelled or
        failed, had noticed already (an engine stopped in the middle of
        the notice, or the cloud refused to lock a later victim): they
        are not deleted, and stayed locked with the reason "will be
        deleted" for good, their owners unable to unlock them.  They
        stay stopped: whether to start them is their owner's choice.
        A victim unlocked is ``released``.

        A victim still ``planned`` may have been locked too: a notice
        records its victims' states once, after it locked and stopped
        them all (see :meth:`give_notice`), and an engine that stopped
        in the middle recorded none.  It is unlocked when the cloud
        shows it locked with this action's reason, not when its owner
        (or another) locked it."""
        action = actions_db.get_action(self.db, self.ctx, action_id)
        for victim in action['victims']:
            server_id = victim['server_id']
            if victim['state'] == 'planned':
                if not self._locked_by(action_id, server_id):
                    continue
            elif victim['state'] != 'noticed':
                continue
            try:
                self._cloud(self.driver.unlock, server_id)
            except driver_base.ServerNotFound:
                pass
            except driver_base.DriverError as exc:
                LOG.warning('Action %s: could not unlock %s, noticed '
                            'before the action ended: %s', action_id,
                            server_id, exc)
                continue
            actions_db.set_victim_state(self.db, self.ctx, action_id,
                                        server_id, 'released')

    def _lock_reason(self, action_id):
        return self.conf.preemption.lock_reason % {'action_id': action_id}

    def _locked_by(self, action_id, server_id):
        """Whether the cloud shows ``server_id`` locked by the notice of
        ``action_id`` (locked, with its reason)."""
        try:
            shown = self._cloud(self.driver.server_state, server_id)
        except driver_base.ServerNotFound:
            return False
        except driver_base.DriverError as exc:
            LOG.warning('Action %s: could not tell whether %s was locked '
                        'by its notice: %s', action_id, server_id, exc)
            return False
        return bool(shown.get('locked')) and (
            shown.get('locked_reason') == self._lock_reason(action_id))

    def give_notice(self, action):
        """Lock and stop every victim, send ``preemption.notice``;
        ``planned`` -> ``noticed``, or ``cancelled`` when every victim is
        gone already (deleted by its owner meanwhile: the room came back
        without the reaper).  Safe to repeat.

        Each victim is read on its own once locked, before it is stopped:
        one that is no candidate any more (its owner resized it to a
        normal flavor since the plan's snapshot, before the lock)
        cancels the action, which unlocks it and the victims noticed
        before it (see :meth:`_release`).  Stopped, it was a server that
        must not be preempted, and it stayed stopped.

        The victims' states are recorded together, with the move to
        ``noticed``, in one commit once the cloud has locked and stopped
        them (or, when it refuses a lock, those done so far): one commit
        per victim was most of a watermark pass (500 victims at 20,000
        servers).  An engine that
        stops in the middle has recorded none; the leader resumes the
        action (locking and stopping again changes nothing), or, when it
        is cancelled, unlocks the victims that the cloud shows locked
        with this action's reason (see :meth:`_release`)."""
        reason = self._lock_reason(action['id'])
        done = {}
        for victim in action['victims']:
            server_id = victim['server_id']
            try:
                self._cloud(self.driver.lock, server_id, reason)
                # Read once locked: its owner cannot resize it any more.
                if self._no_candidate(server_id):
                    actions_db.set_victim_states(self.db, self.ctx,
                                                 action['id'], done)
                    return self._cancel(
                        action, 'At its notice, %s was no candidate any '
                        'more (not preemptible, or protected by a '
                        'guaranteed runtime): nothing more was preempted.'
                        % server_id)
                self._stop(server_id)
                done[server_id] = 'noticed'
            except driver_base.ServerNotFound:
                done[server_id] = 'gone'
            except driver_base.DriverError as exc:
                actions_db.set_victim_states(self.db, self.ctx,
                                             action['id'], done)
                return self._lock_failed(action, server_id, exc)
        gone = [state == 'gone' for state in done.values()]
        if gone and all(gone):
            actions_db.set_victim_states(self.db, self.ctx, action['id'],
                                         done)
            return self._cancel(action, 'Every victim was gone before its '
                                'notice: nothing was preempted.')
        now = self.clock()
        delete_after = now + datetime.timedelta(
            seconds=self.conf.preemption.grace_period)
        if actions_db.transition(self.db, self.ctx, action['id'],
                                 states.PLANNED, states.NOTICED,
                                 victim_states=done, noticed_at=now,
                                 delete_after=delete_after):
            action = actions_db.get_action(self.db, self.ctx, action['id'])
            self._notify('preemption.notice', action,
                         delete_after=delete_after)
            return action
        return actions_db.get_action(self.db, self.ctx, action['id'])

    def _stop(self, server_id):
        """Stop a locked victim; one the cloud will not stop (Nova stops
        only ACTIVE and ERROR servers: a paused, suspended, shelved or
        rescued one is refused) has had its notice by the lock, and is
        deleted after the grace period like the others.

        Failing the action there left the victims stopped before it
        locked and stopped for nothing, their claims released; the next
        trigger picked the same server again, and stopped more.
        """
        try:
            self._cloud(self.driver.stop, server_id)
        except driver_base.ServerNotFound:
            raise
        except driver_base.DriverError as exc:
            LOG.warning('The cloud did not stop victim %s (%s): it is '
                        'locked, and deleted after the grace period',
                        server_id, exc)

    def _no_candidate(self, server_id):
        """Whether the cloud shows ``server_id`` as no candidate now (not
        preemptible, or protected by a guaranteed runtime), read on its
        own just before it is deleted; False when it is gone.

        :raises DriverError: the cloud could not tell
        """
        try:
            server = self._cloud(self.driver.server, server_id)
        except driver_base.ServerNotFound:
            return False
        return not _candidate(server, self.clock())

    def _unlock_spared(self, action_id, server_id):
        """Unlock a victim that is spared; a refusal is logged and leaves
        it locked (an operator unlocks it: the action's victim list and
        the log name it), and does not stop the action."""
        try:
            self._cloud(self.driver.unlock, server_id)
        except driver_base.ServerNotFound:
            pass
        except driver_base.DriverError as exc:
            LOG.warning('Action %s: could not unlock %s, spared: %s',
                        action_id, server_id, exc)

    def delete_victims(self, action):
        """``noticed`` -> ``deleting`` -> ``done``: delete every victim
        (one already gone counts as deleted).  Safe to repeat.

        A victim that the cloud shows as no candidate any more when the
        grace period is over (an operator resized it to a normal flavor
        during the grace period, or a guaranteed runtime protects it) is
        not deleted: it is ``spared``, and unlocked (given back to its
        owner, still stopped: starting it is their choice).  Deleted, it
        was a server that must not be preempted; left locked, with the
        notice's reason, its owner could neither start nor unlock it.

        Each victim is read on its own just before its deletion
        (:meth:`~reaper_svc.drivers.base.CloudDriver.server`).  Checked
        against one snapshot of the cloud taken at the start of the
        leader's pass, a victim resized to a normal flavor while the pass
        went on (deleting the victims of other actions, a second or more
        each with Nova) was deleted all the same.
        """
        if action['state'] == states.NOTICED:
            if not actions_db.transition(self.db, self.ctx, action['id'],
                                         states.NOTICED, states.DELETING):
                return actions_db.get_action(self.db, self.ctx, action['id'])
        if action['trigger'] == TRIGGER_PENDING:
            ended = self._request_state(action['trigger_id'])
            if ended in pending_db.FINAL:
                return self._release_for_ended_request(action, ended)
        for victim in action['victims']:
            if victim['state'] in ('deleted', 'spared', 'released'):
                continue
            try:
                spared = (victim['state'] != 'gone'
                          and self._no_candidate(victim['server_id']))
            except driver_base.DriverError as exc:
                return self._delete_failed(action, victim['server_id'], exc)
            if spared:
                LOG.warning('Action %s: victim %s is no candidate any more '
                            '(not preemptible, or protected by a '
                            'guaranteed runtime): spared, not deleted',
                            action['id'], victim['server_id'])
                self._unlock_spared(action['id'], victim['server_id'])
                actions_db.set_victim_state(self.db, self.ctx, action['id'],
                                            victim['server_id'], 'spared')
                continue
            try:
                self._cloud(self.driver.delete, victim['server_id'])
            except driver_base.ServerNotFound:
                pass
            except driver_base.DriverError as exc:
                return self._delete_failed(action, victim['server_id'], exc)
            actions_db.set_victim_state(self.db, self.ctx, action['id'],
                                        victim['server_id'], 'deleted')
        if actions_db.transition(self.db, self.ctx, action['id'],
                                 states.DELETING, states.DONE):
            action = actions_db.get_action(self.db, self.ctx, action['id'])
            self._notify('preemption.action.done', action)
        return actions_db.get_action(self.db, self.ctx, action['id'])

    def _release_for_ended_request(self, action, ended):
        """``deleting`` -> ``done`` without deleting: the pending request
        that ``action`` made room for has ended (``ended``: withdrawn,
        expired, failed, or built in other room: its victims, stopped,
        still held theirs) during the grace period, and nothing needs
        the room.  The victims not deleted yet are unlocked
        (``released``), stopped, for their owners to start; they were
        deleted all the same.  An unlock the cloud refuses is logged and
        leaves that server locked, for an operator (as for a spared
        victim)."""
        for victim in action['victims']:
            if victim['state'] in ('deleted', 'gone', 'spared', 'released'):
                continue
            try:
                self._cloud(self.driver.unlock, victim['server_id'])
            except driver_base.ServerNotFound:
                pass
            except driver_base.DriverError as exc:
                LOG.warning('Action %s: could not unlock %s, released: %s',
                            action['id'], victim['server_id'], exc)
                continue
            actions_db.set_victim_state(self.db, self.ctx, action['id'],
                                        victim['server_id'], 'released')
        reason = ('The pending request it made room for became %s during '
                  'the grace period: its victims were released, not '
                  'deleted.' % ended)
        LOG.info('Action %s: %s', action['id'], reason)
        if actions_db.transition(self.db, self.ctx, action['id'],
                                 states.DELETING, states.DONE,
                                 reason=reason):
            action = actions_db.get_action(self.db, self.ctx, action['id'])
            self._notify('preemption.action.done', action, reason=reason)
        return actions_db.get_action(self.db, self.ctx, action['id'])

    def _lock_failed(self, action, server_id, exc):
        """The cloud refused to lock a victim: the action stays
        ``planned`` (the victims noticed so far stay so), and the
        leader's next pass resumes it, checked again, for
        :data:`RETRY_SECONDS` after it was planned (its ``created_at``,
        stamped by the database's clock as :attr:`clock` reads it);
        then it fails.
        Failing at the first refusal left the victims stopped before it
        locked and stopped for good, their room never made.  The
        action's reason (read through the API by administrators and the
        victims' projects) says how the cloud failed
        (:func:`cloud_errors.public_reason`), keystoneauth's text, with
        the cloud's internal endpoints and addresses, is logged."""
        ends = action['created_at'] + datetime.timedelta(
            seconds=RETRY_SECONDS)
        if self.clock() < ends:
            self._cloud_failed(exc, 'Action %s: could not lock %s (%s); '
                               'trying again at the next pass',
                               action['id'], server_id, exc)
            return actions_db.get_action(self.db, self.ctx, action['id'])
        LOG.warning('Action %s: could not lock %s, failing: %s',
                    action['id'], server_id, exc)
        self._fail(action, states.PLANNED, 'Could not lock %s: %s'
                   % (server_id, cloud_errors.public_reason(exc)))
        return actions_db.get_action(self.db, self.ctx, action['id'])

    def _delete_failed(self, action, server_id, exc):
        """The cloud refused to delete a victim: the action stays
        ``deleting``, and the leader's next pass tries again, for
        :data:`RETRY_SECONDS` after the grace period; then it
        fails.  Failing at the first refusal (Nova restarting, a 503 of
        its load balancer) left the victims locked and stopped for good,
        their room never made.  The reason is told as for a lock
        (:meth:`_lock_failed`)."""
        ends = (action['delete_after'] or self.clock()) + datetime.timedelta(
            seconds=RETRY_SECONDS)
        if self.clock() < ends:
            self._cloud_failed(exc, 'Action %s: could not delete %s (%s); '
                               'trying again at the next pass',
                               action['id'], server_id, exc)
            return actions_db.get_action(self.db, self.ctx, action['id'])
        LOG.warning('Action %s: could not delete %s, failing: %s',
                    action['id'], server_id, exc)
        self._fail(action, states.DELETING, 'Could not delete %s: %s'
                   % (server_id, cloud_errors.public_reason(exc)))
        return actions_db.get_action(self.db, self.ctx, action['id'])

    def _cloud(self, call, *args, **kwargs):
        """``call(*args, **kwargs)``, a call of the driver: an answer of
        the cloud (a server not found too) is counted for the pass of
        this thread, if it is in one (see :meth:`process_unfinished`)."""
        record = getattr(self._pass, 'record', None)
        try:
            result = call(*args, **kwargs)
        except driver_base.ServerNotFound:
            if record is not None:
                record['answered'] = True
            raise
        if record is not None:
            record['answered'] = True
        return result

    def _cloud_failed(self, exc, message, *args):
        """Log that the cloud failed an action (``exc``), which is tried
        again at the next pass: a warning line (``message % args``),
        unless the cloud is away (:func:`svc_common.outage.
        remote_unreachable`: Nova or Placement unreachable, 5xx,
        timeouts).  Then every action fails at every pass while the
        outage lasts, and a warning per action and pass said nothing
        more than the first: the outage is logged once
        (:attr:`cloud_outage`), each action's line is a debug line, and
        the first pass of :meth:`process_unfinished` in which the cloud
        answered and no call met an outage logs its end."""

        if not outage.remote_unreachable(exc):
            LOG.warning(message, *args)
            return
        record = getattr(self._pass, 'record', None)
        if record is not None:
            record['failed'] = True
        self.cloud_outage.failed(
            exc, 'the actions it fails are tried again at each pass')
        LOG.debug(message, *args)

    def process_unfinished(self):
        """The leader's pass: notice what is planned, delete what is due,
        finish what was being deleted.  How many actions moved.

        A planned action whose snapshot of the cloud cannot be read
        (Placement or Nova down) is left for the next pass, and the pass
        goes on: it ended there with a traceback, at every pass while
        the outage lasted, and the victims due after it were not deleted
        although deleting them needs Nova only.  The cloud away is
        logged once per outage (see :meth:`_cloud_failed`).
        """
        moved = 0
        now = self.clock()
        servers = ServersOnce(self.driver)
        record = self._pass.record = {'answered': False, 'failed': False}
        try:
            moved = self._process(now, servers)
        finally:
            self._pass.record = None
        if record['answered'] and not record['failed']:
            # Only a pass in which the cloud answered and nothing met its
            # outage ends one: a pass with nothing to do, or whose calls
            # the promoter's or the listener's outage did not reach, says
            # nothing of the cloud.
            self.cloud_outage.succeeded()
        return moved

    def _process(self, now, servers):
        """The body of :meth:`process_unfinished`; how many moved."""
        moved = 0
        for action in actions_db.unfinished(self.db, self.ctx):
            if action['state'] == states.PLANNED:
                try:
                    self._resume_planned(action, servers)
                except driver_base.DriverError as exc:
                    self._cloud_failed(
                        exc, 'Action %s: the cloud could not be read '
                        '(%s); resumed at the next pass', action['id'], exc)
                    continue
            elif action['state'] == states.NOTICED:
                if action['delete_after'] and action['delete_after'] > now:
                    continue
                self.delete_victims(action)
            else:
                self.delete_victims(action)
            moved += 1
        return moved

    def _resume_planned(self, action, servers=None):
        """Give notice for an action planned earlier (by an engine that
        stopped before its notice, perhaps long ago), unless a victim is
        no candidate any more: the cloud shows it not preemptible (its
        owner resized it to a normal flavor meanwhile) or protected by a
        guarantee.  The plan is then cancelled, and nothing stopped: the
        notice would have stopped, and the grace period's end deleted, a
        server that must not be preempted.  The plan of the promoter for
        a pending request that has ended since (withdrawn, expired,
        built or failed) is cancelled too: its room is needed no more."""
        if action['trigger'] == TRIGGER_PENDING:
            state = self._request_state(action['trigger_id'])
            if state in pending_db.FINAL:
                return self._cancel(action, 'Since the plan, the pending '
                                    'request it made room for became %s: '
                                    'nothing more was preempted.' % state)
        now = self.clock()
        servers = (servers or ServersOnce(self.driver))()
        record = getattr(self._pass, 'record', None)
        if record is not None:
            record['answered'] = True
        spared = sorted(
            v['server_id'] for v in action['victims']
            if v['server_id'] in servers and not _candidate(
                servers[v['server_id']], now))
        if not spared:
            return self.give_notice(action)
        LOG.warning('Action %s: %s no longer preemptible or protected; '
                    'cancelled', action['id'], spared)
        return self._cancel(action, 'Since the plan, %s became no '
                            'candidate (not preemptible, or protected by '
                            'a guaranteed runtime): nothing was preempted.'
                            % ', '.join(spared))

    def _request_state(self, request_id):
        """The state of the pending request ``request_id``; ``cancelled``
        when it is not found."""
        try:
            return pending_db.get_request(self.db, self.ctx,
                                          request_id)['state']
        except errors.NotFound:
            return pending_db.CANCELLED

    def server_deleted(self, server_id):
        """Nova reports ``server_id`` deleted: mark it so on the actions
        that preempt it."""
        actions_db.mark_victim_deleted(self.db, self.ctx, server_id)
