"""Glance's notifications of an image arriving after its
``image.delete``: the engine's real Glance endpoint, called as
oslo.messaging calls it (one at a time and in batches).

An ``image.create`` or ``image.update`` that Glance sent before deleting
the image can be delivered after the ``image.delete`` (a redelivery, a
notification held in a queue, two engine hosts of one pool).  It used to
add the image to its family again, in ``testing``: a member that Glance
no longer has, offered to whoever asked for the family's images.
"""

import datetime
import os
import threading
import time

import fixtures
import hypothesis
from hypothesis import strategies as st
import sqlalchemy as sa

from image_family_svc.cmd import engine
from image_family_svc.db import families
from image_family_svc.db import ingest
from image_family_svc.db import members
from image_family_svc import listeners
from image_family_svc import service
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from svc_common import context
from svc_common.db import database
from svc_common.db import migration
from svc_common.tests.fixtures import backends
from svc_common.tests.fixtures import postgresql

IMAGES = ['img-%d' % n for n in range(3)]


def notification(kind, image_id, message_id, with_properties=True,
                 sent='2030-01-01 12:00:00'):
    """What oslo.messaging's batch listener hands the endpoint for
    Glance's ``image.<kind>`` of ``image_id`` (a deleted image's
    properties too, as Glance sends them, unless not
    ``with_properties``), stamped as sent at ``sent``."""
    if kind == 'delete':
        payload = {'id': image_id, 'status': 'deleted'}
        if with_properties:
            payload['properties'] = dict(base.PROPS,
                                         arbiter_family='centos-7')
    else:
        payload = test_engine.glance_payload(image_id, os_version='7.9')
    return {'ctxt': {}, 'publisher_id': 'image.localhost',
            'event_type': 'image.%s' % kind, 'payload': payload,
            'metadata': {'message_id': message_id, 'timestamp': sent}}


class TestLateNotifications(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.family('centos-7')
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.glance = listeners.GlanceEndpoint(
            self.fixture.conf, self.db, test_engine.RecordingNotifier())

    def deliver(self, *notices):
        """Deliver ``(kind, image, message id)`` one at a time."""
        for kind, image_id, message_id in notices:
            message = notification(kind, image_id, message_id)
            self.glance.info(message['ctxt'], message['publisher_id'],
                             message['event_type'], message['payload'],
                             message['metadata'])

    def assertGone(self, image_id):
        self.app.get('/v1/images/%s' % image_id, headers=base.ADMIN,
                     status=404)
        listed = self.app.get('/v1/families/centos-7/images',
                              headers=base.ADMIN).json['images']
        self.assertNotIn(image_id, [i['image_id'] for i in listed])

    def test_create_delivered_after_delete(self):
        # Sent create then delete; the create waited in a queue.
        self.deliver(('delete', 'img-1', 'm-2'), ('create', 'img-1', 'm-1'))
        self.assertGone('img-1')

    def test_update_delivered_after_delete_of_a_member(self):
        self.deliver(('create', 'img-1', 'm-1'), ('delete', 'img-1', 'm-3'),
                     ('update', 'img-1', 'm-2'))
        self.assertGone('img-1')

    def test_create_after_delete_in_one_batch(self):
        self.glance.handle_batch([notification('delete', 'img-1', 'm-2'),
                                  notification('create', 'img-1', 'm-1'),
                                  notification('create', 'img-2', 'm-3')])
        self.assertGone('img-1')
        self.assertEqual('testing', self.image('img-2')['state'])

    def test_other_images_still_join(self):
        self.deliver(('delete', 'img-1', 'm-1'), ('create', 'img-2', 'm-2'))
        self.assertGone('img-1')
        self.assertEqual('7.9', self.image('img-2')['version'])

    def retention(self, seconds):
        self.fixture.conf.set_override('processed_message_retention',
                                       seconds, 'image_family')
        self.addCleanup(self.fixture.conf.clear_override,
                        'processed_message_retention', 'image_family')

    def fake_clock(self):
        """``families.now()`` from now on is :attr:`clock`, which the
        test moves."""
        self.clock = families.now()
        self.useFixture(fixtures.MonkeyPatch(
            'image_family_svc.db.families.now', lambda: self.clock))

    def later(self, seconds):
        self.clock += datetime.timedelta(seconds=seconds)

    def test_purge_forgets_after_the_retention(self):
        self.fake_clock()
        self.deliver(('delete', 'img-1', 'm-1'))
        self.retention(60)
        # Not yet older than the retention: kept.
        engine.purge_messages(self.fixture.conf, self.db)
        self.deliver(('create', 'img-1', 'm-0'))
        self.assertGone('img-1')
        # Older than the retention, but not than the margin for clocks
        # that differ: kept.
        self.later(120)
        engine.purge_messages(self.fixture.conf, self.db)
        self.deliver(('create', 'img-1', 'm-2'))
        self.assertGone('img-1')
        self.later(ingest.CLOCK_MARGIN)
        engine.purge_messages(self.fixture.conf, self.db)
        # Forgotten (with the message ids): a notification of the image
        # sent within the retention is taken as it comes.
        self.deliver(('update', 'img-1', 'm-5'))
        self.assertEqual('testing', self.image('img-1')['state'])

    def deliver_sent(self, kind, image_id, message_id, sent):
        self.glance.handle_batch([notification(
            kind, image_id, message_id, sent=sent.isoformat(' '))])

    def test_join_sent_longer_ago_than_the_retention_is_dropped(self):
        self.fake_clock()
        self.retention(3600)
        log = self.useFixture(fixtures.FakeLogger(
            name='image_family_svc.listeners'))
        sent = self.clock
        # Glance sent the image's create, then its delete; the create
        # waited in a queue until the delete's record was forgotten.
        self.deliver_sent('delete', 'img-1', 'm-2',
                          sent + datetime.timedelta(seconds=1))
        self.later(3600 + ingest.CLOCK_MARGIN + 60)
        engine.purge_messages(self.fixture.conf, self.db)
        self.deliver_sent('create', 'img-1', 'm-1', sent)
        self.assertGone('img-1')
        self.assertIn('Dropped a Glance image.create notification (m-1) '
                      'of image img-1 in family centos-7: Glance sent it '
                      'at %s, longer ago than [image_family] '
                      'processed_message_retention (3600 s)'
                      % sent.isoformat(' '), log.output)
        # One sent within the retention joins; an image.delete is
        # applied however old.
        self.deliver_sent('create', 'img-2', 'm-3',
                          self.clock - datetime.timedelta(seconds=3500))
        self.assertEqual('testing', self.image('img-2')['state'])
        self.deliver_sent('delete', 'img-2', 'm-4', sent)
        self.assertGone('img-2')

    def test_nova_notification_older_than_the_retention_is_applied(self):
        # Dropping it could leave a running server uncounted (and its
        # image deletable under it); applied again after its record was
        # purged, it can only count a deleted server, until the usage
        # reconciliation: applied, with a warning that says so.
        self.fake_clock()
        self.retention(3600)
        self.add('centos-7', 'img-1', '7.1', state='active')
        log = self.useFixture(fixtures.FakeLogger(
            name='image_family_svc.listeners'))
        nova = listeners.NovaEndpoint(self.fixture.conf, self.db)
        sent = self.clock - datetime.timedelta(seconds=3601)
        nova.info({}, 'nova-compute:host', 'instance.create.end',
                  test_engine.nova_payload('vm-1', 'img-1'),
                  {'message_id': 'n-1', 'timestamp': sent.isoformat(' ')})
        self.assertEqual(1, self.image('img-1')['usage']['servers'])
        self.assertIn('Applying a Nova instance.create.end notification '
                      '(n-1) of server vm-1 sent at %s, longer ago than '
                      '[image_family] processed_message_retention (3600 s)'
                      % sent.isoformat(' '), log.output)


class TestTwoHostsAtOnce(base.ApiTestCase):
    """On PostgreSQL, an image's ``image.delete`` and its late
    ``image.create`` applied at the same time by two engine hosts."""

    def setUp(self):
        self.url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): self.url}
        super().setUp()
        self.family('centos-7')
        self.family('other')
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def endpoint(self):
        return listeners.GlanceEndpoint(self.fixture.conf, self.db,
                                        test_engine.RecordingNotifier())

    def waiting_on_locks(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE "
                "wait_event_type = 'Lock' AND "
                "datname = current_database()")).scalar()

    def wait_for(self, predicate, seconds=20):
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def race(self, held_sql, first, second):
        """Hold a row with ``held_sql`` in a transaction of its own;
        deliver ``first`` (one engine host) until it waits for that row,
        then ``second`` (another host) until it waits too or is done;
        then let go.  Both notifications must be handled."""
        holder = self.engine.connect()
        self.addCleanup(holder.close)
        holder.execute(sa.text(held_sql))
        results = {}

        def deliver(name, message):
            results[name] = self.endpoint().handle_batch([message])

        one = threading.Thread(target=deliver, args=('first', first))
        one.start()
        self.addCleanup(one.join, 30)
        self.assertTrue(self.wait_for(lambda: self.waiting_on_locks() == 1))
        two = threading.Thread(target=deliver, args=('second', second))
        two.start()
        self.addCleanup(two.join, 30)
        # Either it waits for the first (2 waiting), or it is done.
        self.wait_for(lambda: (not two.is_alive() or
                               self.waiting_on_locks() == 2))
        holder.rollback()
        one.join(30)
        two.join(30)
        self.assertEqual({'first': listeners.HANDLED,
                          'second': listeners.HANDLED}, results)

    #: Another transaction holds the image id in ``family_images``.
    HOLD_MEMBER = (
        "INSERT INTO family_images (image_id, family_id, state, "
        "properties, joined_at, state_changed_at) SELECT 'img-1', "
        "id, 'testing', '{}', now(), now() FROM families "
        "WHERE name = 'other'")

    def test_create_held_up_while_the_delete_is_applied(self):
        # The create's transaction has found no deletion and is held up
        # at its INSERT (another transaction holds the image id) when
        # the delete is applied on the second host: the delete used to
        # find no member, commit, and let the create commit a member
        # Glance no longer has.
        self.race(self.HOLD_MEMBER,
                  notification('create', 'img-1', 'm-1'),
                  notification('delete', 'img-1', 'm-2'))
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_create_held_up_while_a_delete_naming_no_family_is_applied(
            self):
        # As above, with an image.delete whose payload has no properties:
        # it had no family to lock, and the create still committed a
        # member after the delete had found none.
        self.race(self.HOLD_MEMBER,
                  notification('create', 'img-1', 'm-1'),
                  notification('delete', 'img-1', 'm-2',
                               with_properties=False))
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_late_create_applied_while_a_delete_is_held_up(self):
        # The other way round: the delete (naming no family) has found
        # no member and is held up at its record of the deletion when a
        # late create of the image is applied on the second host.  The
        # create used to find no record (not committed yet), join, and
        # commit a member the delete never saw.
        self.race("INSERT INTO glance_deleted_images (image_id, "
                  "deleted_at) VALUES ('img-1', now())",
                  notification('delete', 'img-1', 'm-2',
                               with_properties=False),
                  notification('create', 'img-1', 'm-1'))
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)

    def test_api_add_while_the_delete_is_held_up(self):
        # The delete (naming no family) has found no member and is held
        # up at its record of the deletion when a cloud administrator
        # adds the image to a family through the API.  The API's join
        # took no image lock: it found no record (not committed yet)
        # and committed a member Glance no longer has.
        holder = self.engine.connect()
        self.addCleanup(holder.close)
        holder.execute(sa.text(
            "INSERT INTO glance_deleted_images (image_id, deleted_at) "
            "VALUES ('img-1', now())"))
        results = {}

        def delete():
            results['delete'] = self.endpoint().handle_batch([notification(
                'delete', 'img-1', 'm-2', with_properties=False)])

        def add():
            results['add'] = self.app.post_json(
                '/v1/families/centos-7/images',
                {'image_id': 'img-1', 'version': '7.9', 'state': 'active',
                 'properties': base.PROPS},
                headers=base.ADMIN, expect_errors=True)

        one = threading.Thread(target=delete)
        one.start()
        self.addCleanup(one.join, 30)
        self.assertTrue(self.wait_for(lambda: self.waiting_on_locks() == 1))
        two = threading.Thread(target=add)
        two.start()
        self.addCleanup(two.join, 30)
        self.wait_for(lambda: (not two.is_alive() or
                               self.waiting_on_locks() == 2))
        holder.rollback()
        one.join(30)
        two.join(30)
        self.assertEqual(listeners.HANDLED, results['delete'])
        self.assertEqual(409, results['add'].status_int)
        self.assertEqual('image_family.image_deleted',
                         results['add'].json['errors'][0]['code'])
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)
        family = self.app.get('/v1/families/centos-7',
                              headers=base.ADMIN).json['family']
        self.assertIsNone(family['latest_id'])

    def test_join_into_a_family_deleted_meanwhile(self):
        # The family is deleted (committed) after the engine read it by
        # its name and while it waited for its lock: the join used the
        # family as read, and its INSERT failed on the deleted row
        # (a traceback, the notification requeued after 5 s) where
        # there is simply no such family.
        self.family('doomed')
        holder = self.engine.connect()
        self.addCleanup(holder.close)
        holder.execute(sa.text("DELETE FROM families WHERE name = 'doomed'"))
        message = notification('create', 'img-1', 'm-1')
        message['payload']['properties']['arbiter_family'] = 'doomed'
        results = {}

        def deliver():
            results['join'] = listeners.Batched(
                self.endpoint(), redelivery_delay=0).info([message])

        one = threading.Thread(target=deliver)
        one.start()
        self.addCleanup(one.join, 30)
        self.assertTrue(self.wait_for(lambda: self.waiting_on_locks() == 1))
        holder.commit()
        one.join(30)
        self.assertEqual({'join': listeners.HANDLED}, results)
        self.app.get('/v1/images/img-1', headers=base.ADMIN, status=404)


@st.composite
def lives(draw):
    """The notifications Glance sent about each image, in its order:
    ``[(kind, image, message id, with properties)]``, create first, then
    updates, and perhaps a delete (with the image's properties or
    without)."""
    sent = []
    for image_id in IMAGES:
        kinds = ['create'] + ['update'] * draw(st.integers(0, 2))
        if draw(st.booleans()):
            kinds.append('delete')
        with_properties = draw(st.booleans())
        sent += [(kind, image_id, '%s-m%d' % (image_id, n), with_properties)
                 for n, kind in enumerate(kinds)]
    return sent


class TestAnyOrder(base.ApiTestCase):
    """Glance's notifications of a few images delivered in any order,
    some twice, one at a time or in batches of any size: once all are
    delivered, the family holds exactly the images Glance did not
    delete."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.ctx = context.admin_context()
        self.runs = 0

    def fresh_endpoint(self):
        self.runs += 1
        url = 'sqlite:///%s' % os.path.join(self.tmp,
                                            'run-%d.db' % self.runs)
        migration.upgrade(service.SPEC, url)
        db = backends.database_at(self, url)
        families.create_family(db, self.ctx, 'centos-7', None, 'public', {})
        return db, listeners.GlanceEndpoint(
            self.fixture.conf, db, test_engine.RecordingNotifier())

    @hypothesis.settings(max_examples=80, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(lives(), st.data())
    def test_deleted_images_never_come_back(self, sent, data):
        db, endpoint = self.fresh_endpoint()
        delivery = data.draw(st.permutations(
            list(range(len(sent))) + data.draw(st.lists(
                st.integers(0, len(sent) - 1), max_size=4))))
        messages = [notification(*sent[i]) for i in delivery]
        while messages:
            size = data.draw(st.integers(1, len(messages)))
            batch, messages = messages[:size], messages[size:]
            if size == 1 and data.draw(st.booleans()):
                m = batch[0]
                endpoint.info(m['ctxt'], m['publisher_id'], m['event_type'],
                              m['payload'], m['metadata'])
            else:
                endpoint.handle_batch(batch)
        deleted = {image for kind, image, _m, _p in sent
                   if kind == 'delete'}
        views = members.list_family_images(
            db, self.ctx, families.get_family(db, self.ctx, 'centos-7'),
            100)
        self.assertEqual(sorted(set(IMAGES) - deleted),
                         sorted(v.row.image_id for v in views))
