"""The engine's Glance listener applied to batches of notifications, as
oslo.messaging's batch listener hands them: one transaction per batch,
each notification applied once (a message id seen earlier in the batch
or recorded already changes nothing), a refused image kept out without
holding back the others; and the engine's batch listener on a real
RabbitMQ."""

import threading
import time
import uuid

import fixtures
import oslo_messaging
import sqlalchemy as sa

from image_family_svc.cmd import engine
from image_family_svc.db import ingest
from image_family_svc.db import models
from image_family_svc import listeners
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from svc_common import context
from svc_common.db import database
from svc_common.messaging import bus
from svc_common.tests.fixtures import postgresql
from svc_common.tests.fixtures import rabbitmq

HANDLED = oslo_messaging.NotificationResult.HANDLED
REQUEUE = oslo_messaging.NotificationResult.REQUEUE


def message(event_type, payload, message_id=None):
    return {'ctxt': {}, 'publisher_id': 'image.localhost',
            'event_type': event_type, 'payload': payload,
            'metadata': {'message_id': message_id or str(uuid.uuid4()),
                         'timestamp': 'now'}}


def create(image_id, message_id=None, family='centos-7', **properties):
    payload = test_engine.glance_payload(image_id, **properties)
    payload['properties']['arbiter_family'] = family
    return message('image.create', payload, message_id)


class BatchTestCase(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.notifier = test_engine.RecordingNotifier()
        self.endpoint = listeners.Batched(listeners.GlanceEndpoint(
            self.fixture.conf, self.db, self.notifier))

    def history(self, image_id):
        return self.app.get('/v1/images/%s/transitions' % image_id,
                            headers=base.ADMIN).json

    def history_of_gone(self, image_id):
        """The recorded history of an image no longer in a family (the
        API answers 404 for it), oldest first."""
        with self.db.reader.using(context.admin_context()) as session:
            return [{'from': t.from_state, 'to': t.to_state}
                    for t in session.scalars(sa.select(
                        models.Transition).where(
                        models.Transition.image_id == image_id).order_by(
                        models.Transition.id))]

    def joined(self):
        return sorted(p['image_id'] for e, p in self.notifier.sent
                      if e == 'image_family.membership.join')


class TestBatch(BatchTestCase):

    def setUp(self):
        super().setUp()
        self.family('centos-7')

    def test_duplicate_and_refused_image_rest_applied_once(self):
        dup = str(uuid.uuid4())
        batch = [
            create('img-1', dup, os_version='7.1'),
            create('img-1', dup, os_version='7.1'),   # same message twice
            message('image.create', {'id': 'img-bad', 'properties': {
                'arbiter_family': 'centos-7', 'os_distro': 'centos'}}),
            create('img-2', os_version='7.2'),
            create('img-3', os_version='7.3', family='nope'),
            create('img-4', os_version='7.4'),
        ]
        self.assertEqual(HANDLED, self.endpoint.info(batch))
        self.assertEqual(['img-1', 'img-2', 'img-4'], self.joined())
        for image_id in ('img-bad', 'img-3'):
            self.app.get('/v1/images/%s' % image_id, headers=base.ADMIN,
                         status=404)
        self.assertEqual(1, len(self.history('img-1')['transitions']))
        # The whole batch delivered again changes nothing.
        sent = len(self.notifier.sent)
        self.assertEqual(HANDLED, self.endpoint.info(batch))
        self.assertEqual(sent, len(self.notifier.sent))
        self.assertEqual(1, len(self.history('img-1')['transitions']))
        self.assertEqual('testing', self.image('img-4')['state'])
        # A refused image stays out even when it comes again fixed under
        # its old message id.
        fixed = create('img-bad', batch[2]['metadata']['message_id'])
        self.endpoint.info([fixed])
        self.app.get('/v1/images/img-bad', headers=base.ADMIN, status=404)

    def test_join_then_delete_in_one_batch(self):
        self.add('centos-7', 'img-0', '7.0', state='active')
        batch = [create('img-1', os_version='7.1'),
                 message('image.delete', {'id': 'img-1'}),
                 message('image.delete', {'id': 'img-0'}),
                 message('image.delete', {'id': 'never-joined'})]
        self.assertEqual(HANDLED, self.endpoint.info(batch))
        for image_id in ('img-0', 'img-1'):
            self.app.get('/v1/images/%s' % image_id, headers=base.ADMIN,
                         status=404)
        self.assertEqual(
            ['image_family.membership.join',
             'image_family.membership.leave',
             'image_family.membership.leave'],
            [e for e, _ in self.notifier.sent])
        family = self.app.get('/v1/families/centos-7',
                              headers=base.ADMIN).json['family']
        self.assertIsNone(family['latest_id'])

    def test_image_given_to_another_project_within_the_batch(self):
        # Joined earlier in the batch (not inserted yet), then given to
        # another project: it leaves, and its history says so.
        self.family('own', headers=test_engine.OWN)
        joined = create('img-1', family='own')
        joined['payload']['owner'] = 'p1'
        given = create('img-1', family='own')
        given['event_type'] = 'image.update'
        given['payload']['owner'] = 'p2'
        kept = create('img-2', family='own')
        kept['payload']['owner'] = 'p1'
        self.assertEqual(HANDLED, self.endpoint.info([joined, kept, given]))
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)
        self.assertEqual([{'from': None, 'to': 'testing'},
                          {'from': 'testing', 'to': None}],
                         self.history_of_gone('img-1'))
        self.assertEqual('own', self.app.get(
            '/v1/images/img-2', headers=base.ADMIN).json['image']['family'])

    def test_bulk_joins_recorded_in_full_and_in_order(self):
        # Joins in testing are written in bulk; a leave, a join in a
        # family whose members the batch read, and a leave of an image
        # that joined earlier in the batch still see them in order.
        self.family('rocky-9')
        self.add('centos-7', 'img-0', '7.0', state='active')
        batch = [create('img-1', os_version='7.1'),
                 create('img-r1', family='rocky-9', os_version='9.1'),
                 message('image.delete', {'id': 'img-0'}),
                 create('img-2', os_version='7.2'),
                 message('image.delete', {'id': 'img-r1'}),
                 create('img-r2', family='rocky-9', os_version='9.2')]
        apply = self.useFixture(fixtures.MockPatchObject(
            ingest, 'apply', wraps=ingest.apply)).mock
        self.assertEqual(HANDLED, self.endpoint.info(batch))
        # In one transaction, not one by one after a failure.
        self.assertEqual(1, apply.call_count)
        self.assertEqual(
            [('image_family.membership.join', 'img-1'),
             ('image_family.membership.join', 'img-r1'),
             ('image_family.membership.leave', 'img-0'),
             ('image_family.membership.join', 'img-2'),
             ('image_family.membership.leave', 'img-r1'),
             ('image_family.membership.join', 'img-r2')],
            [(e, p['image_id']) for e, p in self.notifier.sent])
        self.app.get('/v1/images/img-r1', headers=base.ADMIN, status=404)
        self.app.get('/v1/images/img-0', headers=base.ADMIN, status=404)
        for image_id, family, version in (('img-1', 'centos-7', '7.1'),
                                          ('img-2', 'centos-7', '7.2'),
                                          ('img-r2', 'rocky-9', '9.2')):
            image = self.image(image_id)
            self.assertEqual((family, version, 'testing', None),
                             (image['family'], image['version'],
                              image['state'], image['successor_id']))
            self.assertEqual(version, image['properties']['os_version'])
            [joined] = self.history(image_id)['transitions']
            self.assertEqual(
                (None, 'testing', 'image-family-engine', 'glance',
                 'Announced by Glance (active).'),
                (joined['from'], joined['to'], joined['user_id'],
                 joined['cause'], joined['reason']))
        # img-r1 joined then left: both in its history, in that order.
        self.assertEqual(
            [(None, 'testing'), ('testing', None)],
            [(t['from'], t['to']) for t in
             self.history_of_gone('img-r1')])
        images = self.app.get('/v1/families/rocky-9/images',
                              headers=base.ADMIN).json['images']
        self.assertEqual(['img-r2'], [i['image_id'] for i in images])

    def test_malformed_notifications_are_dropped_not_requeued(self):
        # Each used to fail its batch and then itself, one by one, with
        # an exception (on PostgreSQL, a value too long for its column):
        # requeued, and delivered again at once, for ever.
        def props(**extra):
            return dict(base.PROPS, arbiter_family='centos-7', **extra)

        malformed = [
            message('image.create', 'garbage'),
            message('image.update', ['img-x']),
            message('image.create', {'id': ['img-x'],
                                     'properties': props()}),
            message('image.create', {'id': 'i' * 65, 'properties': props()}),
            message('image.create', {'id': 'img-x', 'properties': 'p'}),
            message('image.create', {'id': 'img-x', 'properties': dict(
                props(), arbiter_family=['centos-7'])}),
            message('image.create', {'id': 'img-x', 'properties': props(
                os_version='7.' + '9' * 300)}),
            message('image.delete', {'id': {'nested': 'img-x'}}),
            dict(message('image.create', {'id': 'img-x',
                                          'properties': props()}),
                 metadata={'message_id': 'm' * 256}),
            # What no database stores (PostgreSQL: no NUL in text; no
            # database encodes a lone surrogate): the batch, then the
            # notification alone, failed and was requeued for ever.
            message('image.create', {'id': 'img-x\x00',
                                     'properties': props()}),
            message('image.create', {'id': 'img-x\ud800',
                                     'properties': props()}),
            message('image.delete', {'id': 'img-x\x00'}),
            message('image.create', {'id': 'img-x', 'properties': props(
                os_version='7.\x00')}),
            message('image.create', {'id': 'img-x', 'properties': props(
                os_version='7.\udfff')}),
            message('image.create', {'id': 'img-x', 'properties': dict(
                props(), arbiter_family='centos-7\x00')}),
            message('image.create', {'id': 'img-x', 'owner': 'p1\x00',
                                     'properties': props()}),
            dict(message('image.create', {'id': 'img-x',
                                          'properties': props()}),
                 metadata={'message_id': 'm-\x00'}),
        ]
        batch = malformed + [create('img-1', os_version='7.1')]
        with self.assertLogs(listeners.LOG, 'WARNING') as logs:
            self.assertEqual(HANDLED, self.endpoint.info(batch))
        self.assertEqual(len(malformed), sum(
            'malformed' in line for line in logs.output))
        self.assertEqual(['img-1'], self.joined())
        self.app.get('/v1/images/img-x', headers=base.ADMIN, status=404)
        # Each on its own (info(), one message) is acknowledged too.
        for m in malformed:
            self.assertEqual(HANDLED, self.endpoint.endpoint.info(
                m['ctxt'], m['publisher_id'], m['event_type'],
                m['payload'], m['metadata']))
        self.assertEqual(['img-1'], self.joined())

    def test_nova_ids_no_database_stores_are_dropped(self):
        # A NUL (PostgreSQL) or a lone surrogate (any database) in an id
        # failed the notification, which was requeued for ever.
        nova = listeners.Batched(listeners.NovaEndpoint(
            self.fixture.conf, self.db, self.notifier))
        self.family('rocky-9')
        for server_id, image_id, message_id in (
                ('vm-1\x00', 'img-1', None), ('vm-1\ud800', 'img-1', None),
                ('vm-1', 'img-1\x00', None), ('vm-1', 'img-1\udc00', None),
                ('vm-1', 'img-1', 'm-\x00')):
            for event_type in ('instance.create.start',
                               'instance.create.end',
                               'instance.rebuild.end',
                               'instance.delete.end'):
                batch = [message(event_type,
                                 test_engine.nova_payload(server_id,
                                                          image_id),
                                 message_id)]
                with self.assertLogs(listeners.LOG, 'WARNING') as logs:
                    self.assertEqual(HANDLED, nova.info(batch))
                self.assertIn('malformed', logs.output[0])

    def test_failed_batch_applied_one_by_one(self):
        real = ingest.apply

        def fail_batches(db, ctx, endpoint, notices, state, cause):
            if len(notices) > 1 or notices[0].image_id == 'img-2':
                raise RuntimeError('database refused')
            return real(db, ctx, endpoint, notices, state, cause)

        self.useFixture(fixtures.MockPatchObject(ingest, 'apply',
                                                 fail_batches))
        batch = [create('img-1'), create('img-2'), create('img-3')]
        # img-2 fails: the batch is requeued, the others are in.
        self.assertEqual(REQUEUE, self.endpoint.info(batch))
        self.assertEqual(['img-1', 'img-3'], self.joined())
        self.useFixture(fixtures.MockPatchObject(ingest, 'apply', real))
        # The redelivery applies img-2 only.
        self.assertEqual(HANDLED, self.endpoint.info(batch))
        self.assertEqual(['img-1', 'img-2', 'img-3'], self.joined())


class TestBatchActive(BatchTestCase):
    """Joining ``active``: the family's latest and retention follow
    each join of the batch."""

    OVERRIDES = {('image_family', 'initial_state'): 'active'}

    def test_latest_and_retention_within_a_batch(self):
        self.family('centos-7', keep_superseded=1)
        self.add('centos-7', 'img-0', '7.0', state='active')
        batch = [create('img-2', os_version='7.2'),
                 create('img-1', os_version='7.1'),
                 create('img-3', os_version='7.3')]
        self.assertEqual(HANDLED, self.endpoint.info(batch))
        self.assertEqual('img-3', self.latest('centos-7')['image_id'])
        states = {i: self.image(i)['state']
                  for i in ('img-0', 'img-1', 'img-2', 'img-3')}
        self.assertEqual({'img-0': 'obsolete', 'img-1': 'obsolete',
                          'img-2': 'active', 'img-3': 'active'}, states)
        self.assertEqual('img-3', self.image('img-1')['successor_id'])


class _OnPostgreSQL(object):
    """The same cases on PostgreSQL (multi-row INSERTs, row locks)."""

    def setUp(self):
        url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = dict(self.OVERRIDES)
        self.OVERRIDES[('database', 'connection')] = url
        super().setUp()


class TestBatchPostgreSQL(_OnPostgreSQL, TestBatch):

    def test_same_batch_on_two_hosts_at_once_applied_once(self):
        # A redelivery handled by a second engine while the first still
        # holds the batch: each image joins once, whichever wins.
        other = listeners.Batched(listeners.GlanceEndpoint(
            self.fixture.conf, self.db, self.notifier))
        batch = [create('img-%02d' % n, os_version='7.%d' % n)
                 for n in range(30)]
        barrier = threading.Barrier(2)
        results = []

        def deliver(endpoint):
            barrier.wait()
            results.append(endpoint.info(batch))

        threads = [threading.Thread(target=deliver, args=(e,))
                   for e in (self.endpoint, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([HANDLED, HANDLED], results)
        self.assertEqual(sorted('img-%02d' % n for n in range(30)),
                         self.joined())
        for image_id in ('img-00', 'img-29'):
            self.assertEqual(1, len(self.history(image_id)['transitions']))


class TestBatchActivePostgreSQL(_OnPostgreSQL, TestBatchActive):
    pass


class TestBatchListenerOnRabbitMQ(base.ApiTestCase):

    def _on_the_bus(self, batch_size):
        """The engine's conf on the shared broker, listening on a topic
        of this test's own (on the exchange this conf's notifier
        publishes on), with family ``centos-7``: ``(conf, transport,
        topic, db, notifier)``."""
        broker = rabbitmq.get_shared_broker()
        conf = self.fixture.conf
        conf.set_override('transport_url', broker.url)
        transport = bus.get_notification_transport(conf)
        self.addCleanup(transport.cleanup)
        topic = 'glance_%s' % uuid.uuid4().hex[:8]
        conf.set_override('glance_exchange', conf.control_exchange,
                          group='image_family')
        conf.set_override('glance_topics', [topic], group='image_family')
        conf.set_override('listener_batch_size', batch_size,
                          group='image_family')
        self.family('centos-7')
        db = database.Database(conf)
        self.addCleanup(db.dispose)
        return conf, transport, topic, db, test_engine.RecordingNotifier()

    def test_engine_ingests_batches_from_the_bus(self):
        conf, transport, topic, db, notifier = self._on_the_bus(7)
        runner = engine.build_runner(conf, db, notifier=notifier)
        [worker] = [w for w in runner.workers
                    if isinstance(w, engine.BatchListener)]
        runner.start()
        self.addCleanup(runner.stop)
        sender = oslo_messaging.Notifier(
            transport, 'image.localhost', driver='messagingv2',
            topics=[topic])
        time.sleep(1)
        ids = ['img-%02d' % i for i in range(20)]
        for image_id in ids:
            sender.info({}, 'image.create', test_engine.glance_payload(
                image_id, os_version=image_id))
        deadline = time.monotonic() + 30
        found = []
        while time.monotonic() < deadline:
            found = self.app.get('/v1/families/centos-7/images?limit=100',
                                 headers=base.ADMIN).json['images']
            if len(found) == len(ids):
                break
            time.sleep(0.1)
        self.assertEqual(ids, sorted(i['image_id'] for i in found))
        self.assertIsNotNone(worker.listener)
        # Every join announced, in the order Glance announced the images,
        # by the time the engine has stopped.
        runner.stop()
        self.assertEqual(
            [('image_family.membership.join', i) for i in ids],
            [(e, p['image_id']) for e, p in notifier.sent])

    def test_batches_applied_in_the_order_they_arrive(self):
        # Each image's image.create comes in one batch and its
        # image.delete in the next; the creates are slow to apply.  With
        # one batch at a time ([image_family] listener_workers, default
        # 1) no delete overtakes its create, so no deleted image stays in
        # the family.
        conf, transport, topic, db, notifier = self._on_the_bus(1)
        listener = engine.BatchListener(
            conf, listeners.targets(conf),
            [SlowCreates(conf, db, notifier)], listeners.POOL)
        listener.start()
        self.addCleanup(listener.stop)
        sender = oslo_messaging.Notifier(
            transport, 'image.localhost', driver='messagingv2',
            topics=[topic])
        time.sleep(1)
        ids = ['img-%02d' % i for i in range(4)]
        for image_id in ids:
            sender.info({}, 'image.create', test_engine.glance_payload(
                image_id, os_version=image_id))
            sender.info({}, 'image.delete', {'id': image_id})
        deadline = time.monotonic() + 30
        while (time.monotonic() < deadline and
               len(notifier.sent) < 2 * len(ids)):
            time.sleep(0.1)
        self.assertEqual(
            [(e, i) for i in ids for e in ('image_family.membership.join',
                                           'image_family.membership.leave')],
            [(e, p['image_id']) for e, p in notifier.sent])
        images = self.app.get('/v1/families/centos-7/images',
                              headers=base.ADMIN).json['images']
        self.assertEqual([], images)


class SlowCreates(listeners.GlanceEndpoint):
    """The Glance endpoint, taking 0.3 s more over a batch with an
    image.create: a later batch on another worker would overtake it."""

    def handle_batch(self, messages):
        if any(m['event_type'] == 'image.create' for m in messages):
            time.sleep(0.3)
        return super().handle_batch(messages)
