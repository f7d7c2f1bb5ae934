"""Times in image_family_svc's answers and notifications: ISO 8601 UTC in
whole seconds with Z, as the other services write them
(:mod:`svc_common.isotime`); kept precisely where lists are paged."""

import datetime
import re

import sqlalchemy as sa
import testtools

from image_family_svc.db import models
from image_family_svc import notifications
from image_family_svc.tests.functional import base
from svc_common import context
from svc_common.db import database

SECONDS = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:'
                     r'[0-9]{2}Z$')


class TestAnswers(base.ApiTestCase):

    def assertSeconds(self, value):
        self.assertRegex(value, SECONDS)

    def test_every_time_of_an_answer_is_in_seconds(self):
        family = self.family('centos-7')
        self.add('centos-7', 'img-0', '7.0')
        self.add('centos-7', 'img-1', '7.1')
        self.move('img-0', 'active')
        moved = self.app.patch_json('/v1/families/centos-7',
                                    {'description': 'x'},
                                    headers=base.ADMIN).json['family']
        self.assertSeconds(family['created_at'])
        self.assertSeconds(moved['updated_at'])
        shown = self.app.get('/v1/families/centos-7',
                             headers=base.ADMIN).json['family']
        self.assertSeconds(shown['created_at'])
        self.assertSeconds(shown['updated_at'])
        image = self.image('img-0')
        self.assertSeconds(image['joined_at'])
        self.assertSeconds(image['state_changed_at'])
        listed = self.app.get('/v1/families/centos-7/images',
                              headers=base.ADMIN).json['images']
        for item in listed:
            self.assertSeconds(item['joined_at'])
            self.assertSeconds(item['state_changed_at'])
        history = self.app.get('/v1/images/img-0/transitions',
                               headers=base.ADMIN).json
        self.assertNotEqual([], history['transitions'])
        for transition in history['transitions']:
            self.assertSeconds(transition['at'])

    def test_a_scheduled_time_as_printed_is_taken_back(self):
        self.family('centos-7')
        self.add('centos-7', 'img-0', '7.0')
        self.add('centos-7', 'img-1', '7.1')
        at = '2099-01-01T00:00:00Z'
        scheduled = self.move('img-0', 'active', at=at)['scheduled']
        self.assertEqual(at, scheduled['at'])
        [shown] = self.image('img-0')['scheduled']
        self.assertEqual(at, shown['at'])
        # What was printed is taken again as it is.
        again = self.move('img-1', 'active', at=shown['at'])
        self.assertEqual(at, again['scheduled']['at'])

    def test_pages_of_images_that_joined_within_one_second(self):
        """The list is paged in the order the images joined: the marker's
        place is its precise time, kept in the database, not the seconds
        an answer shows."""
        self.family('centos-7')
        ids = ['img-%d' % n for n in range(5)]
        for image_id in ids:
            self.add('centos-7', image_id, image_id)
        # One second, in an order the ids do not have.
        second = datetime.datetime(2030, 1, 1, 12, 0, 0)
        order = ['img-3', 'img-0', 'img-4', 'img-1', 'img-2']
        db = database.Database(self.fixture.conf)
        self.addCleanup(db.dispose)
        with db.writer.using(context.admin_context()) as session:
            for micro, image_id in enumerate(order, 1):
                session.execute(sa.update(models.FamilyImage).where(
                    models.FamilyImage.image_id == image_id).values(
                    joined_at=second.replace(microsecond=micro)))
        seen = []
        path = '/v1/families/centos-7/images?limit=2'
        while path:
            page = self.app.get(path, headers=base.ADMIN).json
            seen.extend(i['image_id'] for i in page['images'])
            self.assertEqual({'2030-01-01T12:00:00Z'},
                             {i['joined_at'] for i in page['images']})
            links = [link['href'] for link in page['links']
                     if link['rel'] == 'next']
            path = links[0] if links else None
            if path and '://' in path:
                path = '/' + path.split('://', 1)[1].split('/', 1)[1]
        self.assertEqual(order, seen)


class RecordingNotifier(object):

    def __init__(self):
        self.sent = []

    def info(self, ctxt, event_type, payload):
        self.sent.append((event_type, payload))


class TestNotifications(testtools.TestCase):

    def test_times_are_in_seconds(self):
        notifier = RecordingNotifier()
        at = datetime.datetime(2030, 1, 1, 12, 0, 0, 654321)
        notifications.announce(notifier, {}, notifications.Event(
            notifications.TRANSITION, {'image_id': 'img-0', 'at': at,
                                       'to_state': 'active'}))
        self.assertEqual([(notifications.TRANSITION, {
            'image_id': 'img-0', 'at': '2030-01-01T12:00:00Z',
            'to_state': 'active'})], notifier.sent)
