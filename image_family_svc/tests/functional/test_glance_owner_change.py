"""Which images join and leave families from a real Glance's
notifications (:class:`svc_common.tests.fixtures.glance.Glance`, on a
RabbitMQ).

A member given to another project leaves its project's family, also
when the administrator drops the family property in the same change.
A system-owned family takes only public images (which only
administrators make): any project could put its own image in the
cloud's family by setting the family property.

Glance 33's ``image.update`` carries the image's ``owner`` and its
custom properties (``glance.notifier.format_image_notification``): the
notification of such a change names no family, and the engine did
nothing with it, so the first project's members went on moving, hiding
and at the end deleting the other project's image with the service's
credentials.  The notifications are the ones Glance sent, handed to the
engine's Glance endpoint as its listener hands them.
"""

from image_family_svc import listeners
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from svc_common.db import database
from svc_common.tests.fixtures import glance as glance_fixture
from svc_common.tests.fixtures import notifications
from svc_common.tests.fixtures import rabbitmq

TINY = b'\0' * 1024


class TestOwnerChangeInGlance(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        broker = self.useFixture(rabbitmq.SharedRabbitMQ())
        self.capture = self.useFixture(notifications.NotificationCapture(
            broker.url, ['notifications'], exchange='glance'))
        self.glance = self.useFixture(glance_fixture.Glance(
            notification_transport_url=broker.url))
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.notifier = test_engine.RecordingNotifier()
        self.endpoint = listeners.GlanceEndpoint(self.fixture.conf, self.db,
                                                 self.notifier)
        self.family('own', headers=test_engine.OWN)
        self.p1 = self.glance.identity_headers(project_id='p1',
                                               user_id='u1',
                                               roles='member,reader')

    def deliver(self, event_type, image_id, where=lambda payload: True):
        """Hand the first ``event_type`` notification Glance sent of
        ``image_id`` whose payload is ``where`` (its upload sends an
        ``image.update`` too) to the engine's endpoint; returns its
        payload."""
        [message] = self.capture.wait_for(
            lambda m: (m.event_type == event_type and
                       m.payload.get('id') == image_id and
                       where(m.payload)))[:1]
        self.endpoint.handle_batch([{'event_type': message.event_type,
                                     'payload': message.payload,
                                     'metadata': message.metadata}])
        return message.payload

    def test_given_away_without_its_family_property_it_leaves(self):
        image_id = self.glance.create_image(
            data=TINY, identity=self.p1, visibility='private',
            arbiter_family='own', **base.PROPS)
        self.addCleanup(self.glance.delete_image, image_id)
        self.deliver('image.activate', image_id)
        self.assertEqual('own', self.image(image_id,
                                           headers=test_engine.OWN)['family'])
        self.notifier.sent[:] = []
        # The administrator gives it to p2 and drops the property.
        self.glance.update_image(image_id, [
            {'op': 'replace', 'path': '/owner', 'value': 'p2'},
            {'op': 'remove', 'path': '/arbiter_family'}])
        payload = self.deliver('image.update', image_id,
                               lambda p: p['owner'] == 'p2')
        self.assertNotIn('arbiter_family', payload['properties'])
        self.app.get('/v1/images/%s' % image_id, headers=test_engine.OWN,
                     status=404)
        self.assertEqual([('image_family.membership.leave', image_id)],
                         [(event_type, sent['image_id'])
                          for event_type, sent in self.notifier.sent])

    def test_system_family_takes_public_images_only(self):
        # Any project may set the family property on an image of its
        # own; only an administrator makes an image public.  p1's
        # private or community image joined the cloud's family (and with
        # initial_state = active became the latest everyone boots).
        self.family('centos-7')
        for visibility in ('private', 'community', 'shared'):
            image_id = self.glance.create_image(
                data=TINY, identity=self.p1, visibility=visibility,
                arbiter_family='centos-7', **base.PROPS)
            self.addCleanup(self.glance.delete_image, image_id)
            payload = self.deliver('image.activate', image_id)
            self.assertEqual(visibility, payload['visibility'])
            self.app.get('/v1/images/%s' % image_id, headers=base.ADMIN,
                         status=404)
        # The cloud's own image (public, made by an administrator).
        image_id = self.glance.create_image(data=TINY,
                                            arbiter_family='centos-7',
                                            **base.PROPS)
        self.addCleanup(self.glance.delete_image, image_id)
        self.deliver('image.activate', image_id)
        self.assertEqual('centos-7', self.image(image_id)['family'])

    def test_property_dropped_by_its_owner_changes_nothing(self):
        # The image is still p1's: the family keeps it (the property is
        # how an image joins, not what keeps it a member).
        image_id = self.glance.create_image(
            data=TINY, identity=self.p1, visibility='private',
            arbiter_family='own', **base.PROPS)
        self.addCleanup(self.glance.delete_image, image_id)
        self.deliver('image.activate', image_id)
        self.glance.update_image(image_id, [
            {'op': 'remove', 'path': '/arbiter_family'}], identity=self.p1)
        self.deliver('image.update', image_id,
                     lambda p: 'arbiter_family' not in p['properties'])
        self.assertEqual('own', self.image(image_id,
                                           headers=test_engine.OWN)['family'])
