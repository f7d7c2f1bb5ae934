"""``reaper-engine``: the preemption engine.

It runs on :mod:`svc_common.engine.runner`, so several hosts can run it:

* on every host, a listener (pool ``reaper``) on ``[preemption]
  notification_topic`` of ``[preemption] notification_exchange`` (Nova's
  ``nova`` by default), fed by the arbiter-routing notifier inside Nova:
  a NoValidHost (versioned ``compute_task.build_instances.error`` or
  legacy ``compute_task.build_instances``) plans victims with the
  configured strategy, persists the action, locks and stops the victims
  and sends ``preemption.notice``; ``instance.delete.end`` marks a victim
  deleted.  Each message is handled once in effect: its id is recorded
  in the ``processed_notifications`` table once it has been handled, and
  a message whose id is there is acknowledged and not handled again (see
  :meth:`NovaEndpoint._handle_once`);
* on the leader only, every ``[preemption] action_interval`` seconds and
  when a host becomes the leader: delete the victims whose grace period
  is over and resume the actions a stopped engine left unfinished;
* on every host, the announcer (:mod:`svc_common.messaging.announcer`): the
  ``preemption.*`` notifications leave from a thread of their own, so
  that the work above goes on while RabbitMQ cannot be reached;
* on the leader only, every ``[preemption] promote_interval`` seconds,
  when a host becomes the leader and as soon as the leader receives an
  ``instance.delete.end`` (one that another host of the pool receives
  wakes nothing there: the leader's next pass sees the room): the
  promoter (:mod:`reaper_svc.promoter`) builds the pending requests that
  now fit;
* on the leader only, when ``[preemption] watermark`` or ``max_lifetime``
  is set, every ``[preemption] modes_interval`` seconds: the watermark
  and max-lifetime modes (:mod:`reaper_svc.modes`);
* on the leader only, every ``[preemption] purge_interval`` seconds:
  forget the ids of notifications handled more than ``[preemption]
  processed_retention`` seconds ago, and the guaranteed runtimes that
  are over (:func:`purge_records`), so that neither table grows without
  end;
* on the leader only, when ``[trustee]`` names the reaper's service
  user, every ``[trustee] leaked_trust_interval`` seconds: delete the
  trusts of the reaper that no unfinished pending request names, seen so
  for ``[trustee] leaked_trust_grace`` seconds
  (:mod:`reaper_svc.leaked_trusts`);
* on every host, every ``[preemption] action_interval`` seconds: a host
  that does not lead forgets the outage of the cloud the actions' pass
  was in (:func:`forget_when_following`).
"""

import datetime
import functools
import sys
import time

from oslo_log import log as logging
import oslo_messaging

from reaper_svc.db import clock as clock_db
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import notifications as notifications_db
from reaper_svc import drivers
from reaper_svc.drivers import base as driver_base
from reaper_svc import leaked_trusts
from reaper_svc import modes as modes_mod
from reaper_svc import nova_notifications
from reaper_svc import promoter as promoter_mod
from reaper_svc import reaper as reaper_mod
from reaper_svc import service
from svc_common import config
from svc_common import context
from svc_common.db import database
from svc_common.engine import runner as runner_mod
from svc_common.messaging import announcer as announcer_mod
from svc_common.messaging import bus
from svc_common.messaging import redelivery

LOG = logging.getLogger(__name__)
ENGINE_DESCRIPTION = (
    "The background work of the reaper service: Nova's scheduling "
    "failures, the victims' deletion and the promotion of pending "
    'requests. SIGINT or SIGTERM stop it.')

POOL = 'reaper'
ACTIONS_TASK = 'preemption-actions'
PROMOTE_TASK = 'preemption-promoter'
MODES_TASK = 'preemption-modes'
PURGE_TASK = 'preemption-purge'
FOLLOWER_TASK = 'preemption-follower'
TRUSTS_TASK = 'preemption-leaked-trusts'


#: Seconds a scheduling failure waits before it is delivered again when
#: the cloud could not be read or acted on (Nova or Placement down).
REDELIVERY_DELAY = redelivery.DEFAULT_DELAY


class NovaEndpoint(object):
    """Nova's routed notifications: scheduling failures and deletes.

    A scheduling failure whose handling the cloud fails (the driver's
    :class:`~reaper_svc.drivers.base.DriverError`: Nova or Placement down
    or refusing), and any notification whose handling the database fails
    (down, or refusing connections), is delivered again after
    :attr:`redelivery_delay` seconds: requeued at once, it came back at
    once, and for as long as the outage lasted the engine tried it again
    and logged a traceback many times a second.  The database's failures
    are svc_common's :mod:`~svc_common.messaging.redelivery`, as in the
    other engines.
    """

    def __init__(self, reaper, processed, on_deleted=None,
                 redelivery_delay=REDELIVERY_DELAY):
        self.reaper = reaper
        self.processed = processed
        self.on_deleted = on_deleted
        self.redelivery_delay = redelivery_delay

    def _handle(self, event_type, payload):
        try:
            failure = nova_notifications.scheduling_failure(event_type,
                                                            payload)
            deleted = nova_notifications.deleted_instance(event_type,
                                                          payload)
        except nova_notifications.MalformedNotification as exc:
            # Acknowledged: raising would requeue it, and RabbitMQ would
            # deliver it again at once, for ever.
            LOG.warning('Dropped a malformed %s notification: %s',
                        event_type, exc)
            return
        if failure is not None:
            LOG.info('NoValidHost for %s (%s x %s)', failure.instance_uuid,
                     failure.count, failure.flavor_name)
            try:
                self.reaper.handle_failure(failure)
            except driver_base.DriverError as exc:
                LOG.warning('NoValidHost for %s not handled: %s; it is '
                            'delivered again in %s s',
                            failure.instance_uuid, exc,
                            self.redelivery_delay)
                time.sleep(self.redelivery_delay)
                return oslo_messaging.NotificationResult.REQUEUE
            return
        if deleted is not None:
            self.reaper.server_deleted(deleted)
            if self.on_deleted is not None:
                # Room came back: the promoter runs now (on the leader).
                self.on_deleted()

    @redelivery.later_on_database_failure('redelivery_delay')
    def _deliver(self, ctxt, publisher_id, event_type, payload, metadata):
        try:
            message_id = nova_notifications.message_id(metadata)
        except nova_notifications.MalformedNotification as exc:
            # Its id cannot be recorded (an unhashable value, or longer
            # than the column): recording it would raise at every
            # delivery, and the message would be requeued for ever.
            LOG.warning('Dropped a %s notification with a malformed '
                        'id: %s', event_type, exc)
            return oslo_messaging.NotificationResult.HANDLED
        return self._handle_once(event_type, payload, message_id)

    def _handle_once(self, event_type, payload, message_id):
        """Handle a message unless its id says it was handled already;
        its id is recorded once it has been handled.

        Claimed before the handling (svc_common's ``handle_once``), the
        id of a message whose engine died before it was handled (killed,
        or its database gone before the claim could be taken back) stayed
        recorded, and the redelivery that RabbitMQ then made, to this
        host or another, was acknowledged without being handled: the
        NoValidHost was lost and no room was ever made for the boot.
        Recorded afterwards, two deliveries at once of one message may
        both be handled, which changes nothing: a failure's action is
        one per trigger (the ``actions`` table refuses a second, and the
        second delivery finds the first's), and a delete marks victims
        deleted, which it may do twice.
        """
        if message_id is not None and self.processed.seen(message_id):
            LOG.debug('Message %s was handled already', message_id)
            return oslo_messaging.NotificationResult.HANDLED
        result = self._handle(event_type, payload)
        if (message_id is not None
                and result != oslo_messaging.NotificationResult.REQUEUE):
            self.processed.mark(message_id)
        return result

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        return self._deliver(ctxt, publisher_id, event_type, payload,
                             metadata)

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        return self._deliver(ctxt, publisher_id, event_type, payload,
                             metadata)


def purge_records(conf, db, now=None):
    """The leader's purge: the ids of the notifications handled more than
    ``[preemption] processed_retention`` seconds before ``now``, and the
    guaranteed runtimes over at ``now`` (by default the database's
    clock: a leader whose clock is ahead must not forget a guarantee
    before it is over); ``(ids, guarantees)`` purged."""
    ctx = context.admin_context()
    now = now or clock_db.database_now(db, ctx)
    ids = notifications_db.purge_older_than(
        db, ctx, now - datetime.timedelta(
            seconds=conf.preemption.processed_retention))
    ended = guarantees_db.purge(db, ctx, now)
    if ids or ended:
        LOG.info('Purged %d notification id(s) and %d ended guarantee(s)',
                 ids, ended)
    return ids, ended


def build_reaper(conf, db, driver=None, notifier=None, transport=None):
    """The :class:`reaper_svc.reaper.Reaper` of this engine."""
    if driver is None:
        driver = drivers.get(conf)
    if notifier is None:
        notifier = bus.get_notifier(conf, bus.publisher_id(service.SPEC),
                                    transport=transport,
                                    wait_for_broker=True)
    return reaper_mod.Reaper(conf, db, driver, notifier)


def forget_when_following(runner, reaper):
    """On a host that does not lead (any more), forget the outage of the
    cloud that the actions' pass was in: this host will not see its end,
    and when it leads again (days later, maybe) a failure is a new
    outage, with its warning, and a success no end of an outage another
    host saw end.  Run on every host, every ``[preemption]
    action_interval``, as the runner forgets its tasks' outages."""
    if not runner.is_leader:
        reaper.cloud_outage.forget()


def build_runner(conf, db, driver=None, notifier=None, member_id=None,
                 reaper=None, trusts=None):
    """The engine runner of reaper_svc, not yet started.

    :param trusts: a :class:`reaper_svc.trusts.TrustBroker` the promoter
        builds trusted requests with (None: the driver's credentials)
    """
    reaper = reaper or build_reaper(conf, db, driver, notifier)
    # Announcements leave from a thread of their own: sent from the
    # engine's threads, one made while RabbitMQ was down held the
    # actions' pass, the promoter or the listener until it came back.
    announcer = announcer_mod.Announcer(reaper.notifier,
                                        name='reaper-announcer')
    reaper.notifier = announcer
    if not reaper.driver.has_guarantee_source:
        reaper.driver.set_guarantee_source(guarantees_db.GuaranteeSource(
            db, reaper.ctx, conf))
    promoter = promoter_mod.Promoter(conf, db, reaper, trusts=trusts)
    runner = runner_mod.Runner(service.SPEC, conf, member_id=member_id)
    runner.add_worker(announcer)
    promote = runner.add_periodic(PROMOTE_TASK,
                                  conf.preemption.promote_interval,
                                  promoter.promote, run_on_election=True)
    target = oslo_messaging.Target(
        topic=conf.preemption.notification_topic,
        exchange=conf.preemption.notification_exchange)
    endpoint = NovaEndpoint(reaper,
                            notifications_db.ProcessedNotifications(db),
                            on_deleted=promote.wake)
    runner.add_listener([target], [endpoint], pool=POOL)
    runner.add_periodic(ACTIONS_TASK, conf.preemption.action_interval,
                        functools.partial(reaper.process_unfinished),
                        run_on_election=True)
    runner.add_periodic(PURGE_TASK, conf.preemption.purge_interval,
                        functools.partial(purge_records, conf, db))
    runner.add_periodic(FOLLOWER_TASK, conf.preemption.action_interval,
                        functools.partial(forget_when_following, runner,
                                          reaper), leader_only=False)
    modes = modes_mod.Modes(conf, db, reaper)
    if modes.enabled:
        runner.add_periodic(MODES_TASK, conf.preemption.modes_interval,
                            modes.run, run_on_election=True)
    runner.leaked_trusts = None
    if promoter.trusts is not None:
        runner.leaked_trusts = leaked_trusts.LeakedTrusts.from_conf(
            conf, db, promoter.trusts)
        runner.add_periodic(TRUSTS_TASK, conf.trustee.leaked_trust_interval,
                            runner.leaked_trusts.sweep)
    runner.reaper = reaper
    runner.announcer = announcer
    runner.promoter = promoter
    runner.modes = modes
    return runner


def main(argv=None):
    conf = config.build_conf(
        service.SPEC, args=sys.argv[1:] if argv is None else argv,
        command='reaper-engine',
        description=ENGINE_DESCRIPTION)
    logging.setup(conf, 'reaper-engine')
    return build_runner(conf, database.Database(conf)).run()
