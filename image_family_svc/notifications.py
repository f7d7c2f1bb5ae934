"""What image_family_svc announces on the bus, and the Glance driver call
that goes with each state change.

The database layer returns :class:`Event` values for what it changed; the
caller (an API handler or the engine) calls :func:`publish` once the
transaction has committed, so that nothing is announced that did not
happen.  The engine hands all of its events (the listener's and those of
its periodic tasks: the schedule and the usage reconciliation) to its one
:class:`Announcer`, which does it from a thread of its own in the order
they were submitted.  Event types:

* ``image_family.transition``: an image changed state (asked, scheduled,
  retention, or deletion once unused);
* ``image_family.membership.join`` / ``image_family.membership.leave``.
"""

import collections
import logging
import queue
import threading

from svc_common.messaging import bus

LOG = logging.getLogger(__name__)

TRANSITION = 'image_family.transition'
JOIN = 'image_family.membership.join'
LEAVE = 'image_family.membership.leave'

Event = collections.namedtuple('Event', ['event_type', 'payload'])


def publish(notifier, ctx, events, driver=None):
    """Announce ``events`` through ``notifier`` (which may be None) and
    tell the Glance ``driver`` (see :mod:`image_family_svc.glance`).

    A failure of either is logged and does not undo the change, which is
    committed already; the driver is told again by a later change.
    """
    for event in events:
        if driver is not None:
            try:
                driver.event(event)
            except Exception:
                LOG.exception('The Glance driver failed on %s of %s',
                              event.event_type,
                              event.payload.get('image_id'))
        if notifier is None:
            continue
        try:
            notifier.info(ctx, event.event_type,
                          bus.to_payload(event.payload))
        except Exception:
            LOG.exception('Could not announce %s of %s', event.event_type,
                          event.payload.get('image_id'))


class Announcer(object):
    """Calls :func:`publish` from a thread of its own, in the order the
    events were submitted, so that the engine's listener goes on with its
    next batch instead of waiting for RabbitMQ to confirm each
    announcement (and for the Glance driver's requests).

    The engine has one, shared by its listener and its periodic tasks,
    so that, for instance, a scheduled transition submitted after a join
    is never announced (or applied in Glance) before it.  The order is
    that of the :meth:`submit` calls; each caller submits after its own
    commit.

    Announcements stay what they were: made after the commit, best
    effort (a failure is logged).  :meth:`stop` returns once everything
    submitted before it is announced; an engine killed without a stop
    loses what is still queued.  At most ``max_pending`` submissions
    wait; beyond that :meth:`submit` waits too.  Before :meth:`start`
    and after :meth:`stop`, :meth:`submit` publishes at once.
    """

    def __init__(self, notifier, driver=None, max_pending=1000):
        self.notifier = notifier
        self.driver = driver
        self._queue = queue.Queue(maxsize=max_pending)
        self._thread = None

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name='image-family-announcer',
                daemon=True)
            self._thread.start()

    def submit(self, ctx, events):
        """Announce ``events`` (committed already) with ``ctx``."""
        if not events:
            return
        if self._thread is None:
            publish(self.notifier, ctx, events, self.driver)
        else:
            self._queue.put((ctx, list(events)))

    def stop(self):
        """Announce what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                publish(self.notifier, item[0], item[1], self.driver)
            except Exception:
                LOG.exception('Could not announce %d event(s)',
                              len(item[1]))
