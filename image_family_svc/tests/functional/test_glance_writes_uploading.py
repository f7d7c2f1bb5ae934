"""An image that joined its family from Glance's ``image.create`` and
stays ``queued`` in Glance for ever: the engine's retry of the Glance
writes (:mod:`image_family_svc.glance_writes`) run every
``[image_family] schedule_interval`` (30 s) on a fake clock, against a
Glance adapter that answers what Glance answers for such an image.

The image cannot be written while it uploads, so its record stays; it
used to be read again (and logged) every 90 s for as long as it stayed
queued, 480 times in 12 hours.
"""

import datetime
import json
import logging

import fixtures
import requests

from image_family_svc.db import families as families_db
from image_family_svc.db import glance_writes as glance_writes_db
from image_family_svc.db import members as members_db
from image_family_svc import glance
from image_family_svc import glance_writes
from image_family_svc.tests.functional import base
from svc_common import context
from svc_common.db import database

IMAGE = 'img-queued'
PASS = 30


class QueuedGlance(object):
    """A keystoneauth1 adapter of a Glance that has :data:`IMAGE` in
    :attr:`status`; counts the reads and keeps the patches."""

    def __init__(self):
        self.status = 'queued'
        self.reads = 0
        self.patches = []

    def request(self, url, method, raise_exc=True, **kwargs):
        response = requests.Response()
        response.url = 'http://glance.invalid' + url
        response.request = requests.Request(method, response.url).prepare()
        response.status_code = 200
        if method == 'GET':
            self.reads += 1
            body = {'id': IMAGE, 'status': self.status, 'os_hidden': False}
        else:
            self.patches.append(kwargs.get('json'))
            body = {}
        response._content = json.dumps(body).encode()
        return response


class TestImageUploadingForEver(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.family('centos-7')
        self.conf = self.fixture.conf
        self.db = database.Database(self.conf)
        self.addCleanup(self.db.dispose)
        self.ctx = context.admin_context()
        self.clock = families_db.now()
        self.useFixture(fixtures.MonkeyPatch(
            'image_family_svc.db.families.now', lambda: self.clock))
        self.glance = QueuedGlance()
        self.driver = glance.GlanceApiDriver(
            self.conf, glance_writes_db.Ledger(self.db), adapter=self.glance)
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, name='image_family_svc'))
        members_db.join(self.db, self.ctx, 'centos-7', IMAGE, '7.1',
                        dict(base.PROPS, os_version='7.1'), cause='glance')

    def passes(self, seconds):
        """The engine's retry every :data:`PASS` seconds for
        ``seconds``; how many times Glance was read."""
        before = self.glance.reads
        for _ in range(seconds // PASS):
            self.clock += datetime.timedelta(seconds=PASS)
            glance_writes.retry(self.conf, self.db, self.driver,
                                now=self.clock)
        return self.glance.reads - before

    def recorded(self):
        return glance_writes_db.due(
            self.db, self.ctx, 10,
            self.clock + datetime.timedelta(days=1))

    def warnings(self):
        return [line for line in self.log.output.splitlines()
                if 'checks in a row' in line]

    def test_checked_less_and_less_often(self):
        # The first checks a minute or two apart (an upload is usually
        # over by then), doubling, then about once an hour.
        self.assertEqual(4, self.passes(15 * 60))
        self.assertEqual(3, self.passes(75 * 60))
        # 11 in the next 11 hours (there were 440).
        self.assertEqual(11, self.passes(11 * 3600))
        self.assertEqual([], self.glance.patches)
        self.assertEqual([IMAGE], self.recorded())
        # Said once, when the checks reached an hour apart.
        self.assertEqual(1, len(self.warnings()), self.log.output)
        self.assertIn('Image %s was still uploading in Glance at 7 checks '
                      'in a row' % IMAGE, self.warnings()[0])

    def test_written_within_the_hour_once_active(self):
        self.passes(6 * 3600)
        self.glance.status = 'active'
        self.passes(3600 + 3 * PASS)
        self.assertEqual(1, len(self.glance.patches))
        self.assertIn({'op': 'add', 'path': '/arbiter_family_state',
                       'value': 'testing'}, self.glance.patches[0])
        self.assertEqual([], self.recorded())

    def test_a_change_of_the_image_starts_over(self):
        self.passes(6 * 3600)
        members_db.request_transition(self.db, self.ctx, IMAGE, 'beta')
        # Checked again after the retry's grace, then as a new upload.
        self.assertEqual(1, self.passes(3 * PASS))
        self.assertEqual(1, self.passes(2 * 60))
