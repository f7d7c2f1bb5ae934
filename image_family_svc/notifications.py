"""What image_family_svc announces on the bus, and the Glance driver call
that goes with each state change.

The database layer returns :class:`Event` values for what it changed; the
caller (an API handler or the engine) calls :func:`publish` once the
transaction has committed, so that nothing is announced that did not
happen.  The engine hands all of its events (the listener's and those of
its periodic tasks: the schedule and the usage reconciliation) to its one
:class:`Announcer`, which hands them to the Glance driver from a thread
of its own and announces them from another, in the order they were
submitted.  Event types:

* ``image_family.transition``: an image changed state (asked, scheduled,
  retention, or deletion once unused);
* ``image_family.membership.join`` / ``image_family.membership.leave``.
"""

import collections
import datetime
import logging
import queue
import threading

from svc_common import isotime
from svc_common.messaging import announcer as announcer_mod
from svc_common.messaging import bus
from svc_common import outage

LOG = logging.getLogger(__name__)

TRANSITION = 'image_family.transition'
JOIN = 'image_family.membership.join'
LEAVE = 'image_family.membership.leave'

Event = collections.namedtuple('Event', ['event_type', 'payload'])


def drive(driver, event):
    """Hand ``event`` to the Glance ``driver`` (see
    :mod:`image_family_svc.glance`); a failure is logged: Glance away
    once per outage (every image fails alike meanwhile; the engine
    writes them once it is back), any other failure with its
    traceback."""
    if driver is None:
        return
    try:
        driver.event(event)
    except Exception as exc:
        if driver.outage_log is not None and outage.passing(exc):
            driver.outage_log.failed(
                exc, 'image-family-engine writes (or deletes) the images '
                     'changed meanwhile once it is back')
        else:
            LOG.exception('The Glance driver failed on %s of %s',
                          event.event_type, event.payload.get('image_id'))


def payload(event):
    """The payload ``event`` is announced with: its times (``at``)
    written as the API writes them, ISO 8601 UTC in whole seconds with
    ``Z`` (:func:`svc_common.isotime.isoformat`), not with the
    microseconds they are kept with."""
    return bus.to_payload({
        key: (isotime.isoformat(value)
              if isinstance(value, datetime.datetime) else value)
        for key, value in event.payload.items()})


def announce(notifier, ctx, event):
    """Announce ``event`` through ``notifier`` (which may be None); a
    failure is logged."""
    if notifier is None:
        return
    try:
        notifier.info(ctx, event.event_type, payload(event))
    except Exception:
        LOG.exception('Could not announce %s of %s', event.event_type,
                      event.payload.get('image_id'))


def publish(notifier, ctx, events, driver=None):
    """Tell the Glance ``driver`` of ``events`` and announce them through
    ``notifier`` (which may be None), one event after the other.

    A failure of either is logged and does not undo the change, which is
    committed already; Glance is brought up to date by the engine
    (:mod:`image_family_svc.glance_writes`).
    """
    for event in events:
        drive(driver, event)
        announce(notifier, ctx, event)


#: Announcements the engine keeps while RabbitMQ does not take them;
#: beyond that the oldest are dropped (logged).
MAX_UNANNOUNCED = announcer_mod.BACKLOG

#: Seconds :meth:`Announcer.stop` waits for RabbitMQ to take what is
#: left to announce.
STOP_WAIT = 30


class Announcer(object):
    """Hands the engine's events to the Glance driver and announces them,
    from two threads of its own, so that the engine's listener and
    periodic tasks go on with their work instead of waiting for Glance's
    answers or for RabbitMQ to confirm each announcement.

    The engine has one, shared by its listener and its periodic tasks,
    so that, for instance, a scheduled transition submitted after a join
    is never applied in Glance, nor announced, before it.  The order is
    that of the :meth:`submit` calls; each caller submits after its own
    commit.

    * The Glance thread hands each event to the driver, in order, then
      passes it to the announcing thread.  At most ``max_pending``
      submissions wait for it; beyond that :meth:`submit` waits too.
    * The announcing thread (a
      :class:`svc_common.messaging.announcer.Announcer`) announces them,
      in order.  While RabbitMQ is down the engine's notifier retries
      until it is back: that thread waits, and the events behind it are
      kept (up to ``max_unannounced``; beyond that the oldest are
      dropped, logged as an error), while the Glance thread, the
      schedule, the Glance deletes and retries and the usage
      reconciliation go on.  Before, one thread did both: an
      announcement waiting for RabbitMQ held every later event's Glance
      write, and the engine's stop waited for the broker for ever.

    Announcements stay what they were: made after the commit, best
    effort (a failure is logged).  :meth:`stop` returns once every event
    submitted before it went to the driver and was announced, or, when
    RabbitMQ still does not take them after ``stop_wait`` seconds, logs
    how many were not announced and returns; an engine killed without a
    stop loses what is queued (Glance still gets it from the engine's
    retry: :mod:`image_family_svc.glance_writes`).  Before :meth:`start`
    and after :meth:`stop`, :meth:`submit` publishes at once.
    """

    def __init__(self, notifier, driver=None, max_pending=1000,
                 max_unannounced=MAX_UNANNOUNCED, stop_wait=None):
        self.notifier = notifier
        self.driver = driver
        self._bus = None
        if notifier is not None:
            self._bus = announcer_mod.Announcer(
                notifier, name='image-family-announcer',
                backlog=max_unannounced,
                drain_seconds=STOP_WAIT if stop_wait is None else stop_wait)
        self._queue = queue.Queue(maxsize=max_pending)
        self._thread = None

    @property
    def dropped(self):
        """Announcements dropped because too many waited."""
        return self._bus.dropped if self._bus is not None else 0

    def start(self):
        if self._thread is None:
            if self._bus is not None:
                self._bus.start()
            self._thread = threading.Thread(
                target=self._drive, name='image-family-glance-writer',
                daemon=True)
            self._thread.start()

    def submit(self, ctx, events):
        """Hand over and announce ``events`` (committed already) with
        ``ctx``."""
        if not events:
            return
        if self._thread is None:
            publish(self.notifier, ctx, events, self.driver)
        else:
            self._queue.put((ctx, list(events)))

    def unannounced(self):
        """How many events wait to be announced (one being announced
        included)."""
        return self._bus.pending() if self._bus is not None else 0

    def stop(self):
        """Hand over and announce what is queued (announcements: for at
        most ``stop_wait`` seconds), then stop the threads."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        if self._bus is not None:
            self._bus.stop()

    def _drive(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            ctx, events = item
            for event in events:
                try:
                    drive(self.driver, event)
                except Exception:
                    LOG.exception('Could not hand %s of %s to the Glance '
                                  'driver', event.event_type,
                                  event.payload.get('image_id'))
                announce(self._bus, ctx, event)
