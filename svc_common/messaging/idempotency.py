"""Handle each notification once although the bus may deliver it twice.

RabbitMQ delivers at least once: a message whose acknowledgement was lost
(a listener restarted, a connection dropped) comes again, with the same
``message_id`` in the ``metadata`` that oslo.messaging passes to endpoint
methods. :func:`handle_once` wraps an endpoint method so that a message it
has already handled is acknowledged without calling it again::

    class InstanceEndpoint:
        def __init__(self, processed):
            self.processed_messages = processed

        @idempotency.handle_once('processed_messages')
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            ...

    endpoint = InstanceEndpoint(idempotency.InMemoryProcessedMessages())

A message is claimed before its handler runs; if the handler raises or
returns ``NotificationResult.REQUEUE`` the claim is forgotten again, so
the redelivery that follows is handled.  A process killed while a handler
runs forgets nothing: with the in-memory store the claim dies with it, but
a claim kept in a database would stay, and the redelivery would be
acknowledged unhandled.  So a service whose handlers must run exactly once
across restarts records the message id in the handler's own transaction,
with the work it does (reaper_svc's ``processed_notifications`` are written
so), and does not use :func:`handle_once` with a database store.  Two
deliveries of one message in the same process never run at the same
time: the second waits for the first.

:class:`InMemoryProcessedMessages` forgets everything when the process
stops and remembers only the most recent ``max_size`` ids. A store of
another kind implements the :class:`ProcessedMessages` interface
(``seen``, ``mark`` and ``forget``, and ``claim`` as one atomic operation
where several processes share it); see above for why a store that
outlives the process is not the way to handle a message exactly once.
Use one store per endpoint: a store shared by two endpoints lets only one
of them handle each message.

Such a store raises when its database fails (down, refusing connections),
before the handler runs and with nothing remembered.  Put
:func:`svc_common.messaging.redelivery.later_on_database_failure` outside
:func:`handle_once` so that the message is requeued after a delay instead
of at once.
"""

import abc
import collections
import functools
import logging
import threading

import oslo_messaging

LOG = logging.getLogger(__name__)


class ProcessedMessages(metaclass=abc.ABCMeta):
    """The ids of the messages a listener endpoint has handled."""

    @abc.abstractmethod
    def seen(self, message_id):
        """Return True if ``message_id`` is marked."""

    @abc.abstractmethod
    def mark(self, message_id):
        """Remember ``message_id``."""

    @abc.abstractmethod
    def forget(self, message_id):
        """Drop ``message_id`` (its handling failed and will be retried)."""

    def claim(self, message_id):
        """Mark ``message_id``; return False if it was marked already.

        This default is not atomic across processes; a store shared by
        several processes must override it with an atomic operation.
        """
        if self.seen(message_id):
            return False
        self.mark(message_id)
        return True


class InMemoryProcessedMessages(ProcessedMessages):
    """Thread-safe store of the ``max_size`` most recently marked ids."""

    def __init__(self, max_size=10000):
        if max_size < 1:
            raise ValueError('max_size must be at least 1')
        self.max_size = max_size
        self._ids = collections.OrderedDict()
        self._lock = threading.Lock()

    def seen(self, message_id):
        with self._lock:
            return message_id in self._ids

    def mark(self, message_id):
        with self._lock:
            self._mark(message_id)

    def forget(self, message_id):
        with self._lock:
            self._ids.pop(message_id, None)

    def claim(self, message_id):
        with self._lock:
            if message_id in self._ids:
                return False
            self._mark(message_id)
            return True

    def _mark(self, message_id):
        self._ids[message_id] = None
        self._ids.move_to_end(message_id)
        while len(self._ids) > self.max_size:
            self._ids.popitem(last=False)

    def __len__(self):
        with self._lock:
            return len(self._ids)


class _InFlight:
    """Lets one thread at a time work on a given message id."""

    def __init__(self):
        self._ids = set()
        self._changed = threading.Condition()

    def enter(self, message_id):
        with self._changed:
            while message_id in self._ids:
                self._changed.wait()
            self._ids.add(message_id)

    def leave(self, message_id):
        with self._changed:
            self._ids.discard(message_id)
            self._changed.notify_all()


def handle_once(store):
    """Decorate a notification endpoint method to skip redeliveries.

    :param store: a :class:`ProcessedMessages`, or the name of the attribute
        that holds one on the endpoint (the method's ``self``)

    The decorated callable takes the endpoint arguments ``(ctxt,
    publisher_id, event_type, payload, metadata)``, after ``self`` for a
    method. A message without a ``message_id`` is always handled.
    """
    in_flight = _InFlight()

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            metadata = kwargs['metadata'] if 'metadata' in kwargs else args[-1]
            message_id = (metadata or {}).get('message_id')
            if message_id is None:
                return func(*args, **kwargs)
            processed = (getattr(args[0], store) if isinstance(store, str)
                         else store)
            in_flight.enter(message_id)
            try:
                return _run_once(processed, message_id, func, args, kwargs)
            finally:
                in_flight.leave(message_id)
        return wrapper
    return decorator


def _run_once(processed, message_id, func, args, kwargs):
    if not processed.claim(message_id):
        LOG.debug('Skipping message %s: already handled', message_id)
        return oslo_messaging.NotificationResult.HANDLED
    try:
        result = func(*args, **kwargs)
    except Exception:
        processed.forget(message_id)
        raise
    if result == oslo_messaging.NotificationResult.REQUEUE:
        processed.forget(message_id)
    return result
