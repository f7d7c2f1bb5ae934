"""image-family-engine while its PostgreSQL refuses connections for a
while (a restart, a failover: ``ALTER DATABASE ... ALLOW_CONNECTIONS
false``): a notification that arrives meanwhile is delivered again every
few seconds with one warning line, not many times a second with a
traceback each time, and is applied once the database is back."""

import threading
import time
import uuid

import fixtures
import oslo_messaging
import sqlalchemy as sa

from image_family_svc.cmd import engine
from image_family_svc import listeners
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from image_family_svc.tests.functional import test_engine_batch
from svc_common.db import database
from svc_common.messaging import bus
from svc_common.tests.fixtures import postgresql
from svc_common.tests.fixtures import rabbitmq

HANDLED = oslo_messaging.NotificationResult.HANDLED
REQUEUE = oslo_messaging.NotificationResult.REQUEUE


class CountingGlance(listeners.GlanceEndpoint):
    """The Glance endpoint, counting the batches handed to it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = 0
        self.lock = threading.Lock()

    def handle_batch(self, messages):
        with self.lock:
            self.batches += 1
        return super().handle_batch(messages)


class DatabaseAwayTestCase(base.ApiTestCase):

    def setUp(self):
        self.database = self.useFixture(postgresql.Database())
        self.OVERRIDES = {('database', 'connection'): self.database.url}
        super().setUp()
        self.admin = sa.create_engine(
            postgresql.shared_server().admin_url,
            isolation_level='AUTOCOMMIT')
        self.addCleanup(self.admin.dispose)
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.notifier = test_engine.RecordingNotifier()
        self.family('centos-7')
        self.log = self.useFixture(fixtures.FakeLogger())

    def allow_connections(self, allowed):
        with self.admin.connect() as conn:
            conn.execute(sa.text(
                'ALTER DATABASE "%s" ALLOW_CONNECTIONS %s'
                % (self.database.name, 'true' if allowed else 'false')))
            if not allowed:
                conn.execute(sa.text(
                    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                    'WHERE datname = :name'), {'name': self.database.name})

    def refuse_connections(self):
        self.allow_connections(False)
        self.addCleanup(self.allow_connections, True)


class TestEndpointsWhileDatabaseAway(DatabaseAwayTestCase):
    """Each endpoint as the batch listener calls it."""

    def test_glance_batch_requeued_after_the_delay(self):
        endpoint = listeners.Batched(listeners.GlanceEndpoint(
            self.fixture.conf, self.db, self.notifier), redelivery_delay=1)
        batch = [test_engine_batch.create('img-%d' % n, os_version='7.%d' % n)
                 for n in range(3)]
        self.refuse_connections()
        start = time.monotonic()
        self.assertEqual(REQUEUE, endpoint.info(batch))
        self.assertGreaterEqual(time.monotonic() - start, 1)
        self.assertIn('A batch of 3 notifications was not handled, the '
                      'database failed', self.log.output)
        self.assertNotIn('Traceback', self.log.output)
        self.allow_connections(True)
        self.assertEqual(HANDLED, endpoint.info(batch))
        self.assertEqual(['img-0', 'img-1', 'img-2'], sorted(
            i['image_id'] for i in self.app.get(
                '/v1/families/centos-7/images',
                headers=base.ADMIN).json['images']))

    def test_nova_batch_requeued_after_the_delay(self):
        self.add('centos-7', 'img-1', '7.9', state='active')
        endpoint = listeners.Batched(listeners.NovaEndpoint(
            self.fixture.conf, self.db, self.notifier), redelivery_delay=1)
        batch = [test_engine_batch.message(
            'instance.create.end', test_engine.nova_payload(vm, 'img-1'))
            for vm in ('vm-1', 'vm-2')]
        self.refuse_connections()
        self.assertEqual(REQUEUE, endpoint.info(batch))
        self.assertIn('A batch of 2 notifications was not handled, the '
                      'database failed', self.log.output)
        self.assertNotIn('Traceback', self.log.output)
        self.allow_connections(True)
        self.assertEqual(HANDLED, endpoint.info(batch))
        self.assertEqual(2, self.image('img-1')['usage']['servers'])


class TestEngineWhileDatabaseAway(DatabaseAwayTestCase):
    """The engine's batch listener on a real RabbitMQ."""

    def test_a_notification_waits_for_the_database(self):
        conf = self.fixture.conf
        conf.set_override('transport_url',
                          rabbitmq.get_shared_broker().url)
        transport = bus.get_notification_transport(conf)
        self.addCleanup(transport.cleanup)
        topic = 'glance_%s' % uuid.uuid4().hex[:8]
        conf.set_override('glance_exchange', conf.control_exchange,
                          group='image_family')
        conf.set_override('glance_topics', [topic], group='image_family')
        glance = CountingGlance(conf, self.db, self.notifier)
        listener = engine.BatchListener(conf, listeners.targets(conf),
                                        [glance], listeners.POOL)
        listener.start()
        self.addCleanup(listener.stop)
        sender = oslo_messaging.Notifier(
            transport, 'image.localhost', driver='messagingv2',
            topics=[topic])
        time.sleep(1)
        self.refuse_connections()
        sender.info({}, 'image.create',
                    test_engine.glance_payload('img-1', os_version='7.9'))
        deadline = time.monotonic() + 10
        while not glance.batches and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(glance.batches)
        time.sleep(3)
        # Requeued at once, it came back several times a second.
        self.assertLessEqual(glance.batches, 2)
        self.assertNotIn('Traceback', self.log.output)
        self.allow_connections(True)
        deadline = time.monotonic() + 20
        images = []
        while not images and time.monotonic() < deadline:
            time.sleep(0.2)
            images = self.app.get('/v1/families/centos-7/images',
                                  headers=base.ADMIN).json['images']
        self.assertEqual(['img-1'], [i['image_id'] for i in images])
