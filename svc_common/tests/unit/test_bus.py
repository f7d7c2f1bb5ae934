"""Unit tests of svc_common.messaging: payloads, idempotency, routing."""

import datetime
import decimal
import json
import os
import threading
import time
from unittest import mock
import uuid

import fixtures
from oslo_config import cfg
import oslo_messaging
from oslo_messaging.notify import messaging as notify_messaging
from stevedore import driver as stevedore_driver
import testtools
import yaml

from svc_common.messaging import bus
from svc_common.messaging import idempotency
from svc_common.messaging import routing_notifier
from svc_common.tests.fixtures import rabbitmq

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'arbiter-routing-notifier.yaml.sample')

REAPER_ROUTES = """
reaper:
  messagingv2:
    accepted_events: ['scheduler.*', 'compute_task.build_instances']
    topics: [reaper_notifications]
everything:
  messagingv2: {}
"""


def wait_for(predicate, timeout=10):
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('condition not met in %s s' % timeout)
        time.sleep(0.01)


def make_conf():
    conf = cfg.ConfigOpts()
    conf([], project='arbiter-test', default_config_files=[],
         default_config_dirs=[])
    return conf


class ToPayloadTestCase(testtools.TestCase):

    def test_converts_nested_values(self):
        when = datetime.datetime(2024, 5, 1, 12, 30, 15,
                                 tzinfo=datetime.timezone.utc)
        ident = uuid.UUID('6f1c3a52-8a43-4b8e-9d0e-3b1b8f1f2f6a')
        payload = bus.to_payload({
            'id': ident,
            'created_at': when,
            'day': datetime.date(2024, 5, 1),
            'tags': {'b', 'a', 'c'},
            'servers': ({'id': ident, 'flavors': frozenset([3, 1, 2])},),
            ident: 'uuid key',
            'plain': [1, 2.5, 'x', True, None],
        })
        self.assertEqual({
            'id': str(ident),
            'created_at': '2024-05-01T12:30:15+00:00',
            'day': '2024-05-01',
            'tags': ['a', 'b', 'c'],
            'servers': [{'id': str(ident), 'flavors': [1, 2, 3]}],
            str(ident): 'uuid key',
            'plain': [1, 2.5, 'x', True, None],
        }, payload)
        self.assertEqual(payload, json.loads(json.dumps(payload)))

    def test_does_not_modify_input(self):
        original = {'tags': {'a'}, 'items': [{'when': datetime.date.today()}]}
        bus.to_payload(original)
        self.assertIsInstance(original['tags'], set)
        self.assertIsInstance(original['items'][0]['when'], datetime.date)

    def test_unknown_type_names_where(self):
        payload = {'servers': [{}, {'cost': decimal.Decimal(1)}]}
        exc = self.assertRaises(TypeError, bus.to_payload, payload)
        self.assertIn("payload['servers'][1]['cost']", str(exc))
        self.assertIn('Decimal', str(exc))

    def test_arbitrary_object_refused(self):
        exc = self.assertRaises(TypeError, bus.to_payload, {'x': object()})
        self.assertIn('object', str(exc))

    def test_non_string_key_refused(self):
        exc = self.assertRaises(TypeError, bus.to_payload, {'a': {1: 'x'}})
        self.assertIn('keys must be strings', str(exc))

    def test_top_level_must_be_mapping(self):
        exc = self.assertRaises(TypeError, bus.to_payload, ['a'])
        self.assertIn('must be a mapping', str(exc))

    def test_unorderable_set_refused(self):
        exc = self.assertRaises(TypeError, bus.to_payload, {'s': {1, 'a'}})
        self.assertIn("payload['s']", str(exc))


class InMemoryProcessedMessagesTestCase(testtools.TestCase):

    def test_claim_once(self):
        store = idempotency.InMemoryProcessedMessages()
        self.assertFalse(store.seen('m1'))
        self.assertTrue(store.claim('m1'))
        self.assertFalse(store.claim('m1'))
        self.assertTrue(store.seen('m1'))
        store.forget('m1')
        self.assertTrue(store.claim('m1'))

    def test_bounded(self):
        store = idempotency.InMemoryProcessedMessages(max_size=3)
        for message_id in ('a', 'b', 'c', 'd'):
            store.mark(message_id)
        self.assertEqual(3, len(store))
        self.assertFalse(store.seen('a'))
        self.assertTrue(store.seen('d'))

    def test_concurrent_claims(self):
        store = idempotency.InMemoryProcessedMessages()
        wins = []
        barrier = threading.Barrier(16)

        def claim():
            barrier.wait()
            wins.extend(m for m in range(200) if store.claim(m))

        threads = [threading.Thread(target=claim) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(wins), list(range(200)))

    def test_max_size_validated(self):
        self.assertRaises(ValueError, idempotency.InMemoryProcessedMessages, 0)


class RecordingEndpoint:
    def __init__(self, store=None, delay=0.0):
        self.processed_messages = store or (
            idempotency.InMemoryProcessedMessages())
        self.delay = delay
        self.calls = []
        self.fail_next = 0
        self.lock = threading.Lock()

    @idempotency.handle_once('processed_messages')
    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        time.sleep(self.delay)
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError('transient failure')
            self.calls.append(metadata['message_id'])


def metadata(message_id):
    return {'message_id': message_id, 'timestamp': '2024-01-01 00:00:00'}


class HandleOnceTestCase(testtools.TestCase):

    def test_redelivery_skipped(self):
        endpoint = RecordingEndpoint()
        for _ in range(3):
            result = endpoint.info({}, 'p', 'e', {}, metadata('m1'))
        endpoint.info({}, 'p', 'e', {}, metadata=metadata('m2'))
        self.assertEqual(['m1', 'm2'], endpoint.calls)
        self.assertEqual(oslo_messaging.NotificationResult.HANDLED, result)

    def test_failure_is_retried(self):
        endpoint = RecordingEndpoint()
        endpoint.fail_next = 1
        self.assertRaises(RuntimeError, endpoint.info, {}, 'p', 'e', {},
                          metadata('m1'))
        endpoint.info({}, 'p', 'e', {}, metadata('m1'))
        endpoint.info({}, 'p', 'e', {}, metadata('m1'))
        self.assertEqual(['m1'], endpoint.calls)

    def test_requeue_is_retried(self):
        store = idempotency.InMemoryProcessedMessages()
        results = [oslo_messaging.NotificationResult.REQUEUE, None]
        calls = []

        @idempotency.handle_once(store)
        def info(ctxt, publisher_id, event_type, payload, metadata):
            calls.append(metadata['message_id'])
            return results.pop(0)

        self.assertEqual(oslo_messaging.NotificationResult.REQUEUE,
                         info({}, 'p', 'e', {}, metadata('m1')))
        info({}, 'p', 'e', {}, metadata('m1'))
        info({}, 'p', 'e', {}, metadata('m1'))
        self.assertEqual(['m1', 'm1'], calls)

    def test_without_message_id_always_handled(self):
        endpoint = RecordingEndpoint()
        endpoint.info({}, 'p', 'e', {}, {'message_id': None})
        endpoint.info({}, 'p', 'e', {}, {'message_id': None})
        self.assertEqual([None, None], endpoint.calls)

    def test_concurrent_redelivery_handled_once(self):
        endpoint = RecordingEndpoint(delay=0.01)
        barrier = threading.Barrier(20)

        def deliver(message_id):
            barrier.wait()
            endpoint.info({}, 'p', 'e', {}, metadata(message_id))

        # Each of 5 messages delivered 4 times, all at once.
        threads = [threading.Thread(target=deliver, args=('m%d' % (i % 5),))
                   for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(['m0', 'm1', 'm2', 'm3', 'm4'],
                         sorted(endpoint.calls))

    def test_concurrent_redelivery_after_failure(self):
        # The first delivery fails while a copy waits: the copy handles it.
        endpoint = RecordingEndpoint(delay=0.05)
        endpoint.fail_next = 1
        errors = []

        def deliver():
            try:
                endpoint.info({}, 'p', 'e', {}, metadata('m1'))
            except RuntimeError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(1, len(errors))
        self.assertEqual(['m1'], endpoint.calls)


class FakeBusBase(testtools.TestCase):
    """Listeners and notifiers over the in-process ``fake://`` transport."""

    def setUp(self):
        super().setUp()
        self.conf = make_conf()
        self.transport = bus.get_notification_transport(self.conf,
                                                        url='fake://')
        self.addCleanup(self.transport.cleanup)

    def _listen(self, topics, endpoint, pool):
        listener = bus.get_notification_listener(
            self.conf, self.transport, topics, [endpoint], pool=pool)
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        return listener


class FakeBusTestCase(FakeBusBase):

    def test_listener_handles_redelivered_message_once(self):
        endpoint = RecordingEndpoint()
        self._listen('arbiter_test', endpoint, pool='unit')
        driver = notify_messaging.MessagingV2Driver(
            self.conf, topics=['arbiter_test'], transport=self.transport)
        message = {'message_id': 'abc', 'publisher_id': 'p',
                   'event_type': 'instance.update', 'priority': 'INFO',
                   'payload': {}, 'timestamp': '2024-01-01 00:00:00'}
        for _ in range(3):
            driver.notify({}, message, 'INFO', None)
        driver.notify({}, dict(message, message_id='def'), 'INFO', None)
        wait_for(lambda: len(endpoint.calls) == 2)
        self.assertEqual(['abc', 'def'], sorted(endpoint.calls))

    def test_listener_requires_pool(self):
        exc = self.assertRaises(ValueError, bus.get_notification_listener,
                                self.conf, self.transport, ['t'], [object()])
        self.assertIn('pool', str(exc))

    def test_listener_requires_targets(self):
        self.assertRaises(ValueError, bus.get_notification_listener,
                          self.conf, self.transport, [], [object()], pool='p')

    def test_targets_on_sender_exchange(self):
        targets = bus.notification_targets(['a', 'b'], exchange='nova')
        self.assertEqual([('a', 'nova'), ('b', 'nova')],
                         [(t.topic, t.exchange) for t in targets])
        self.assertEqual([('a', None)], [
            (t.topic, t.exchange) for t in bus.notification_targets('a')])

    def test_listener_accepts_targets(self):
        listener = bus.get_notification_listener(
            self.conf, self.transport,
            [oslo_messaging.Target(topic='a', exchange='glance'), 'b'],
            [RecordingEndpoint()], pool='p')
        self.assertIsInstance(listener, oslo_messaging.MessageHandlingServer)

    def test_notifier_publishes_json_payload(self):
        endpoint = RecordingEndpoint()
        got = []
        endpoint.info = lambda ctxt, pub, event, payload, md: got.append(
            (pub, event, payload))
        self._listen(['arbiter_test'], endpoint, pool='unit')
        notifier = bus.get_notifier(self.conf, 'limits.host1',
                                    topics=['arbiter_test'],
                                    transport=self.transport)
        when = datetime.datetime(2024, 1, 2, 3, 4, 5)
        notifier.info({}, 'limits.allocation.create',
                      bus.to_payload({'at': when, 'ids': {'b', 'a'}}))
        wait_for(lambda: got)
        self.assertEqual(
            [('limits.host1', 'limits.allocation.create',
              {'at': '2024-01-02T03:04:05', 'ids': ['a', 'b']})], got)


class RoutingConfigTestCase(testtools.TestCase):

    def _routes(self, text):
        return routing_notifier.parse_routes(yaml.safe_load(text), 'r.yaml')

    def _destinations(self, routes, event, priority='INFO'):
        return routing_notifier.destinations(routes, event, priority,
                                             ('notifications',))

    def test_reaper_example(self):
        routes = self._routes(REAPER_ROUTES)
        both = {'messagingv2': ('notifications', 'reaper_notifications')}
        only_default = {'messagingv2': ('notifications',)}
        for event in ('scheduler.select_destinations.start',
                      'scheduler.select_destinations.end',
                      'compute_task.build_instances'):
            self.assertEqual(both, self._destinations(routes, event), event)
        for event in ('instance.update', 'compute_task.build_instances.x',
                      'image.update', 'xscheduler.a', 'Scheduler.a'):
            self.assertEqual(only_default,
                             self._destinations(routes, event), event)

    def test_sample_file_parses(self):
        with open(SAMPLE) as sample:
            routes = self._routes(sample.read())
        self.assertEqual(['reaper/messagingv2', 'everything/messagingv2'],
                         [route.name for route in routes])

    def test_priorities_case_insensitive_globs(self):
        routes = self._routes("""
errors:
  log:
    accepted_events: ['instance.*']
    accepted_priorities: ['ERR*', 'critical']
""")
        self.assertEqual({'log': ('notifications',)},
                         self._destinations(routes, 'instance.x', 'error'))
        self.assertEqual({'log': ('notifications',)},
                         self._destinations(routes, 'instance.x', 'CRITICAL'))
        self.assertEqual({}, self._destinations(routes, 'instance.x', 'INFO'))
        self.assertEqual({}, self._destinations(routes, 'image.x', 'ERROR'))

    def test_overlapping_routes_deduplicated(self):
        routes = self._routes("""
a:
  messagingv2:
    accepted_events: ['scheduler.*']
    topics: [reaper, audit]
b:
  messagingv2:
    accepted_priorities: ['error']
    topics: [reaper]
c:
  messagingv2: {}
  log:
""")
        self.assertEqual(
            {'messagingv2': ('audit', 'notifications', 'reaper'),
             'log': ('notifications',)},
            self._destinations(routes, 'scheduler.x', 'ERROR'))

    def _assert_error(self, text, *fragments):
        exc = self.assertRaises(routing_notifier.RoutingConfigError,
                                self._routes, text)
        for fragment in ('r.yaml',) + fragments:
            self.assertIn(fragment, str(exc))

    def test_empty_config_refused(self):
        self._assert_error('', 'no route')
        self._assert_error('[a, b]', 'no route')

    def test_bad_group_refused(self):
        self._assert_error('g: [messagingv2]', "group 'g'")

    def test_unknown_key_refused(self):
        self._assert_error(
            'g: {messagingv2: {accepted_event: [x]}}',
            'route g/messagingv2', 'accepted_event')

    def test_bad_pattern_list_refused(self):
        self._assert_error('g: {messagingv2: {accepted_events: x.*}}',
                           'route g/messagingv2', 'accepted_events')
        self._assert_error('g: {messagingv2: {topics: []}}', 'topics')
        self._assert_error('g: {messagingv2: {topics: [1]}}', 'topics')

    def test_routing_driver_as_target_refused(self):
        self._assert_error('g: {routing: {}}', 'g/routing')
        self._assert_error('g: {arbiter-routing: {}}', 'g/arbiter-routing')


class RoutingFileBase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = make_conf()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def _use(self, text):
        path = os.path.join(self.dir, 'routing.yaml')
        with open(path, 'w') as routing_file:
            routing_file.write(text)
        routing_notifier.register_opts(self.conf)
        self.conf.set_override('routing_config', path,
                               group='arbiter_routing_notifier')
        return path

    def _assert_load_error(self, *fragments):
        exc = self.assertRaises(routing_notifier.RoutingConfigError,
                                routing_notifier.load_routes, self.conf)
        for fragment in fragments:
            self.assertIn(fragment, str(exc))


class LoadRoutesTestCase(RoutingFileBase):

    def test_loads(self):
        self._use(REAPER_ROUTES)
        self.assertEqual(2, len(routing_notifier.load_routes(self.conf)))

    def test_invalid_yaml_names_file(self):
        path = self._use('reaper: {messagingv2: [unclosed\n')
        self._assert_load_error(path, 'not valid YAML')

    def test_missing_file_names_file(self):
        path = self._use(REAPER_ROUTES)
        os.unlink(path)
        self._assert_load_error(path, 'cannot read')

    def test_option_unset(self):
        self._assert_load_error('arbiter_routing_notifier', 'routing_config')

    def test_list_opts(self):
        [(group, opts)] = routing_notifier.list_opts()
        self.assertEqual('arbiter_routing_notifier', group.name)
        self.assertEqual(['routing_config'], [opt.name for opt in opts])


class RoutingDriverTestCase(RoutingFileBase):
    """The driver with a mock transport that records where it sends."""

    def _driver(self, text, topics=('notifications',)):
        self._use(text)
        self.transport = mock.Mock()
        return routing_notifier.RoutingDriver(self.conf, list(topics),
                                              self.transport)

    def _sent(self):
        return sorted(
            (c.args[0].topic, c.args[2]['event_type'])
            for c in self.transport._send_notification.call_args_list)

    def _notify(self, driver, event_type, priority='INFO'):
        message = {'message_id': str(uuid.uuid4()), 'event_type': event_type,
                   'publisher_id': 'p', 'priority': priority,
                   'payload': {}, 'timestamp': ''}
        driver.notify({}, message, priority, None)

    def test_reaper_example(self):
        driver = self._driver(REAPER_ROUTES)
        self._notify(driver, 'scheduler.select_destinations.end')
        self._notify(driver, 'instance.update')
        self.assertEqual([
            ('notifications.info', 'instance.update'),
            ('notifications.info', 'scheduler.select_destinations.end'),
            ('reaper_notifications.info',
             'scheduler.select_destinations.end')], self._sent())

    def test_same_topic_sent_once(self):
        driver = self._driver("""
a: {messagingv2: {accepted_events: ['scheduler.*'], topics: [reaper]}}
b: {messagingv2: {accepted_priorities: [error], topics: [reaper, other]}}
c: {messagingv2: {topics: [reaper]}}
""")
        self._notify(driver, 'scheduler.x', 'ERROR')
        self.assertEqual([('other.error', 'scheduler.x'),
                          ('reaper.error', 'scheduler.x')], self._sent())

    def test_unmatched_dropped(self):
        driver = self._driver(
            "a: {messagingv2: {accepted_events: ['scheduler.*']}}")
        self._notify(driver, 'image.update')
        self.assertEqual([], self._sent())

    def test_unknown_driver_fails_at_load(self):
        path = self._use('a: {no-such-driver: {}}')
        exc = self.assertRaises(routing_notifier.RoutingDriverLoadError,
                                routing_notifier.RoutingDriver, self.conf,
                                ['notifications'], mock.Mock())
        self.assertIn(path, str(exc))
        self.assertIn('a/no-such-driver', str(exc))

    def test_route_without_topics_needs_notifier_topics(self):
        exc = self.assertRaises(routing_notifier.RoutingDriverLoadError,
                                self._driver, 'a: {messagingv2: {}}', ())
        self.assertIn('a/messagingv2', str(exc))

    def test_loaded_through_entry_point(self):
        self._use(REAPER_ROUTES)
        logger = self.useFixture(fixtures.FakeLogger(level='ERROR'))
        manager = stevedore_driver.DriverManager(
            routing_notifier.NAMESPACE, 'arbiter-routing',
            invoke_on_load=True, invoke_args=(self.conf,),
            invoke_kwds={'topics': ['notifications'],
                         'transport': mock.Mock()})
        self.assertIsInstance(manager.driver, routing_notifier.RoutingDriver)
        self.assertEqual('', logger.output)

    def test_plain_notifier_refuses_bad_config(self):
        # What Nova does: oslo_messaging.Notifier loads the driver through
        # stevedore, which swallows (and only logs) an Exception; the
        # service would then run without any notification.
        path = self._use('a: {messagingv2: {accepted_event: [x]}}')
        transport = bus.get_notification_transport(self.conf, url='fake://')
        self.addCleanup(transport.cleanup)
        exc = self.assertRaises(
            routing_notifier.RoutingDriverLoadError, oslo_messaging.Notifier,
            transport, 'compute.host1', driver='arbiter-routing')
        self.assertIn(path, str(exc))
        self.assertIn('unknown key(s) accepted_event', str(exc))
        self.assertIn('refuses to load', str(exc))

    def test_plain_notifier_refuses_missing_file(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'absent.yaml')
        routing_notifier.register_opts(self.conf)
        self.conf.set_override('routing_config', path,
                               group='arbiter_routing_notifier')
        transport = bus.get_notification_transport(self.conf, url='fake://')
        self.addCleanup(transport.cleanup)
        exc = self.assertRaises(
            routing_notifier.RoutingDriverLoadError, oslo_messaging.Notifier,
            transport, 'compute.host1', driver='arbiter-routing')
        self.assertIn('cannot read routing file %s' % path, str(exc))

    def test_load_error_is_not_an_exception(self):
        # stevedore and most "except Exception" handlers must let it pass.
        self.assertFalse(issubclass(routing_notifier.RoutingDriverLoadError,
                                    Exception))

    def test_get_notifier_fails_on_bad_config(self):
        path = self._use('a: {messagingv2: {accepted_event: [x]}}')
        transport = bus.get_notification_transport(self.conf, url='fake://')
        self.addCleanup(transport.cleanup)
        exc = self.assertRaises(
            routing_notifier.RoutingConfigError, bus.get_notifier, self.conf,
            'compute.host1', driver='arbiter-routing', transport=transport)
        self.assertIn(path, str(exc))


class RoutingOverFakeBusTestCase(FakeBusBase):
    """Notifier -> arbiter-routing -> two pooled listeners, in-process."""

    def test_routes_to_reaper_topic(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'r.yaml')
        with open(path, 'w') as routing_file:
            routing_file.write(REAPER_ROUTES)
        routing_notifier.register_opts(self.conf)
        self.conf.set_override('routing_config', path,
                               group='arbiter_routing_notifier')
        reaper, everything = RecordingEndpoint(), RecordingEndpoint()
        self._listen(['reaper_notifications'], reaper, 'reaper')
        self._listen(['notifications'], everything, 'all')
        notifier = bus.get_notifier(self.conf, 'compute.host1',
                                    topics=['notifications'],
                                    driver='arbiter-routing',
                                    transport=self.transport)
        events = ['scheduler.select_destinations.start', 'instance.update',
                  'compute_task.build_instances', 'image.update'] * 10
        for event in events:
            notifier.info({}, event, {})
        wait_for(lambda: len(everything.calls) == len(events))
        wait_for(lambda: len(reaper.calls) == 20)
        self.assertEqual(len(events), len(set(everything.calls)))
        self.assertTrue(set(reaper.calls) <= set(everything.calls))


class RabbitMQFixtureTestCase(testtools.TestCase):

    def test_missing_server_fails_not_skips(self):
        self.useFixture(fixtures.MockPatchObject(
            rabbitmq, 'RABBITMQ_SERVER', '/nonexistent/rabbitmq-server'))
        exc = self.assertRaises(fixtures.MultipleExceptions,
                                rabbitmq.RabbitMQ().setUp)
        first = exc.args[0][1]
        self.assertIsInstance(first, rabbitmq.RabbitMQNotAvailable)
        self.assertIn('/nonexistent/rabbitmq-server', str(first))
        self.assertIn('apt-get install rabbitmq-server', str(first))
