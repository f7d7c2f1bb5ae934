"""Deliver a notification again later when the database fails it.

While an engine's database is down, restarting or refusing connections,
every notification fails, often inside :mod:`~svc_common.messaging.
idempotency`'s store, which records its message id in that database.
Raised out of the endpoint, the error makes oslo.messaging log a traceback
and requeue the notification at once; RabbitMQ delivers it again at once,
and the engine goes round that loop many times a second for as long as the
outage lasts.  :func:`later_on_database_failure` wraps an endpoint method
so that such a notification is requeued (kept, not lost) after a delay,
with one warning line::

    class InstanceEndpoint:
        redelivery_delay = redelivery.DEFAULT_DELAY

        @redelivery.later_on_database_failure('redelivery_delay')
        @idempotency.handle_once('processed')
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            ...

It goes outside :func:`~svc_common.messaging.idempotency.handle_once`, so
that a failing store is covered too.  The delay is spent in the listener's
thread: with oslo.messaging's threading executor it holds one worker of
the pool, which would only have taken the same message again.

A database failure that passes (:func:`svc_common.db.failures.passing`:
unreachable, or a SQLite file locked past the busy timeout) is logged as
a warning; any other database error (a statement refused: a bug or bad
data) with its traceback, and it is also delivered again after the delay
rather than at once.  Other exceptions are not caught.
"""

import functools
import logging
import time

from oslo_db import exception as db_exc
import oslo_messaging
import sqlalchemy.exc

from svc_common.db import failures

LOG = logging.getLogger(__name__)

#: Seconds a notification waits before it is delivered again.
DEFAULT_DELAY = 5

REQUEUE = oslo_messaging.NotificationResult.REQUEUE


def _what(args, kwargs):
    """How the log names what was delivered: a notification endpoint's
    ``(ctxt, publisher_id, event_type, payload, metadata)`` or a batch
    endpoint's ``(messages)``, each after the endpoint's ``self``."""
    if 'event_type' in kwargs:
        return 'A %s notification' % kwargs['event_type']
    if len(args) >= 5:
        return 'A %s notification' % (args[-3],)
    if args and isinstance(args[-1], list):
        return 'A batch of %d notifications' % len(args[-1])
    return 'A notification'


def later_on_database_failure(delay=DEFAULT_DELAY):
    """Decorate an endpoint method to requeue after ``delay`` seconds what
    the database failed.

    :param delay: seconds, or the name of the endpoint's attribute (of the
        method's ``self``) that holds them
    """
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except (db_exc.DBError, sqlalchemy.exc.DBAPIError) as exc:
                # oslo.db wraps the errors of statements; a connection
                # the database refuses is SQLAlchemy's own.
                seconds = (getattr(args[0], delay) if isinstance(delay, str)
                           else delay)
                what = _what(args[1:], kwargs)
                if failures.passing(exc):
                    LOG.warning('%s was not handled, the database failed '
                                '(%s); it is delivered again in %s s',
                                what, failures.one_line(exc), seconds)
                else:
                    LOG.exception('%s was not handled, the database '
                                  'refused a statement; it is delivered '
                                  'again in %s s', what, seconds)
                time.sleep(seconds)
                return REQUEUE
        return wrapper
    return decorator
