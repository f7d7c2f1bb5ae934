"""Writes of an image's state to a real Glance
(:class:`svc_common.tests.fixtures.glance.Glance`): two writers of one
image at once, and the engine's retry of the writes that did not happen.

The race: the engine writes an image's join (from its announcer thread)
while an API process promotes the image and writes that.  The engine's
write is held between its read of Glance and its PATCH (its adapter
waits there) until the API's write has had every chance to run: the
API's write must wait for the engine's and then write the promotion,
so that Glance ends with the state the database has.  On PostgreSQL the
engine's driver has locks of its own in the process, as another process
would, and only the database's advisory lock orders the two.
"""

import datetime
import threading

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session

from image_family_svc.db import families as families_db
from image_family_svc.db import glance_writes as glance_writes_db
from image_family_svc.db import members as members_db
from image_family_svc import glance
from image_family_svc import glance_deletes
from image_family_svc import glance_writes
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_glance_delete_retry
from svc_common import context
from svc_common.db import database
from svc_common.tests.fixtures import glance as glance_fixture
from svc_common.tests.fixtures import ports
from svc_common.tests.fixtures import races
from svc_common.tests.functional import api_fixture as af

TINY = b'\0' * 1024
WAIT = 30


class PausingAdapter(object):
    """A keystoneauth1 adapter that holds the first writer after its
    first GET until :attr:`go` is set."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.read = threading.Event()
        self.go = threading.Event()

    def request(self, url, method, **kwargs):
        response = self.adapter.request(url, method, **kwargs)
        if method == 'GET' and not self.read.is_set():
            self.read.set()
            self.go.wait(WAIT)
        return response


class GlanceTestCase(base.ApiTestCase):
    """The API's driver writes to the real Glance."""

    def setUp(self):
        self.glance = self.useFixture(glance_fixture.Glance())
        self.OVERRIDES = dict(self.OVERRIDES or {})
        self.OVERRIDES.update({
            ('image_family', 'glance_driver'): 'glance',
            ('glance', 'auth_type'): 'none',
            ('glance', 'endpoint_override'): self.glance.url,
            ('glance', 'timeout'): 10})
        super().setUp()
        self.conf = self.fixture.conf
        self.db = database.Database(self.conf)
        self.addCleanup(self.db.dispose)
        self.ctx = context.admin_context()
        self.family('centos-7')

    def engine_driver(self, process_locks=None, adapter=None):
        """A driver of the engine's, with the locks of this process or
        of another (``process_locks``)."""
        ledger = glance_writes_db.Ledger(self.db, process_locks)
        driver = glance.GlanceApiDriver(self.conf, ledger)
        if adapter is not None:
            driver = glance.GlanceApiDriver(self.conf, ledger,
                                            adapter=adapter(driver.adapter))
        return driver

    def new_image(self, data=TINY, identity=None):
        image_id = self.glance.create_image(data=data, identity=identity)
        self.addCleanup(self.glance.request, 'DELETE',
                        '/v2/images/%s' % image_id, expect=(204, 404))
        return image_id

    def join_in_engine(self, image_id, version='7.1'):
        """The engine's listener commits a join; its event is not yet
        handed to the Glance driver."""
        _, events = members_db.join(
            self.db, self.ctx, 'centos-7', image_id, version,
            dict(base.PROPS, os_version=version), cause='glance')
        return events

    def says(self, image_id):
        image = self.glance.get_image(image_id)
        return (image.get('arbiter_family'),
                image.get('arbiter_family_state'),
                image.get('arbiter_family_successor'), image['os_hidden'])

    def recorded(self):
        return glance_writes_db.due(self.db, self.ctx, 100,
                                    families_db.now() +
                                    datetime.timedelta(seconds=1))

    def retry(self, driver=None):
        later = families_db.now() + datetime.timedelta(
            seconds=glance_writes.GRACE + 1)
        return glance_writes.retry(self.conf, self.db,
                                   driver or self.engine_driver(), now=later)


class GlanceWritesTest(GlanceTestCase):

    def api_write_waits(self, thread):
        """Give the API's write every chance to run before the engine's
        PATCH (it should wait for the engine's lock)."""
        thread.join(3)

    def test_join_written_while_an_api_process_promotes(self):
        image_id = self.new_image()
        events = self.join_in_engine(image_id)
        driver = self.engine_driver(
            process_locks=self.other_process_locks(), adapter=PausingAdapter)
        pausing = driver.adapter
        engine = threading.Thread(target=driver.event, args=(events[0],))
        engine.start()
        self.assertTrue(pausing.read.wait(WAIT))
        # The engine has read the database (testing) and Glance; the API
        # process promotes the image meanwhile and writes that.
        answers = []
        api = threading.Thread(target=lambda: answers.append(
            self.move(image_id, 'active')))
        api.start()
        self.api_write_waits(api)
        pausing.go.set()
        engine.join(WAIT)
        api.join(WAIT)
        self.assertEqual('active', answers[0]['image']['state'])
        self.assertEqual(('centos-7', 'active', None, False),
                         self.says(image_id))
        self.assertEqual([], self.recorded())

    def other_process_locks(self):
        return None

    def test_changes_not_written_are_written_by_the_engine(self):
        old, new = self.new_image(), self.new_image()
        # Made by a process that stopped before it wrote (or whose write
        # failed): Glance knows nothing of them.
        self.join_in_engine(old, '7.1')
        self.join_in_engine(new, '7.2')
        members_db.request_transition(self.db, self.ctx, old, 'active')
        members_db.request_transition(self.db, self.ctx, new, 'active')
        members_db.request_transition(self.db, self.ctx, old, 'deprecated')
        self.assertEqual((None, None, None, False), self.says(old))
        self.assertEqual(sorted([old, new]), sorted(self.recorded()))
        # Within the grace the process's own write is left alone.
        self.assertEqual([], glance_writes.retry(
            self.conf, self.db, self.engine_driver()))
        self.assertEqual(sorted([old, new]), sorted(self.retry()))
        self.assertEqual(('centos-7', 'deprecated', new, True),
                         self.says(old))
        self.assertEqual(('centos-7', 'active', None, False),
                         self.says(new))
        self.assertEqual([], self.retry())
        # The successor leaves: the image that named it names none, in
        # Glance too (no event of its own says so).
        members_db.leave(self.db, self.ctx, 'centos-7', new)
        self.assertEqual(sorted([old, new]), sorted(self.retry()))
        self.assertEqual(('centos-7', 'deprecated', None, True),
                         self.says(old))
        self.assertEqual((None, None, None, False), self.says(new))

    def test_image_still_uploading_is_written_once_active(self):
        image_id = self.new_image(data=None)
        self.join_in_engine(image_id)
        self.assertEqual([], self.retry())
        self.assertEqual([image_id], self.recorded())
        self.glance.upload_image(image_id, TINY)
        self.assertEqual([image_id], self.retry())
        self.assertEqual(('centos-7', 'testing', None, False),
                         self.says(image_id))

    def test_glance_error_keeps_the_record(self):
        image_id = self.new_image()
        self.join_in_engine(image_id)
        log = self.useFixture(fixtures.FakeLogger(name='image_family_svc'))
        failing = test_glance_delete_retry.FailingAdapter()
        broken = glance.GlanceApiDriver(
            self.conf, glance_writes_db.Ledger(self.db), adapter=failing)
        self.assertEqual([], self.retry(broken))
        self.assertIn('Writing to Glance failed, a service it depends on '
                      'failed (GlanceDriverError: GET http://glance.invalid'
                      '/v2/images/%s -> 503' % image_id, log.output)
        self.assertEqual([image_id], self.recorded())
        self.assertEqual([image_id], self.retry())
        self.assertEqual(('centos-7', 'testing', None, False),
                         self.says(image_id))

    def test_noop_driver_forgets_the_records(self):
        self.join_in_engine(self.new_image())
        self.assertEqual([], glance_writes.retry(
            self.conf, self.db, glance.NoopDriver()))
        self.assertEqual([], self.recorded())


class ImageOwnerTest(GlanceTestCase):
    """A project's family takes the project's own images only: their
    lifecycle hides them in Glance, makes Nova refuse them and deletes
    them, with the service's credentials."""

    def add_as(self, headers, family, image_id, status):
        return self.app.post_json(
            '/v1/families/%s/images' % family,
            {'image_id': image_id, 'version': '1', 'properties': base.PROPS},
            headers=headers, status=status).json

    def test_a_projects_family_takes_its_own_images_only(self):
        self.family('p1-images', headers=af.PROJECT_MEMBER)
        own = self.new_image(identity=self.glance.identity_headers(
            project_id='p1'))
        clouds = self.new_image()
        others = self.new_image(identity=self.glance.identity_headers(
            project_id='p2'))
        answers = [self.add_as(af.PROJECT_MEMBER, 'p1-images', image_id,
                               400)['errors'][0]
                   for image_id in (clouds, others, 'no-such-image')]
        self.assertEqual([('image_family.image_not_owned', 'image_id')] * 3,
                         [(a['code'], a['field']) for a in answers])
        # Nothing joined: the image can still join the family it belongs
        # to, and Glance was not written.
        self.add('centos-7', clouds, '7.1')
        self.assertEqual((None, None, None, False), self.says(others))
        image = self.add_as(af.PROJECT_MEMBER, 'p1-images', own,
                            201)['image']
        self.assertEqual('p1-images', image['family'])

    def test_a_system_family_takes_any_image(self):
        others = self.new_image(identity=self.glance.identity_headers(
            project_id='p2'))
        self.assertEqual('centos-7', self.add('centos-7', others,
                                              '7.1')['family'])

    def test_glance_down_is_a_503(self):
        self.family('p1-images', headers=af.PROJECT_MEMBER)
        own = self.new_image(identity=self.glance.identity_headers(
            project_id='p1'))
        self.conf.set_override('endpoint_override', 'http://127.0.0.1:%d'
                               % ports.free_port(), group='glance')
        error = self.add_as(af.PROJECT_MEMBER, 'p1-images', own,
                            503)['errors'][0]
        self.assertEqual('image_family.glance_unavailable', error['code'])


class DeletedMemberLeavingTest(GlanceTestCase):
    """A member ``deleted`` in its family that Glance still has (its
    deletion failed, or ``[glance] delete_images`` is off)."""

    def setUp(self):
        super().setUp()
        self.conf.set_override('delete_images', False, group='glance')
        self.image_id = self.new_image()
        self.add('centos-7', self.image_id, '7.1', state='active')
        self.move(self.image_id, 'obsolete')
        self.move(self.image_id, 'deleted')

    def listed(self):
        return [i['id'] for i in self.glance.list_images()]

    def test_stays_hidden_in_glance_until_gone(self):
        self.assertNotIn(self.image_id, self.listed())
        error = self.app.delete(
            '/v1/families/centos-7/images/%s' % self.image_id,
            headers=base.ADMIN, status=409).json['errors'][0]
        self.assertEqual('image_family.image_still_in_glance',
                         error['code'])
        # Removed from the family, it came back in Glance's image list,
        # unhidden, bootable and in no family any more.
        self.assertNotIn(self.image_id, self.listed())
        self.assertEqual(('centos-7', 'obsolete', None, True),
                         self.says(self.image_id))
        # Once Glance deleted it (an operator), it leaves by itself
        # (Glance's image.delete); the family's member is then gone.
        members_db.leave(self.db, self.ctx, 'centos-7', self.image_id,
                         cause='glance')
        self.app.get('/v1/images/%s' % self.image_id, headers=base.ADMIN,
                     status=404)

    def remove(self, status):
        return self.app.delete(
            '/v1/families/centos-7/images/%s' % self.image_id,
            headers=base.ADMIN, status=status)

    def test_gone_from_glance_unannounced_is_removed(self):
        # Deleted in Glance by an operator, its image.delete missed: the
        # remove asks Glance, which has it no more; it was a 409 for
        # good, and its family could not be deleted.
        self.glance.delete_image(self.image_id)
        self.remove(204)
        self.app.get('/v1/images/%s' % self.image_id, headers=base.ADMIN,
                     status=404)
        self.app.delete('/v1/families/centos-7', headers=base.ADMIN,
                        status=204)

    def test_still_in_glance_says_so(self):
        error = self.remove(409).json['errors'][0]
        self.assertEqual('image_family.image_still_in_glance',
                         error['code'])
        self.assertIn('Glance still has it', error['detail'])
        self.assertEqual('deleted', self.app.get(
            '/v1/images/%s' % self.image_id,
            headers=base.ADMIN).json['image']['state'])

    def test_glance_away_keeps_the_conflict_and_says_so(self):
        self.glance.delete_image(self.image_id)
        away = ks_adapter.Adapter(
            ks_session.Session(), endpoint_override='http://127.0.0.1:%d'
            % ports.free_port())
        with fixtures.MockPatchObject(glance.GlanceApiDriver, 'adapter',
                                      new=property(lambda driver: away)):
            error = self.remove(409).json['errors'][0]
        self.assertEqual('image_family.image_still_in_glance',
                         error['code'])
        self.assertIn('could not be asked', error['detail'])
        # Glance back: it is found gone and leaves.
        self.remove(204)

    def test_deleted_by_the_api_leaves_at_once(self):
        self.conf.set_override('delete_images', True, group='glance')
        image_id = self.new_image()
        self.add('centos-7', image_id, '7.2', state='active')
        self.move(image_id, 'obsolete')
        self.move(image_id, 'deleted')
        self.glance.request('GET', '/v2/images/%s' % image_id,
                            expect=(404,))
        self.app.delete('/v1/families/centos-7/images/%s' % image_id,
                        headers=base.ADMIN, status=204)

    def test_leaves_once_glance_deleted_it(self):
        self.conf.set_override('delete_images', True, group='glance')
        glance_deletes.retry(self.conf, self.db, self.engine_driver(),
                             now=families_db.now() + datetime.timedelta(
                                 seconds=glance_deletes.GRACE + 1))
        self.app.delete('/v1/families/centos-7/images/%s' % self.image_id,
                        headers=base.ADMIN, status=204)
        self.assertEqual(404, self.glance.request(
            'GET', '/v2/images/%s' % self.image_id,
            expect=(404,)).status_code)


class GlanceWritesPostgreSQLTest(races.OnPostgreSQL, GlanceWritesTest):
    """The same on PostgreSQL, where the engine's driver plays another
    process: it does not share this process's locks."""

    def other_process_locks(self):
        return glance_writes_db.ProcessLocks()

    def api_write_waits(self, thread):
        self.assertTrue(races.waiting_for_a_lock(self.engine, thread,
                                                 advisory=True))
