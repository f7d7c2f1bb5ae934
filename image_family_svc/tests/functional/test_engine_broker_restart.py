"""image-family-engine across a restart of its RabbitMQ broker, and
while it is down.

A private broker (it is stopped and started), durable queues as the
operator guide asks for (``[oslo_messaging_rabbit] amqp_durable_queues``,
set the same in every service of the cloud).  Glance's side is an
``oslo_messaging.Notifier`` on the exchange and topic the engine listens
to, as Glance publishes.  The engine is the real one
(:func:`image_family_svc.cmd.engine.build_runner`): its batch listener,
its database, its announcements.
"""

import datetime
import threading
import time

import fixtures
import oslo_messaging

from image_family_svc.cmd import engine
from image_family_svc import glance
from image_family_svc import notifications
from image_family_svc import service
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from svc_common import config
from svc_common.db import database
from svc_common.messaging import bus
from svc_common.tests.fixtures import rabbitmq

WAIT = 60


class BrokerTestCase(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.broker = self.useFixture(rabbitmq.RabbitMQ(name='imagefamily'))
        conf = self.conf = self.fixture.conf
        conf.set_override('transport_url', self.broker.url)
        conf.set_override('amqp_durable_queues', True,
                          group='oslo_messaging_rabbit')
        conf.set_override('glance_exchange', 'glance', group='image_family')
        conf.set_override('glance_topics', ['notifications'],
                          group='image_family')
        self.family('centos-7')
        self.db = database.Database(conf)
        self.addCleanup(self.db.dispose)
        self.notifier = test_engine.RecordingNotifier()
        transport = bus.get_notification_transport(conf)
        self.addCleanup(transport.cleanup)
        # Glance's notifier: its own transport, on exchange "glance".
        glance_conf = config.build_conf(service.SPEC, overrides={
            (None, 'transport_url'): self.broker.url,
            (None, 'control_exchange'): 'glance',
            ('oslo_messaging_rabbit', 'amqp_durable_queues'): True})
        self.glance_transport = bus.get_notification_transport(glance_conf)
        self.addCleanup(self.glance_transport.cleanup)
        self.glance = oslo_messaging.Notifier(
            self.glance_transport, 'image.localhost', driver='messagingv2',
            topics=['notifications'])

    def start_engine(self):
        runner = engine.build_runner(self.conf, self.db,
                                     notifier=self.notifier)
        runner.start()
        self.addCleanup(runner.stop)
        return runner

    def publish(self, ids):
        for image_id in ids:
            self.glance.info({}, 'image.create', test_engine.glance_payload(
                image_id, os_version=image_id))

    def members(self):
        return sorted(i['image_id'] for i in self.app.get(
            '/v1/families/centos-7/images?limit=1000',
            headers=base.ADMIN).json['images'])

    def wait_for_members(self, ids):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.members() == sorted(ids):
                return
            time.sleep(0.2)
        self.assertEqual(sorted(ids), self.members())

    def joins(self):
        return [p['image_id'] for e, p in self.notifier.sent
                if e == 'image_family.membership.join']


class TestBrokerRestart(BrokerTestCase):

    def test_a_running_engine_loses_nothing_across_a_restart(self):
        runner = self.start_engine()
        time.sleep(1)
        first = ['img-a%02d' % i for i in range(10)]
        self.publish(first)
        self.wait_for_members(first)

        self.broker.stop()
        # Glance publishes while the broker is down: its notifier retries
        # until the broker is back.
        second = ['img-b%02d' % i for i in range(10)]
        publisher = threading.Thread(target=self.publish, args=(second,))
        publisher.start()
        self.broker.start()
        publisher.join(WAIT)
        self.assertFalse(publisher.is_alive(), 'Glance still blocked')
        third = ['img-c%02d' % i for i in range(10)]
        self.publish(third)

        self.wait_for_members(first + second + third)
        runner.stop()
        # Each image joined, and was announced, once.
        self.assertEqual(sorted(first + second + third),
                         sorted(self.joins()))

    def test_notifications_queued_while_the_engine_is_down_survive(self):
        runner = self.start_engine()
        time.sleep(1)
        first = ['img-a%02d' % i for i in range(10)]
        self.publish(first)
        self.wait_for_members(first)
        runner.stop()

        # Published while no engine runs: they wait in the engine's
        # durable queue, and stay there across the broker's restart.
        queued = ['img-q%02d' % i for i in range(10)]
        self.publish(queued)
        self.broker.stop()
        self.broker.start()

        runner = self.start_engine()
        later = ['img-z%02d' % i for i in range(5)]
        self.publish(later)
        self.wait_for_members(first + queued + later)
        runner.stop()
        self.assertEqual(sorted(first + queued + later),
                         sorted(self.joins()))


class RecordingDriver(glance.GlanceDriver):
    """A Glance driver that records the events it is handed."""

    def __init__(self):
        self.seen = []

    def event(self, event):
        self.seen.append((event.event_type, event.payload['image_id']))


class Captured(object):
    """A notification endpoint that records the engine's announcements."""

    def __init__(self):
        self.sent = []

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.sent.append((event_type, payload.get('image_id')))


class TestBrokerDown(BrokerTestCase):
    """The engine's announcements wait for RabbitMQ; nothing else does.

    The engine announces through a real notifier (``messagingv2``,
    retrying until the broker is back, the engine's default), and a
    listener with a durable queue of its own (declared before the
    broker stops) records what it announces.  Its Glance driver records
    what it is handed.
    """

    def setUp(self):
        super().setUp()
        conf = self.conf
        conf.set_override('schedule_interval', 1, group='image_family')
        # The engine's default (API processes make theirs 1).
        conf.set_override('retry', -1, group='oslo_messaging_notifications')
        self.driver = RecordingDriver()
        self.useFixture(fixtures.MockPatchObject(
            glance, 'load_driver', lambda conf, db: self.driver))
        transport = bus.get_notification_transport(conf)
        self.addCleanup(transport.cleanup)
        conf.set_override('driver', ['messagingv2'],
                          group='oslo_messaging_notifications')
        self.engine_notifier = bus.get_notifier(
            conf, bus.publisher_id(service.SPEC), driver=None,
            transport=transport, wait_for_broker=True)
        self.captured = Captured()
        listener = bus.get_notification_listener(
            conf, transport, ['notifications'], [self.captured],
            pool='captured')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        for n in (1, 2):
            self.add_image('img-%d' % n, '7.%d' % n)

    def add_image(self, image_id, version):
        self.app.post_json('/v1/families/centos-7/images', {
            'image_id': image_id, 'version': version, 'state': 'active',
            'properties': dict(base.PROPS, os_version=version)},
            headers=base.ADMIN)

    def start_engine(self):
        runner = engine.build_runner(self.conf, self.db,
                                     notifier=self.engine_notifier)
        runner.start()
        self.addCleanup(runner.stop)
        return runner

    def deprecate_soon(self, *image_ids):
        at = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(seconds=2)).strftime('%Y-%m-%dT%H:%M:%SZ')
        for image_id in image_ids:
            self.move(image_id, 'deprecated', at=at)

    def wait(self, predicate, what, seconds=WAIT):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        self.fail('waited %d s for %s' % (seconds, what))

    def deprecations(self, seen):
        return sorted(i for e, i in seen
                      if e == notifications.TRANSITION)

    def test_schedule_and_glance_go_on_while_the_broker_is_down(self):
        runner = self.start_engine()
        self.deprecate_soon('img-1', 'img-2')
        self.broker.stop()
        self.wait(lambda: [self.image(i)['state'] for i in
                           ('img-1', 'img-2')] == ['deprecated'] * 2,
                  'the scheduled transitions')
        # The announcement of the first waits for RabbitMQ; the Glance
        # writes of both are made meanwhile.
        self.wait(lambda: self.deprecations(self.driver.seen) ==
                  ['img-1', 'img-2'], 'both Glance writes', seconds=15)
        self.assertEqual([], self.deprecations(self.captured.sent))
        self.broker.start()
        self.wait(lambda: self.deprecations(self.captured.sent) ==
                  ['img-1', 'img-2'], 'both announcements')
        runner.stop()
        self.assertEqual(['img-1', 'img-2'],
                         self.deprecations(self.captured.sent))

    def test_stop_while_the_broker_is_down_ends(self):
        self.useFixture(fixtures.MockPatchObject(notifications,
                                                 'STOP_WAIT', 2))
        log = self.useFixture(fixtures.FakeLogger())
        runner = self.start_engine()
        self.deprecate_soon('img-1')
        self.broker.stop()
        self.addCleanup(self.broker.start)
        self.wait(lambda: self.deprecations(self.driver.seen) == ['img-1'],
                  'the Glance write')
        stopping = threading.Thread(target=runner.stop)
        stopping.start()
        stopping.join(WAIT)
        self.assertFalse(stopping.is_alive(), 'the engine does not stop')
        self.assertIn('image-family-announcer stopped with 1 '
                      'announcement(s) not sent', log.output)
