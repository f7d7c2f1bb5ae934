"""The engine's announcements, sent from a thread of their own.

The reaper announces each state change of an action (``preemption.
notice``, ``preemption.action.*``) once the change is committed.  Sent
from the engine's own threads, one announcement made while RabbitMQ
could not be reached held that thread until the broker came back:
oslo.messaging's ``[oslo_messaging_notifications] retry`` is -1 (for
ever) by default.  The leader's pass over the actions stopped at the
first victim it deleted, so the other victims past their grace period
stayed stopped, the promoter stopped at the first action it started, and
a graceful stop never ended.

The engine therefore hands its announcements to an :class:`Announcer`,
which sends them in order from one thread while the engine goes on:

* while the broker is down, they wait in the announcer's queue (and the
  one being sent waits as ``[oslo_messaging_notifications] retry``
  says); once the broker is back they are sent, oldest first;
* at most :data:`BACKLOG` wait; an announcement made when that many are
  waiting is dropped, with a warning that names it;
* a stop waits :data:`DRAIN_SECONDS` at most for those still waiting;
  those not sent by then are lost, with a warning that counts them.

The state changes themselves are in the database whatever happens to
their announcements: ``GET /v1/actions`` shows them.
"""

import queue
import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

#: Announcements that may wait for the broker; more are dropped.
BACKLOG = 10000
#: Seconds a stop waits for the waiting announcements to be sent.
DRAIN_SECONDS = 10


class Announcer(object):
    """An ``oslo_messaging.Notifier`` look-alike (its :meth:`info`) whose
    announcements are sent by a thread of its own (see the module
    documentation).  A runner worker: started before the engine's
    listeners and periodic tasks, stopped after them.  Before
    :meth:`start` and after :meth:`stop`, :meth:`info` sends at once.

    :param notifier: the ``oslo_messaging.Notifier`` that sends
    """

    def __init__(self, notifier, backlog=BACKLOG,
                 drain_seconds=DRAIN_SECONDS):
        self.notifier = notifier
        self.drain_seconds = drain_seconds
        self._queue = queue.Queue(maxsize=backlog)
        self._thread = None
        #: Announcements dropped because :data:`BACKLOG` were waiting.
        self.dropped = 0

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name='reaper-announcer', daemon=True)
            self._thread.start()

    def info(self, ctxt, event_type, payload):
        """Announce ``event_type`` with ``payload``; returns at once."""
        if self._thread is None:
            self._send((ctxt, event_type, payload))
            return
        try:
            self._queue.put_nowait((ctxt, event_type, payload))
        except queue.Full:
            self.dropped += 1
            LOG.warning('%s of action %s dropped: %d announcements are '
                        'waiting for the message broker already',
                        event_type, payload.get('action_id'),
                        self._queue.maxsize)

    def pending(self):
        """How many announcements wait to be sent."""
        return self._queue.qsize()

    def stop(self):
        """Send what waits, for :attr:`drain_seconds` at most."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        deadline = time.monotonic() + self.drain_seconds
        try:
            self._queue.put(None, timeout=self.drain_seconds)
        except queue.Full:
            pass
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            # The thread is a daemon: it ends with the process.
            LOG.warning('Stopped with %d announcement(s) not sent: the '
                        'message broker could not be reached for %d s',
                        self.pending(), self.drain_seconds)

    def _run(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._send(item)

    def _send(self, item):
        ctxt, event_type, payload = item
        try:
            self.notifier.info(ctxt, event_type, payload)
        except Exception:
            # The change is committed; only its announcement is lost.
            LOG.exception('Could not announce %s of action %s', event_type,
                          payload.get('action_id'))
