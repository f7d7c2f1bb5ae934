"""The bus helpers and the arbiter-routing driver on a real RabbitMQ node.

The node comes from :mod:`svc_common.tests.fixtures.rabbitmq`; these tests
fail (they do not skip) when RabbitMQ is not installed.
"""

import collections
import importlib.metadata
import os
import threading
import time
import uuid

import fixtures
from oslo_config import cfg
import oslo_messaging
import oslo_messaging.opts
import testtools
from testtools import content

from svc_common.messaging import bus
from svc_common.messaging import idempotency
from svc_common.messaging import routing_notifier
from svc_common.tests.fixtures import rabbitmq

WAIT = 60  # seconds: the most any test waits for deliveries

ROUTES = """
reaper:
  messagingv2:
    accepted_events: ['scheduler.*', 'compute_task.build_instances']
    topics: [reaper_notifications]
# Overlaps with the route above; must not make a second copy.
reaper_errors:
  messagingv2:
    accepted_events: ['scheduler.select_destinations.*']
    accepted_priorities: [error]
    topics: [reaper_notifications]
everything:
  messagingv2: {}
"""

ROUTED = frozenset(['scheduler.select_destinations.start',
                    'scheduler.select_destinations.end',
                    'compute_task.build_instances'])
EVENTS = sorted(ROUTED) + ['instance.update', 'instance.create.end',
                           'instance.delete.end', 'image.update',
                           'compute_task.build_instances.error']
PRIORITIES = ['info', 'info', 'warn', 'error']


def make_conf(**rabbit_overrides):
    """A ConfigOpts with oslo.messaging's options and a private exchange."""
    conf = cfg.ConfigOpts()
    conf([], project='arbiter-functional', default_config_files=[],
         default_config_dirs=[])
    for group, opts in oslo_messaging.opts.list_opts():
        conf.register_opts(opts, group=group)
    # A fresh exchange per test keeps tests sharing a broker apart while
    # they use the real topic names.
    conf.set_override('control_exchange', 'test-%s' % uuid.uuid4().hex)
    # Reconnect quickly after a broker restart.
    conf.set_override('rabbit_interval_max', 2, group='oslo_messaging_rabbit')
    for name, value in rabbit_overrides.items():
        conf.set_override(name, value, group='oslo_messaging_rabbit')
    return conf


def wait_until(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %d s waiting for %s'
                                 % (timeout, what))
        time.sleep(0.05)


class Collector:
    """Endpoint recording every delivery as (priority, event_type, seq)."""

    def __init__(self):
        self.deliveries = []
        self._lock = threading.Lock()

    def _record(self, priority, event_type, payload):
        with self._lock:
            self.deliveries.append((priority, event_type, payload['seq']))

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('info', event_type, payload)

    def warn(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('warn', event_type, payload)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('error', event_type, payload)

    def count(self):
        with self._lock:
            return len(self.deliveries)

    def seqs(self):
        with self._lock:
            return [seq for _priority, _event, seq in self.deliveries]


class IdempotentCollector(Collector):
    """Collector whose ``info`` handles each message id once."""

    def __init__(self):
        super().__init__()
        self.processed_messages = idempotency.InMemoryProcessedMessages()

    @idempotency.handle_once('processed_messages')
    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._record('info', event_type, payload)


class BusTestCase(testtools.TestCase):

    def listen(self, conf, transport, topic, endpoint, pool):
        listener = bus.get_notification_listener(conf, transport, [topic],
                                                 [endpoint], pool=pool)
        listener.start()
        self.addCleanup(self.stop_listener, listener)
        return listener

    @staticmethod
    def stop_listener(listener):
        listener.stop()
        listener.wait()

    def transport(self, conf, url):
        transport = bus.get_notification_transport(conf, url=url)
        self.addCleanup(transport.cleanup)
        return transport


class RoutingDriverTestCase(BusTestCase):
    """Nova-like publisher with driver = arbiter-routing."""

    COUNT = 2000

    def setUp(self):
        super().setUp()
        self.broker = self.useFixture(rabbitmq.SharedRabbitMQ()).broker
        self.conf = make_conf()
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'routing.yaml')
        with open(path, 'w') as routing_file:
            routing_file.write(ROUTES)
        routing_notifier.register_opts(self.conf)
        self.conf.set_override('routing_config', path,
                               group='arbiter_routing_notifier')

    def _publish(self, notifier):
        """Publish COUNT mixed notifications; return {seq: (prio, event)}."""
        sent = {}
        for seq in range(self.COUNT):
            event = EVENTS[seq % len(EVENTS)]
            priority = PRIORITIES[(seq // len(EVENTS)) % len(PRIORITIES)]
            getattr(notifier, priority)({}, event, {'seq': seq})
            sent[seq] = (priority, event)
        return sent

    def test_routed_exactly_once(self):
        transport = self.transport(self.conf, self.broker.url)
        reaper, everything = Collector(), Collector()
        pools = {'reaper': 'reaper-%s' % uuid.uuid4().hex,
                 'all': 'all-%s' % uuid.uuid4().hex}
        listeners = [
            self.listen(self.conf, transport, 'reaper_notifications', reaper,
                        pools['reaper']),
            self.listen(self.conf, transport, 'notifications', everything,
                        pools['all'])]
        # Loaded by name, through the oslo.messaging.notify.drivers entry
        # point, as Nova loads it.
        entry_points = importlib.metadata.entry_points(
            group=routing_notifier.NAMESPACE)
        self.assertIn('arbiter-routing', [ep.name for ep in entry_points],
                      'the arbiter package is not installed '
                      '("pip install -e .")')
        logger = self.useFixture(fixtures.FakeLogger(level='ERROR'))
        notifier = oslo_messaging.Notifier(transport, 'compute.host1',
                                           driver='arbiter-routing',
                                           topics=['notifications'])
        self.assertNotIn('Could not load', logger.output)
        started = time.monotonic()
        sent = self._publish(notifier)
        routed = {seq for seq, (_p, event) in sent.items() if event in ROUTED}
        wait_until(lambda: (everything.count() >= self.COUNT and
                            reaper.count() >= len(routed)),
                   'all notifications')
        elapsed = time.monotonic() - started
        for listener in listeners:
            self.stop_listener(listener)
        self.addDetail('elapsed', content.text_content(
            '%d notifications published and received in %.1f s'
            % (self.COUNT, elapsed)))

        # Nothing left behind in either pool's queue: no late duplicates.
        queues = self.broker.list_queues()
        self.assertEqual(0, queues[pools['reaper']])
        self.assertEqual(0, queues[pools['all']])
        # Everything reached "notifications", once.
        self.assertEqual(list(range(self.COUNT)), sorted(everything.seqs()))
        # Exactly the routed ones reached the reaper, once each.
        self.assertEqual(sorted(routed), sorted(reaper.seqs()))
        self.assertEqual(ROUTED, {e for _p, e, _s in reaper.deliveries})
        # With their priority and event type intact.
        for priority, event, seq in everything.deliveries:
            self.assertEqual(sent[seq], (priority, event))
        self.assertGreater(len(routed), 500)


class DurableListenerTestCase(BusTestCase):
    """Durable queues across a broker restart (a private broker)."""

    BATCH = 100

    def setUp(self):
        super().setUp()
        self.broker = self.useFixture(rabbitmq.RabbitMQ(name='durable'))
        self.conf = make_conf(amqp_durable_queues=True)
        self.pool = 'durable-%s' % uuid.uuid4().hex
        # Separate transports (and connections) as in separate services.
        self.publisher_transport = self.transport(self.conf, self.broker.url)
        self.listener_transport = self.transport(self.conf, self.broker.url)
        self.notifier = bus.get_notifier(
            self.conf, 'compute.host1', topics=['notifications'],
            transport=self.publisher_transport)

    def _publish(self, seqs):
        for seq in seqs:
            self.notifier.info({}, 'instance.update', {'seq': seq})

    def _listen(self, endpoint):
        return self.listen(self.conf, self.listener_transport,
                           'notifications', endpoint, self.pool)

    def _wait_for(self, endpoint, seqs):
        wait_until(lambda: set(seqs) <= set(endpoint.seqs()),
                   '%d notifications' % len(seqs))

    def test_running_listener_survives_restart(self):
        endpoint = IdempotentCollector()
        self._listen(endpoint)
        self._publish(range(self.BATCH))
        self._wait_for(endpoint, range(self.BATCH))

        self.broker.stop()
        # Published while the broker is down: the notifier retries until
        # the broker is back.
        publisher = threading.Thread(
            target=self._publish, args=(range(self.BATCH, 2 * self.BATCH),))
        publisher.start()
        self.broker.start()
        publisher.join(WAIT)
        self.assertFalse(publisher.is_alive(), 'publisher still blocked')
        self._publish(range(2 * self.BATCH, 3 * self.BATCH))

        self._wait_for(endpoint, range(3 * self.BATCH))
        counts = collections.Counter(endpoint.seqs())
        self.assertEqual(set(range(3 * self.BATCH)), set(counts))
        self.assertEqual({1}, set(counts.values()))

    def test_unconsumed_notifications_survive_restart(self):
        # A first run of the listener declares its durable pool queue.
        first = Collector()
        listener = self._listen(first)
        self._publish(range(self.BATCH))
        self._wait_for(first, range(self.BATCH))
        self.stop_listener(listener)

        # Published while no listener runs: they wait in the queue ...
        self._publish(range(self.BATCH, 2 * self.BATCH))
        wait_until(lambda: self.broker.list_queues().get(self.pool) ==
                   self.BATCH, 'the pool queue to hold the batch')
        # ... and on disk across a restart of the broker.
        self.broker.stop()
        self.broker.start()
        self.assertEqual(self.BATCH, self.broker.list_queues()[self.pool])

        second = IdempotentCollector()
        self._listen(second)
        self._publish(range(2 * self.BATCH, 3 * self.BATCH))
        self._wait_for(second, range(self.BATCH, 3 * self.BATCH))
        self.assertEqual(list(range(self.BATCH, 3 * self.BATCH)),
                         sorted(second.seqs()))
