"""Transports, notifiers and listeners over oslo.messaging.

Every helper takes the service's own ``ConfigOpts``; nothing here reads the
global ``cfg.CONF``. A typical service does::

    transport = bus.get_notification_transport(conf)
    notifier = bus.get_notifier(conf, bus.publisher_id(spec),
                                transport=transport)
    notifier.info(ctxt, 'preemption.notice', bus.to_payload(notice))

    listener = bus.get_notification_listener(
        conf, transport, ['reaper_notifications'], [endpoint],
        pool='reaper_svc', exchange=conf.preemption.notification_exchange)
    listener.start()
    ...
    listener.stop()
    listener.wait()

Listeners run endpoints in threads (the ``threading`` executor, never
eventlet) and consume from a queue named after their pool, so that each
service gets its own copy of every notification instead of competing with
other consumers of the same topic. A listener binds to the exchange the
*sender* publishes on (``exchange``: ``nova`` for Nova, also for what a
routing notifier in Nova sends), which each service makes an option
(``[preemption] notification_exchange``, ``[keystone]
notification_exchange``). Delivery is at least once: wrap endpoint
methods with :func:`svc_common.messaging.idempotency.handle_once`.
"""

import collections.abc
import datetime
import socket
import sys
import uuid

import oslo_messaging

from svc_common.messaging import routing_notifier

EXECUTOR = 'threading'

#: The retries of a notifier that waits for the broker (see
#: :func:`get_notifier`'s ``wait_for_broker``).
RETRY_UNTIL_BACK = sys.maxsize


def get_notification_transport(conf, url=None):
    """Return the transport notifications are sent and received on.

    :param conf: the service's ``ConfigOpts``
    :param url: a transport URL such as ``rabbit://user:pw@host:5672/``;
        by default ``[oslo_messaging_notifications] transport_url``, then
        ``[DEFAULT] transport_url``.
    """
    return oslo_messaging.get_notification_transport(conf, url=url)


def get_rpc_transport(conf, url=None):
    """Return the transport for RPC calls and casts (``[DEFAULT]
    transport_url`` unless ``url`` is given)."""
    return oslo_messaging.get_rpc_transport(conf, url=url)


def publisher_id(spec, host=None):
    """``<prog>.<host>``: who sends a service's notifications."""
    return '%s.%s' % (spec.prog, host or socket.gethostname())


def get_notifier(conf, publisher_id, topics=None, driver='messagingv2',
                 transport=None, wait_for_broker=False):
    """Return an ``oslo_messaging.Notifier`` for ``publisher_id``.

    The one notifier factory of Arbiter: the API (:mod:`svc_common.wsgi_app`,
    with ``driver=None``) and the engines build their notifiers here.

    :param topics: topics to publish on; by default ``[oslo_messaging_
        notifications] topics``.
    :param driver: notification driver name; ``None`` means the drivers
        configured in ``[oslo_messaging_notifications] driver``.
    :param transport: a notification transport built from ``conf``; one is
        created when omitted.
    :param wait_for_broker: for a sender that may wait (an engine's
        announcer thread, :mod:`svc_common.messaging.announcer`): with
        ``[oslo_messaging_notifications] retry`` -1 (for ever, its
        default) each notification waits until RabbitMQ takes it. Without
        this, oslo.messaging hands -1 to kombu as the most retries of a
        *new* connection, which then gives up at once: a notification
        made while the broker was down and no connection was pooled was
        dropped (logged) instead of waiting. An operator's ``retry`` of 0
        or more is kept.
    :raises routing_notifier.RoutingConfigError: when the ``arbiter-routing``
        driver is asked for and its routing file is unusable. oslo.messaging
        itself would only log that error and then drop every notification.
    """
    if transport is None:
        transport = get_notification_transport(conf)
    drivers = [driver] if driver is not None else _configured_drivers(conf)
    if routing_notifier.DRIVER_NAME in drivers:
        routing_notifier.load_routes(conf)
    notifier = oslo_messaging.Notifier(transport, publisher_id=publisher_id,
                                       driver=driver, topics=topics)
    retry = conf.oslo_messaging_notifications.retry
    if wait_for_broker and (retry is None or retry < 0):
        notifier = notifier.prepare(retry=RETRY_UNTIL_BACK)
    return notifier


def _configured_drivers(conf):
    # Creating a notification transport registers this group.
    return conf.oslo_messaging_notifications.driver


def notification_targets(topics, exchange=None):
    """``oslo_messaging.Target`` objects for ``topics`` on ``exchange``.

    :param exchange: where the sender publishes (e.g. ``nova``); ``None``
        means the listening transport's own ``control_exchange``.
    """
    if isinstance(topics, str):
        topics = [topics]
    return [oslo_messaging.Target(topic=topic, exchange=exchange)
            for topic in topics]


def get_notification_listener(conf, transport, targets_or_topics, endpoints,
                              pool=None, allow_requeue=True, exchange=None):
    """Return a notification listener (not yet started).

    :param conf: the service's ``ConfigOpts`` (``transport`` must have been
        built from it)
    :param targets_or_topics: topic names and/or ``oslo_messaging.Target``
        objects (a single one is accepted too)
    :param exchange: the exchange that topic names given as strings are
        bound on, i.e. the sender's (``nova`` for Nova's notifications,
        routed or not); ``None``: ``conf``'s ``control_exchange``.
        ``Target`` objects keep their own exchange.
    :param endpoints: objects with ``info``/``warn``/``error``... methods
        taking ``(ctxt, publisher_id, event_type, payload, metadata)``
    :param pool: name of the pool, and of the queue on RabbitMQ. Required:
        listeners of one service share a pool and split its notifications;
        different services use different pools and each get them all.
    :param allow_requeue: let endpoints return
        ``oslo_messaging.NotificationResult.REQUEUE`` (an endpoint that
        raises is requeued too).
    """
    if not pool:
        raise ValueError('a listener needs a pool name (for example the '
                         'service name): without one it would compete with '
                         'every other consumer of the same topics')
    return oslo_messaging.get_notification_listener(
        transport, _targets(targets_or_topics, exchange), list(endpoints),
        executor=EXECUTOR, allow_requeue=allow_requeue, pool=pool)


def get_batch_notification_listener(conf, transport, targets_or_topics,
                                    endpoints, pool=None, batch_size=100,
                                    batch_timeout=0.2, allow_requeue=True,
                                    exchange=None):
    """Return a listener that hands its endpoints notifications in
    batches (not yet started).

    Like :func:`get_notification_listener` (same ``pool``, ``targets``,
    ``exchange`` and threading executor), except that an endpoint method
    is called with one argument: a list of up to ``batch_size`` dicts
    with the keys ``ctxt``, ``publisher_id``, ``event_type``,
    ``payload`` and ``metadata``, as soon as that many have arrived or
    ``batch_timeout`` seconds have passed since the first.  An endpoint
    that writes a batch in one transaction pays one commit for many
    notifications.  Returning ``NotificationResult.REQUEUE`` (or
    raising) requeues the whole batch, so the endpoint must still
    recognise the notifications of a batch it had partly handled.
    """
    if not pool:
        raise ValueError('a listener needs a pool name (for example the '
                         'service name): without one it would compete with '
                         'every other consumer of the same topics')
    if batch_size < 1:
        raise ValueError('batch_size must be at least 1')
    return oslo_messaging.get_batch_notification_listener(
        transport, _targets(targets_or_topics, exchange), list(endpoints),
        executor=EXECUTOR, allow_requeue=allow_requeue, pool=pool,
        batch_size=batch_size, batch_timeout=batch_timeout)


def _targets(targets_or_topics, exchange):
    if isinstance(targets_or_topics, (str, oslo_messaging.Target)):
        targets_or_topics = [targets_or_topics]
    targets = [oslo_messaging.Target(topic=item, exchange=exchange)
               if isinstance(item, str) else item
               for item in targets_or_topics]
    if not targets:
        raise ValueError('a listener needs at least one topic or target')
    return targets


def to_payload(obj):
    """Return a JSON-serialisable copy of the mapping ``obj``.

    Nested mappings, lists and tuples are copied; ``datetime`` and ``date``
    values become ISO 8601 strings, ``UUID`` values strings, sets and
    frozensets sorted lists. ``str``, ``int``, ``float``, ``bool`` and
    ``None`` are kept as they are.

    :raises TypeError: for any other type, naming where it was found (for
        example ``payload['servers'][2]``), and for mapping keys that are not
        strings (UUID keys are converted).
    """
    if not isinstance(obj, collections.abc.Mapping):
        raise TypeError('a notification payload must be a mapping, not %s'
                        % type(obj).__name__)
    return _convert(obj, 'payload')


_SCALARS = (str, int, float, bool, type(None))


def _convert(value, where):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, collections.abc.Mapping):
        return {_key(key, where): _convert(item, '%s[%r]' % (where, key))
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_convert(item, '%s[%d]' % (where, index))
                for index, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return _sorted_set(value, where)
    raise TypeError('%s: cannot put a %s in a notification payload; convert '
                    'it to a string, number, list or dict first'
                    % (where, type(value).__name__))


def _key(key, where):
    if isinstance(key, uuid.UUID):
        return str(key)
    if not isinstance(key, str):
        raise TypeError('%s: mapping key %r is a %s; payload keys must be '
                        'strings' % (where, key, type(key).__name__))
    return key


def _sorted_set(value, where):
    items = [_convert(item, '%s{%r}' % (where, item)) for item in value]
    try:
        return sorted(items)
    except TypeError:
        raise TypeError('%s: the set mixes types that cannot be ordered '
                        '(%s); use a list instead'
                        % (where, ', '.join(sorted(
                            {type(item).__name__ for item in items}))))
