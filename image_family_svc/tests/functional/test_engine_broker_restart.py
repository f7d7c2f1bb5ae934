"""image-family-engine across a restart of its RabbitMQ broker.

A private broker (it is stopped and started), durable queues as the
operator guide asks for (``[oslo_messaging_rabbit] amqp_durable_queues``,
set the same in every service of the cloud).  Glance's side is an
``oslo_messaging.Notifier`` on the exchange and topic the engine listens
to, as Glance publishes.  The engine is the real one
(:func:`image_family_svc.cmd.engine.build_runner`): its batch listener,
its database, its announcements.
"""

import threading
import time

import oslo_messaging

from image_family_svc.cmd import engine
from image_family_svc import service
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from svc_common import config
from svc_common.db import database
from svc_common.messaging import bus
from svc_common.tests.fixtures import rabbitmq

WAIT = 60


class TestBrokerRestart(base.ApiTestCase):

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
