"""A Glance delete that failed is tried again by the engine, against a
real Glance (:class:`svc_common.tests.fixtures.glance.Glance`).

The API's Glance driver points at a port where nothing listens: Glance
is down when the images reach ``deleted``, so its DELETE fails and the
images stay in Glance.  The engine's pass
(:func:`image_family_svc.glance_deletes.retry`) then reaches the real
Glance.
"""

import datetime
import logging

import fixtures
import requests

from image_family_svc.db import families as families_db
from image_family_svc.db import glance_writes
from image_family_svc import glance
from image_family_svc import glance_deletes
from image_family_svc import listeners
from image_family_svc import service
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from svc_common import config
from svc_common.db import database
from svc_common.tests.fixtures import glance as glance_fixture
from svc_common.tests.fixtures import ports

TINY = b'\0' * 1024


def _glance_conf(url, database_url):
    return config.build_conf(service.SPEC, overrides={
        ('database', 'connection'): database_url,
        ('image_family', 'glance_driver'): 'glance',
        ('glance', 'auth_type'): 'none',
        ('glance', 'endpoint_override'): url,
        ('glance', 'timeout'): 5})


def _answer(method, url, status):
    response = requests.Response()
    response.status_code = status
    response.url = 'http://glance.invalid' + url
    response.request = requests.Request(method, response.url).prepare()
    return response


class FailingAdapter(object):
    """A keystoneauth1 adapter of a Glance that answers 503."""

    def __init__(self):
        self.calls = 0

    def request(self, url, method, raise_exc=True, **kwargs):
        self.calls += 1
        return _answer(method, url, 503)


class AnsweringAdapter(object):
    """A keystoneauth1 adapter that answers ``status`` to every request
    while it is set (503: Glance away), ``refused[image id]`` to the
    requests of that image, and passes the others to ``adapter``."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.status = None
        self.refused = {}

    def request(self, url, method, **kwargs):
        status = self.status or next(
            (code for image_id, code in self.refused.items()
             if image_id in url), None)
        if status is None:
            return self.adapter.request(url, method, **kwargs)
        return _answer(method, url, status)


class TestRetry(base.ApiTestCase):

    def setUp(self):
        self.down = 'http://127.0.0.1:%d' % ports.free_port()
        self.OVERRIDES = {('image_family', 'glance_driver'): 'glance',
                          ('glance', 'auth_type'): 'none',
                          ('glance', 'endpoint_override'): self.down,
                          ('glance', 'timeout'): 5}
        super().setUp()
        self.glance = self.useFixture(glance_fixture.Glance())
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, name='image_family_svc'))
        url = self.fixture.conf.database.connection
        self.conf = _glance_conf(self.glance.url, url)
        self.db = database.Database(self.conf)
        self.addCleanup(self.db.dispose)
        self.driver = glance.GlanceApiDriver(
            self.conf, glance_writes.Ledger(self.db))
        self.nova = listeners.NovaEndpoint(self.conf, self.db, None)
        self.family('centos-7')

    def deleted_in_family(self, count):
        """Images in Glance that reach ``deleted`` while Glance is down."""
        ids = []
        for n in range(count):
            image_id = self.glance.create_image(data=TINY)
            self.addCleanup(self.glance.delete_image, image_id)
            self.add('centos-7', image_id, '7.%d' % n, state='active')
            self.move(image_id, 'obsolete')
            self.move(image_id, 'deleted')
            ids.append(image_id)
        # Every write and deletion of every image failed alike: one line
        # for the outage, not a traceback per image and change.
        self.assertEqual(1, self.log.output.count(
            'Writing to Glance failed, a service it depends on failed '
            '(ConnectFailure: '), self.log.output)
        self.assertNotIn('Traceback', self.log.output)
        self.assertNotIn('The Glance driver failed', self.log.output)
        return ids

    def in_glance(self, image_id):
        return self.glance.request('GET', '/v2/images/%s' % image_id,
                                   expect=(200, 404)).status_code == 200

    def retry(self, conf=None, batch=None, now=None):
        conf = conf or self.conf
        if batch is not None:
            conf.set_override('delete_retry_batch', batch, group='glance')
        later = families_db.now() + datetime.timedelta(
            seconds=glance_deletes.GRACE + 1)
        return glance_deletes.retry(conf, self.db, self.driver
                                    if conf is self.conf else
                                    glance.GlanceApiDriver(
                                        conf, glance_writes.Ledger(self.db)),
                                    now=now or later)

    def server(self, event_type, server_id, image_id):
        self.nova.info({}, 'compute.host', event_type,
                       test_engine.nova_payload(server_id, image_id),
                       test_engine.meta())

    def test_failed_deletes_retried_in_bounded_passes(self):
        first, second, third = self.deleted_in_family(3)
        self.assertEqual([True] * 3, [self.in_glance(i)
                                      for i in (first, second, third)])
        # Within the grace the announcement's own DELETE is left alone.
        self.assertEqual([], self.retry(now=families_db.now()))
        self.assertEqual([first, second], self.retry(batch=2))
        self.assertEqual([False, False, True],
                         [self.in_glance(i) for i in (first, second, third)])
        self.assertEqual([third], self.retry())
        self.assertFalse(self.in_glance(third))
        # Found gone: not tried again.
        self.assertEqual([], self.retry())
        self.assertIn('Deleted image %s in Glance on retry' % first,
                      self.log.output)

    def test_image_a_server_uses_is_never_deleted(self):
        used, = self.deleted_in_family(1)
        # Nova's notification of a server booted before the deletion
        # arrives after it: the image is counted as used again.
        self.server('instance.create.end', 'server-1', used)
        self.assertEqual([], self.retry())
        self.assertTrue(self.in_glance(used))
        self.assertIn('%s is deleted in its family but 1 server(s) use it'
                      % used, self.log.output)
        self.server('instance.delete.end', 'server-1', used)
        self.assertEqual([used], self.retry())
        self.assertFalse(self.in_glance(used))

    def test_image_already_gone_from_glance_is_done(self):
        gone, = self.deleted_in_family(1)
        self.glance.delete_image(gone)
        self.assertEqual([gone], self.retry())
        self.assertEqual([], self.retry())

    def test_glance_still_down_ends_the_pass(self):
        ids = self.deleted_in_family(2)
        down = _glance_conf(self.down, self.conf.database.connection)
        logged = len(self.log.output)
        self.assertEqual([], self.retry(conf=down))
        self.assertIn('Writing to Glance failed, a service it depends on '
                      'failed (ConnectFailure: ', self.log.output[logged:])
        self.assertIn('the next pass retries its deletions, first image '
                      '%s' % ids[0], self.log.output[logged:])
        self.assertEqual(ids, self.retry())

    def test_an_outage_is_logged_once_over_passes(self):
        """Glance answers 503 to three passes, then comes back: one
        warning when the outage starts, one info line when it ends; it
        was a warning at every pass."""
        ids = self.deleted_in_family(2)
        adapter = AnsweringAdapter(self.driver.adapter)
        driver = glance.GlanceApiDriver(
            self.conf, glance_writes.Ledger(self.db), adapter=adapter)
        later = families_db.now() + datetime.timedelta(
            seconds=glance_deletes.GRACE + 1)
        logged = len(self.log.output)
        adapter.status = 503
        for _ in range(3):
            self.assertEqual([], glance_deletes.retry(
                self.conf, self.db, driver, now=later))
        during = self.log.output[logged:]
        self.assertEqual(1, during.count('Writing to Glance failed'), during)
        self.assertIn('(GlanceDriverError: DELETE http://glance.invalid/v2/'
                      'images/%s -> 503' % ids[0], during)
        adapter.status = None
        self.assertEqual(ids, glance_deletes.retry(
            self.conf, self.db, driver, now=later))
        after = self.log.output[logged:]
        self.assertEqual(1, after.count('Writing to Glance failed'), after)
        self.assertEqual(1, after.count(
            'Writing to Glance succeeded again, after 3 failure(s)'), after)
        self.assertNotIn('Traceback', after)

    def test_an_image_glance_refuses_keeps_its_own_warning(self):
        """A refusal of one image is no outage: that image is warned
        about at each pass, and the others are deleted."""
        refused, deleted = self.deleted_in_family(2)
        adapter = AnsweringAdapter(self.driver.adapter)
        adapter.refused[refused] = 403
        driver = glance.GlanceApiDriver(
            self.conf, glance_writes.Ledger(self.db), adapter=adapter)
        later = families_db.now() + datetime.timedelta(
            seconds=glance_deletes.GRACE + 1)
        logged = len(self.log.output)
        for gone in ([deleted], []):
            self.assertEqual(gone, glance_deletes.retry(
                self.conf, self.db, driver, now=later))
        after = self.log.output[logged:]
        self.assertEqual(2, after.count(
            'Glance refused to delete image %s' % refused), after)
        self.assertNotIn('Writing to Glance failed', after)
        self.assertTrue(self.in_glance(refused))

    def test_glance_error_ends_the_pass(self):
        """A 5xx: the real Glance cannot be made to answer one, so the
        driver of this pass has a stand-in adapter that answers 503 to
        every DELETE (and sends nothing to Glance)."""
        ids = self.deleted_in_family(2)
        failing = FailingAdapter()
        driver = glance.GlanceApiDriver(
            self.conf, glance_writes.Ledger(self.db), adapter=failing)
        self.assertEqual([], glance_deletes.retry(
            self.conf, self.db, driver, now=families_db.now() +
            datetime.timedelta(seconds=glance_deletes.GRACE + 1)))
        self.assertEqual(1, failing.calls)
        self.assertIn('(GlanceDriverError: DELETE http://glance.invalid/v2/'
                      'images/%s -> 503' % ids[0], self.log.output)
        self.assertEqual(ids, self.retry())

    def test_nothing_retried_when_deleting_is_off(self):
        kept, = self.deleted_in_family(1)
        self.conf.set_override('delete_images', False, group='glance')
        self.assertEqual([], self.retry())
        self.assertTrue(self.in_glance(kept))
