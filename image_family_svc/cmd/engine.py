"""``image-family-engine``: the image family service's background work.

On :mod:`svc_common.engine.runner`, so several hosts can run it:

* on every host, the notification listener (pool ``image_family``) of
  Glance's image events and Nova's instance events
  (:mod:`image_family_svc.listeners`), which takes them in batches of up
  to ``[image_family] listener_batch_size`` and applies them in order
  (:class:`BatchListener`);
* on the leader only, every ``[image_family] schedule_interval``
  seconds: apply the scheduled transitions that are due, retention, and
  deletion of ``pending_delete`` images no server uses; and forget the
  ids of notifications older than ``processed_message_retention``;
* on the leader only, every ``[image_family] schedule_interval``
  seconds too: the retry of the Glance deletes that failed
  (:mod:`image_family_svc.glance_deletes`) and, in a task of its own, of
  the Glance writes that failed or were not made
  (:mod:`image_family_svc.glance_writes`);
* on the leader only, every ``[image_family] usage_reconcile_interval``
  seconds: the usage reconciliation with Nova's API
  (:mod:`image_family_svc.usage_reconcile`).

Every change is handed to the Glance driver and announced on the bus
(``image_family.*``) by the engine's one
:class:`image_family_svc.notifications.Announcer`, from threads of its
own (one for Glance, one for the bus, so that a RabbitMQ that is down
holds the announcements only): the listener's changes and the leader's
periodic ones alike, in the order they were submitted (each after its
commit), so that a scheduled transition or a deletion does not overtake
a join or transition of the same image that the listener submitted
before and that is still queued.
"""

import functools
import sys

from oslo_log import log as logging

from image_family_svc.db import ingest
from image_family_svc.db import members as members_db
from image_family_svc.db import messages
from image_family_svc import glance
from image_family_svc import glance_deletes
from image_family_svc import glance_writes
from image_family_svc import listeners
from image_family_svc import notifications
from image_family_svc import service
from image_family_svc import usage_reconcile
from svc_common import config
from svc_common import context
from svc_common.db import database
from svc_common.engine import runner as runner_mod
from svc_common.messaging import bus

LOG = logging.getLogger(__name__)
ENGINE_DESCRIPTION = (
    "The background work of the image-family service: Glance's and "
    "Nova's notifications, scheduled transitions and the usage "
    'reconciliation. SIGINT or SIGTERM stop it.')

SCHEDULE_TASK = 'apply-scheduled-transitions'
PURGE_TASK = 'purge-processed-messages'
GLANCE_DELETE_TASK = 'retry-glance-deletes'
GLANCE_WRITE_TASK = 'retry-glance-writes'
RECONCILE_TASK = 'reconcile-image-usage'


def apply_schedule(db, announcer=None, now=None,
                   drain=members_db.DEFAULT_DRAIN):
    """One sweep: due transitions, retention, unused pending_delete
    images that have been obsolete for ``drain`` seconds.  Returns the
    events.

    The events are submitted to ``announcer`` (the engine's
    :class:`notifications.Announcer`, behind what the listener submitted
    before); without one they are not announced.
    """
    ctx = context.admin_context()
    ctx.user_id = 'image-family-engine'
    events = members_db.apply_due(db, ctx, now, drain)
    events += members_db.sweep(db, ctx, drain)
    if events:
        LOG.info('Applied %d image state change(s)', len(events))
    if announcer is not None:
        announcer.submit(ctx, events)
    return events


def purge_messages(conf, db):
    """Forget the ids of handled notifications, and the images Glance
    announced as deleted, older than ``[image_family]
    processed_message_retention`` and :data:`ingest.CLOCK_MARGIN`; how
    many ids.

    The listener drops the Glance notifications older than the retention
    that these records would have stopped (see
    :mod:`image_family_svc.listeners`)."""
    retention = (conf.image_family.processed_message_retention +
                 ingest.CLOCK_MARGIN)
    ctx = context.admin_context()
    ingest.purge_deleted(db, ctx, retention)
    return messages.purge(db, ctx, retention)


class BatchListener(object):
    """The batch notification listener of the engine, run on every host
    as a worker of the runner (started before the periodic tasks,
    stopped gracefully after them: it finishes the batches it holds).

    oslo.messaging's batch listener hands the endpoints lists of up to
    ``[image_family] listener_batch_size`` notifications, gathered for at
    most ``listener_batch_timeout`` seconds; the Glance endpoint applies
    each list in one transaction.  ``listener_workers`` (default 1)
    batches are applied at a time: with one, in the order they arrived,
    while the listener's own thread goes on reading the next ones.
    """

    def __init__(self, conf, targets, endpoints, pool):
        self.conf = conf
        self.targets = targets
        self.endpoints = [listeners.Batched(e) for e in endpoints]
        self.pool = pool
        self.transport = None
        self.listener = None

    def start(self):
        opts = self.conf.image_family
        self.transport = bus.get_notification_transport(self.conf)
        self.listener = bus.get_batch_notification_listener(
            self.conf, self.transport, self.targets, self.endpoints,
            pool=self.pool, batch_size=opts.listener_batch_size,
            batch_timeout=opts.listener_batch_timeout)
        self.listener.start(override_pool_size=opts.listener_workers)

    def stop(self):
        if self.listener is not None:
            self.listener.stop()
            self.listener.wait()
            self.listener = None
        if self.transport is not None:
            self.transport.cleanup()
            self.transport = None


def build_runner(conf, db, member_id=None, notifier=None):
    """The engine runner of image_family_svc, not yet started."""
    runner = runner_mod.Runner(service.SPEC, conf, member_id=member_id)
    if notifier is None:
        notifier = bus.get_notifier(conf, bus.publisher_id(service.SPEC),
                                    driver=None, wait_for_broker=True)
    driver = glance.load_driver(conf, db)
    # One for everything the engine announces, so that the listener's
    # and the periodic tasks' announcements keep the order in which they
    # were submitted.  Started before the listener and the tasks, stopped
    # after them (it announces what their last runs changed).
    announcer = notifications.Announcer(notifier, driver)
    runner.add_worker(announcer)
    endpoints = [listeners.GlanceEndpoint(conf, db, notifier, driver,
                                          announcer),
                 listeners.NovaEndpoint(conf, db, notifier, driver,
                                        announcer)]
    runner.add_worker(BatchListener(conf, listeners.targets(conf),
                                    endpoints, listeners.POOL))
    runner.add_periodic(SCHEDULE_TASK, conf.image_family.schedule_interval,
                        functools.partial(
                            apply_schedule, db, announcer,
                            drain=conf.image_family.obsolete_drain_seconds),
                        run_on_election=True)
    # A task of its own: a Glance that does not answer holds it, not the
    # scheduled transitions.
    runner.add_periodic(GLANCE_DELETE_TASK,
                        conf.image_family.schedule_interval,
                        functools.partial(glance_deletes.retry, conf, db,
                                          driver))
    runner.add_periodic(GLANCE_WRITE_TASK,
                        conf.image_family.schedule_interval,
                        functools.partial(glance_writes.retry, conf, db,
                                          driver))
    runner.add_periodic(PURGE_TASK, 3600,
                        functools.partial(purge_messages, conf, db))
    interval = conf.image_family.usage_reconcile_interval
    if interval:
        reconciler = usage_reconcile.Reconciler(
            conf, db, announcer=announcer,
            stopping=lambda: runner.stopping)
        runner.add_periodic(RECONCILE_TASK, interval, reconciler.run)
    return runner


def main(argv=None):
    conf = config.build_conf(
        service.SPEC, args=sys.argv[1:] if argv is None else argv,
        command='image-family-engine',
        description=ENGINE_DESCRIPTION)
    logging.setup(conf, 'image-family-engine')
    return build_runner(conf, database.Database(conf)).run()
