"""Announcements an engine makes without waiting for the message broker.

An engine announces its state changes once they are committed.  Sent
from the engine's own threads through an ``oslo_messaging.Notifier``,
one announcement made while RabbitMQ cannot be reached holds that thread
until the broker is back (``[oslo_messaging_notifications] retry`` is -1,
for ever, by default): the leader's pass, the listener and a graceful
stop all wait for it.

An :class:`Announcer` stands in for the notifier (its :meth:`~Announcer.
info`) and sends from a thread of its own, in the order the calls were
made, while the engine goes on:

* while the broker is down the announcements wait in memory, and the
  one being sent waits as ``retry`` says; once the broker is back they
  leave, oldest first;
* at most ``backlog`` wait: beyond that the oldest are dropped and an
  error counts them (the newest say the latest state);
* a stop waits ``drain_seconds`` at most for what is left, then logs how
  many were not sent (the thread is a daemon: it ends with the process).

What is announced is committed already: an announcement lost this way
loses no state, which each service's API shows.  An engine is a runner
worker (:meth:`svc_common.engine.runner.Runner.add_worker`): started
before the listeners and periodic tasks, stopped after them.
"""

import collections
import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

#: Announcements that may wait for the broker; beyond that the oldest go.
BACKLOG = 10000
#: Seconds a stop waits for the waiting announcements to be sent.
DRAIN_SECONDS = 10


class Announcer(object):
    """An ``oslo_messaging.Notifier`` look-alike (:meth:`info`) that sends
    from a thread of its own (see the module's documentation).  Before
    :meth:`start` and after :meth:`stop`, :meth:`info` sends at once.

    :param notifier: the ``oslo_messaging.Notifier`` that sends
    :param name: the thread's name, for logs and stack dumps
    :param backlog: announcements that may wait; beyond, the oldest go
    :param drain_seconds: how long :meth:`stop` waits for the broker
    """

    def __init__(self, notifier, name='announcer', backlog=BACKLOG,
                 drain_seconds=DRAIN_SECONDS):
        self.notifier = notifier
        self.name = name
        self.backlog = backlog
        self.drain_seconds = drain_seconds
        #: Announcements dropped because ``backlog`` were waiting.
        self.dropped = 0
        self._waiting = collections.deque()
        self._sending = 0
        self._closing = False
        self._changed = threading.Condition()
        self._thread = None

    def start(self):
        with self._changed:
            if self._thread is not None:
                return
            self._closing = False
            self._thread = threading.Thread(target=self._run,
                                            name=self.name, daemon=True)
            self._thread.start()

    def info(self, ctxt, event_type, payload):
        """Announce ``event_type`` with ``payload``; returns at once once
        started."""
        with self._changed:
            if self._thread is not None:
                self._waiting.append((ctxt, event_type, payload))
                excess = len(self._waiting) - self.backlog
                for _ in range(max(excess, 0)):
                    self._waiting.popleft()
                if excess > 0:
                    self.dropped += excess
                    LOG.error('%(name)s: %(n)d announcement(s) dropped, '
                              'the oldest: more than %(max)d wait for the '
                              'message broker',
                              {'name': self.name, 'n': excess,
                               'max': self.backlog})
                self._changed.notify_all()
                return
        self._send(ctxt, event_type, payload)

    def pending(self):
        """How many announcements wait, the one being sent included."""
        with self._changed:
            return len(self._waiting) + self._sending

    def stop(self):
        """Send what waits, for ``drain_seconds`` at most, and stop."""
        with self._changed:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._closing = True
            self._changed.notify_all()
        thread.join(self.drain_seconds)
        if thread.is_alive():
            LOG.error('%(name)s stopped with %(n)d announcement(s) not '
                      'sent: the message broker did not take them within '
                      '%(s)s s (what they announce is committed)',
                      {'name': self.name, 'n': self.pending(),
                       's': self.drain_seconds})

    def _run(self):
        while True:
            with self._changed:
                while not self._waiting and not self._closing:
                    self._changed.wait()
                if not self._waiting:
                    return
                item = self._waiting.popleft()
                self._sending = 1
            try:
                self._send(*item)
            finally:
                with self._changed:
                    self._sending = 0

    def _send(self, ctxt, event_type, payload):
        try:
            self.notifier.info(ctxt, event_type, payload)
        except Exception:
            # Committed already: only the announcement is lost.
            LOG.exception('%s could not announce %s', self.name, event_type)
