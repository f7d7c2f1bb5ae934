"""The usage reconciliation's counting of volume-backed servers through
Cinder's ``volume_image_metadata``, where Cinder is available.

Cinder cannot run on the test machine (no Cinder service, volume
backend or iSCSI/LVM here), so Nova and Cinder are played by test
doubles of their keystoneauth1 adapters that answer the documented
``GET /servers/detail`` and ``GET /volumes/detail`` shapes; the real
Nova path is covered by test_end_to_end.  What is real: the catalog
check (:func:`usage_reconcile.has_endpoint` on keystoneauth1's own
service catalog), the database and the API that shows the count.
"""

import datetime
import uuid

import fixtures
from keystoneauth1 import access as ks_access
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1.identity import access as ks_access_plugin
from keystoneauth1 import session as ks_session
import testtools

from image_family_svc.clients import compute
from image_family_svc.db import families as families_db
from image_family_svc.db import usage
from image_family_svc.tests.functional import base
from image_family_svc import usage_reconcile
from svc_common import context
from svc_common.db import database


class FakeResponse(object):

    def __init__(self, url, body, status_code=200):
        self.url = url
        self.status_code = status_code
        self._body = body
        self.text = str(body)

    def json(self):
        return self._body


class FakeAdapter(object):
    """A keystoneauth1 adapter of Nova or Cinder, which cannot run
    here: answers ``get()`` from ``pages`` (``{path: callable(params) ->
    body}``), finds ``endpoint`` (None: not in the catalog), and records
    the requests."""

    def __init__(self, endpoint, pages):
        self.endpoint = endpoint
        self.pages = pages
        self.requests = []

    def get_endpoint(self):
        if self.endpoint is None:
            raise ks_exc.EndpointNotFound('no block-storage endpoint')
        return self.endpoint

    def get(self, path, params=None, raise_exc=True, **kwargs):
        self.requests.append((path, dict(params or {})))
        return FakeResponse(path, self.pages[path](params or {}))


def nova_double(servers_by_image):
    """Nova's admin view: every server listed has a host."""
    def servers(params):
        return {'servers': [
            {'id': server_id, 'status': 'ACTIVE', compute.HOST: 'host-1'}
            for server_id in servers_by_image.get(params['image'], ())]}
    return FakeAdapter('http://nova.test/v2.1', {'/servers/detail':
                                                 servers})


def cinder_double(volumes, endpoint='http://cinder.test/v3/p'):
    return FakeAdapter(endpoint, {'/volumes/detail':
                                  lambda params: {'volumes': volumes}})


def volume(image_id=None, *server_ids):
    found = {'id': str(uuid.uuid4()),
             'attachments': [{'server_id': s} for s in server_ids]}
    if image_id:
        found['volume_image_metadata'] = {'image_id': image_id}
    return found


class TestVolumeBackedUsage(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.family('centos-7')
        self.add('centos-7', 'img-1', '7.1', state='active')
        self.add('centos-7', 'img-2', '7.2', state='active')
        self.nova = nova_double({'img-1': ['srv-booted']})
        self.cinder = cinder_double([
            volume('img-1', 'srv-vol-a'),
            volume('img-1', 'srv-vol-b', 'srv-booted'),  # counted once
            volume('img-1'),                 # attached to nothing
            volume(None, 'srv-blank'),       # not made from an image
            volume('img-2', 'srv-vol-c'),
        ])

    def servers(self, image_id):
        return self.app.get('/v1/images/%s/usage' % image_id,
                            headers=base.ADMIN).json['servers']

    def reconcile(self, mode):
        self.fixture.conf.set_override('enabled', mode, group='cinder')
        return usage_reconcile.Reconciler(
            self.fixture.conf, self.db, nova=self.nova,
            cinder=self.cinder).run()

    def test_auto_counts_volume_backed_servers_when_in_catalog(self):
        corrected = self.reconcile('auto')
        self.assertEqual(3, self.servers('img-1'))
        self.assertEqual(1, self.servers('img-2'))
        self.assertEqual({'img-1': (0, 3), 'img-2': (0, 1)}, corrected)
        self.assertEqual([('/volumes/detail',
                           {'all_tenants': 1, 'limit': 500})],
                         self.cinder.requests)

    def test_auto_without_block_storage_endpoint_counts_nova_only(self):
        self.cinder.endpoint = None
        self.reconcile('auto')
        self.assertEqual(1, self.servers('img-1'))
        self.assertEqual(0, self.servers('img-2'))
        self.assertEqual([], self.cinder.requests)

    def test_false_never_asks_cinder(self):
        self.reconcile('false')
        self.assertEqual(1, self.servers('img-1'))
        self.assertEqual([], self.cinder.requests)

    def test_true_fails_when_cinder_refuses(self):
        self.cinder.pages['/volumes/detail'] = None
        self.cinder.get = lambda path, params=None, **kw: FakeResponse(
            path, {'error': 'down'}, status_code=503)
        self.assertRaises(compute.ComputeError, self.reconcile, 'true')
        self.assertEqual(0, self.servers('img-1'))

    def test_volume_backed_server_keeps_pending_delete_image(self):
        # Only a volume made from img-2 holds it: deletion waits.
        self.reconcile('auto')
        self.move('img-2', 'deprecated')
        self.move('img-2', 'obsolete')
        self.move('img-2', 'deleted')
        self.assertEqual('pending_delete', self.image('img-2')['state'])
        self.cinder = cinder_double([volume('img-1', 'srv-vol-a')])
        self.reconcile('auto')
        self.assertEqual('deleted', self.image('img-2')['state'])

    def test_auto_keeps_volumes_recorded_when_the_endpoint_goes(self):
        # Review of 5850e6a: img-2 is held by srv-vol-c's volume only;
        # the catalog then shows no block-storage endpoint for a while.
        # The volumes recorded were forgotten, and img-2 deleted under
        # srv-vol-c.
        self.reconcile('auto')
        self.move('img-2', 'deprecated')
        self.move('img-2', 'obsolete')
        self.move('img-2', 'deleted')
        self.cinder.endpoint = None
        self.reconcile('auto')
        self.assertEqual([], self.cinder.requests[1:])
        self.assertEqual((3, 1), (self.servers('img-1'),
                                  self.servers('img-2')))
        self.assertEqual('pending_delete', self.image('img-2')['state'])
        # [cinder] enabled = false forgets them.
        self.reconcile('false')
        self.assertEqual((1, 0), (self.servers('img-1'),
                                  self.servers('img-2')))
        self.assertEqual('deleted', self.image('img-2')['state'])


def capped_nova(servers_by_image, max_limit):
    """Nova's admin view of servers that answers pages of at most
    ``max_limit`` servers (its ``[api] max_limit``), whatever ``limit``
    asks for, with a ``next`` link when a page is full, as Nova does."""
    def servers(params):
        ids = sorted(servers_by_image.get(params['image'], ()))
        if params.get('marker'):
            ids = ids[ids.index(params['marker']) + 1:]
        limit = min(params['limit'], max_limit)
        page = [{'id': i, 'status': 'ACTIVE', compute.HOST: 'host-1'}
                for i in ids[:limit]]
        body = {'servers': page}
        if len(page) == limit:
            body['servers_links'] = [{
                'rel': 'next', 'href': 'http://nova.test/v2.1/servers/'
                'detail?limit=%d&marker=%s' % (limit, page[-1]['id'])}]
        return body
    return FakeAdapter('http://nova.test/v2.1', {'/servers/detail':
                                                 servers})


class TestNovaCapsPages(base.ApiTestCase):
    """A Nova whose ``[api] max_limit`` is below ``[nova] page_size``
    (and a Cinder whose ``osapi_max_limit`` is below ``[cinder]
    page_size``)."""

    def setUp(self):
        super().setUp()
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.family('centos-7')
        self.add('centos-7', 'img-1', '7.1', state='active')

    def servers(self, image_id):
        return self.app.get('/v1/images/%s/usage' % image_id,
                            headers=base.ADMIN).json['servers']

    def test_every_page_is_read(self):
        self.fixture.conf.set_override('page_size', 5, group='nova')
        self.fixture.conf.set_override('page_size', 5, group='cinder')
        volumes = [volume('img-1', 'vm-vol-%d' % n) for n in range(7)]

        def volume_pages(params):
            ids = [v['id'] for v in volumes]
            start = ids.index(params['marker']) + 1 if params.get(
                'marker') else 0
            limit = min(params['limit'], 3)
            page = volumes[start:start + limit]
            body = {'volumes': page}
            if len(page) == limit:
                body['volumes_links'] = [{'rel': 'next', 'href': 'x'}]
            return body

        self.fixture.conf.set_override('enabled', 'true', group='cinder')
        usage_reconcile.Reconciler(
            self.fixture.conf, self.db,
            nova=capped_nova({'img-1': ['vm-%02d' % n for n in range(12)]},
                             max_limit=2),
            cinder=FakeAdapter('http://cinder.test/v3/p',
                               {'/volumes/detail': volume_pages})).run()
        # 12 servers booted from the image and 7 from volumes made of it:
        # Nova's and Cinder's first pages (2 and 3) were all that counted,
        # as a page shorter than page_size was taken for the last one.
        self.assertEqual(19, self.servers('img-1'))


class TestReconcileSkewedHosts(base.ApiTestCase):
    """The reconciliation on one engine host, the listener on another
    whose clock is behind."""

    def setUp(self):
        super().setUp()
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.fixture.conf.set_override('enabled', 'false', group='cinder')
        self.family('centos-7')
        self.add('centos-7', 'img-1', '7.1', state='active')

    def test_server_counted_during_the_listing_is_kept(self):
        real_now = families_db.now

        def behind():
            return real_now() - datetime.timedelta(seconds=30)

        def servers(params):
            # Nova has listed no server; vm-1's build starts and its
            # notification is applied by a host 30 s behind.
            with fixtures.MockPatchObject(families_db, 'now', behind):
                usage.server_created(self.db, context.admin_context(),
                                     'vm-1', 'img-1')
            return {'servers': []}

        usage_reconcile.Reconciler(
            self.fixture.conf, self.db,
            nova=FakeAdapter('http://nova.test/v2.1',
                             {'/servers/detail': servers})).run()
        # Forgotten, the image could be deleted under the build.
        self.assertEqual(1, self.app.get(
            '/v1/images/img-1/usage', headers=base.ADMIN).json['servers'])


class TestReconcileRacingRebuild(base.ApiTestCase):
    """A server rebuilt onto another image while the reconciliation
    lists the servers of its old image."""

    def setUp(self):
        super().setUp()
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.fixture.conf.set_override('enabled', 'false', group='cinder')
        self.family('centos-7')
        # The reconciliation goes through the images by id: img-new
        # first, then img-old.
        self.add('centos-7', 'img-old', '7.1', state='active')
        self.add('centos-7', 'img-new', '7.2', state='active')
        self.ctx = context.admin_context()
        usage.server_created(self.db, self.ctx, 'vm-1', 'img-old')

    def servers(self, image_id):
        return self.app.get('/v1/images/%s/usage' % image_id,
                            headers=base.ADMIN).json['servers']

    def test_rebuild_applied_during_the_listing_is_kept(self):
        runs_from = {'vm-1': 'img-old'}

        def servers(params):
            # What Nova says when asked; vm-1 is rebuilt onto img-new
            # (and the notification applied) right after Nova listed it
            # on img-old.
            listed = {'servers': [
                {'id': server_id, 'status': 'ACTIVE',
                 compute.HOST: 'host-1'}
                for server_id, image_id in sorted(runs_from.items())
                if image_id == params['image']]}
            if params['image'] == 'img-old':
                runs_from['vm-1'] = 'img-new'
                usage.server_rebuilt(self.db, self.ctx, 'vm-1', 'img-new')
            return listed

        usage_reconcile.Reconciler(
            self.fixture.conf, self.db,
            nova=FakeAdapter('http://nova.test/v2.1',
                             {'/servers/detail': servers})).run()
        self.assertEqual({'img-old': 0, 'img-new': 1},
                         {i: self.servers(i) for i in ('img-old',
                                                       'img-new')})
        # So img-new, which vm-1 runs from, is not deleted under it.
        self.move('img-new', 'obsolete')
        self.move('img-new', 'deleted')
        self.assertEqual('pending_delete', self.image('img-new')['state'])


class TestServerWithVolumeOfAnotherImage(base.ApiTestCase):
    """A server that Nova says runs from one image and that has a volume
    made from another attached (Cinder lists it for that one), or
    volumes made from two images: it counts for each of them, whatever
    the order of the reconciliations and notifications."""

    def setUp(self):
        super().setUp()
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.fixture.conf.set_override('enabled', 'true', group='cinder')
        self.fixture.conf.set_override('obsolete_drain_seconds', 0,
                                       group='image_family')
        self.family('centos-7')
        # Reconciled by id: img-1, then img-2.
        self.add('centos-7', 'img-1', '7.1', state='active')
        self.add('centos-7', 'img-2', '7.2', state='active')
        self.add('centos-7', 'img-3', '7.3', state='active')
        self.ctx = context.admin_context()
        self.runs_from = {'vm-1': 'img-1', 'vm-3': ''}
        self.volumes = [volume('img-2', 'vm-1')]

    def servers(self, image_id):
        return self.app.get('/v1/images/%s/usage' % image_id,
                            headers=base.ADMIN).json['servers']

    def counts(self):
        return {i: self.servers(i) for i in ('img-1', 'img-2', 'img-3')}

    def reconcile(self):
        def listed(params):
            return {'servers': [
                {'id': server_id, 'status': 'ACTIVE',
                 compute.HOST: 'host-1'}
                for server_id, image_id in sorted(self.runs_from.items())
                if image_id == params['image']]}

        usage_reconcile.Reconciler(
            self.fixture.conf, self.db,
            nova=FakeAdapter('http://nova.test/v2.1',
                             {'/servers/detail': listed}),
            cinder=cinder_double(self.volumes)).run()

    def delete(self, image_id):
        self.move(image_id, 'obsolete')
        self.move(image_id, 'deleted')
        return self.image(image_id)['state']

    def test_the_image_it_runs_from_stays_counted(self):
        usage.server_created(self.db, self.ctx, 'vm-1', 'img-1')
        for _ in range(2):
            self.reconcile()
            self.assertEqual(1, self.servers('img-1'))
        # img-1, which vm-1 runs from, is not deleted under it.
        self.assertEqual('pending_delete', self.delete('img-1'))

    def test_the_image_of_its_volume_is_not_deleted_under_it(self):
        # vm-1 runs from img-1 (its notification came) and holds a
        # volume made from img-2: the server was recorded for img-1
        # only, and img-2 was deleted under it.
        usage.server_created(self.db, self.ctx, 'vm-1', 'img-1')
        self.reconcile()
        self.assertEqual('pending_delete', self.delete('img-2'))
        self.assertEqual('pending_delete', self.delete('img-1'))
        self.assertEqual({'img-1': 1, 'img-2': 1, 'img-3': 0},
                         self.counts())
        # Its volume detached, img-2 goes; img-1 stays.
        self.volumes[:] = []
        self.reconcile()
        self.assertEqual('deleted', self.image('img-2')['state'])
        self.assertEqual('pending_delete', self.image('img-1')['state'])
        # The server gone, so does img-1.
        usage.server_deleted(self.db, self.ctx, 'vm-1', drain=0)
        self.assertEqual('deleted', self.image('img-1')['state'])

    def test_volumes_made_from_two_images(self):
        # vm-3 boots from a volume made from img-1 and holds another
        # made from img-2.
        del self.runs_from['vm-1']
        self.volumes[:] = [volume('img-1', 'vm-3'), volume('img-2', 'vm-3')]
        self.reconcile()
        self.assertEqual({'img-1': 1, 'img-2': 1, 'img-3': 0},
                         self.counts())
        self.assertEqual('pending_delete', self.delete('img-1'))
        self.assertEqual('pending_delete', self.delete('img-2'))
        # Its deletion frees both.
        events = usage.server_deleted(self.db, self.ctx, 'vm-3', drain=0)
        self.assertEqual({'img-1': 'deleted', 'img-2': 'deleted'},
                         {i: self.image(i)['state'] for i in ('img-1',
                                                              'img-2')})
        self.assertEqual(2, len(events))

    def test_rebuilds_leave_the_image_of_its_volume_counted(self):
        usage.server_created(self.db, self.ctx, 'vm-1', 'img-1')
        self.reconcile()
        # Rebuilt onto the image of its volume, counted once there...
        self.runs_from['vm-1'] = 'img-2'
        usage.server_rebuilt(self.db, self.ctx, 'vm-1', 'img-2')
        self.assertEqual({'img-1': 0, 'img-2': 1, 'img-3': 0},
                         self.counts())
        # ... and off it: the volume still holds img-2.
        self.runs_from['vm-1'] = 'img-3'
        usage.server_rebuilt(self.db, self.ctx, 'vm-1', 'img-3')
        self.assertEqual({'img-1': 0, 'img-2': 1, 'img-3': 1},
                         self.counts())
        self.assertEqual('pending_delete', self.delete('img-2'))
        self.reconcile()
        self.assertEqual({'img-1': 0, 'img-2': 1, 'img-3': 1},
                         self.counts())
        # A failed build notification (a late one) leaves the volume's
        # image too.
        usage.server_build_failed(self.db, self.ctx, 'vm-1', drain=0)
        self.assertEqual(1, self.servers('img-2'))
        self.assertEqual('pending_delete', self.image('img-2')['state'])

    def test_run_stopped_after_the_image_it_runs_from(self):
        # Review of 5850e6a.  vm-1's row says it runs from img-2 (a row
        # of the release before, moved there by its reconciliation, or
        # a rebuild back onto img-1 whose notification was lost); Nova
        # says img-1, and it holds a volume made from img-2.  The
        # engine stops after reconciling img-1: the row moved to img-1
        # left img-2 counting none of vm-1 until img-2's turn (the
        # release before held it there), and img-2 was deleted under
        # its volume meanwhile.
        usage.server_created(self.db, self.ctx, 'vm-1', 'img-2')
        self.assertEqual('pending_delete', self.delete('img-2'))
        asked = []

        def stopping():
            asked.append(True)
            return len(asked) > 1

        usage_reconcile.Reconciler(
            self.fixture.conf, self.db,
            nova=FakeAdapter('http://nova.test/v2.1', {
                '/servers/detail': lambda params: {'servers': [
                    {'id': 'vm-1', 'status': 'ACTIVE',
                     compute.HOST: 'host-1'}]
                    if params['image'] == 'img-1' else []}}),
            cinder=cinder_double(self.volumes), stopping=stopping).run()
        self.assertEqual({'img-1': 1, 'img-2': 1, 'img-3': 0},
                         self.counts())
        self.assertEqual('pending_delete', self.delete('img-2'))
        self.assertEqual('pending_delete', self.image('img-2')['state'])

    def test_volume_made_from_another_image_moves_at_once(self):
        # vm-3 boots from a volume made from img-2; that volume is then
        # re-imaged from img-1 (Nova announces no image of a
        # volume-backed server): counted for img-1 from the next run.
        del self.runs_from['vm-1']
        self.volumes[:] = [volume('img-2', 'vm-3')]
        self.reconcile()
        self.assertEqual((0, 1), (self.servers('img-1'),
                                  self.servers('img-2')))
        self.volumes[:] = [volume('img-1', 'vm-3')]
        self.reconcile()
        self.assertEqual((1, 0), (self.servers('img-1'),
                                  self.servers('img-2')))


class TestRebuildOntoTheImageOfItsVolume(base.ApiTestCase):
    """A server rebuilt onto the image its volume was made from while
    the reconciliation lists that image's servers."""

    def setUp(self):
        super().setUp()
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.fixture.conf.set_override('enabled', 'true', group='cinder')
        self.family('centos-7')
        self.add('centos-7', 'img-1', '7.1', state='active')
        self.add('centos-7', 'img-2', '7.2', state='active')
        self.ctx = context.admin_context()

    def servers(self, image_id):
        return self.app.get('/v1/images/%s/usage' % image_id,
                            headers=base.ADMIN).json['servers']

    def test_rebuild_during_the_listing_of_the_volume_image(self):
        # vm-1 runs from img-1 and holds a volume made from img-2; Nova
        # is asked for img-2's servers when vm-1 is rebuilt onto img-2
        # (notification applied): the row of img-2 written by the
        # rebuild stays, and so does its volume's.
        usage.server_created(self.db, self.ctx, 'vm-1', 'img-1')
        runs_from = {'vm-1': 'img-1'}

        def listed(params):
            found = {'servers': [
                {'id': s, 'status': 'ACTIVE', compute.HOST: 'host-1'}
                for s, i in sorted(runs_from.items())
                if i == params['image']]}
            if params['image'] == 'img-2':
                runs_from['vm-1'] = 'img-2'
                usage.server_rebuilt(self.db, self.ctx, 'vm-1', 'img-2')
            return found

        usage_reconcile.Reconciler(
            self.fixture.conf, self.db,
            nova=FakeAdapter('http://nova.test/v2.1',
                             {'/servers/detail': listed}),
            cinder=cinder_double([volume('img-2', 'vm-1')])).run()
        self.assertEqual((0, 1), (self.servers('img-1'),
                                  self.servers('img-2')))
        self.assertEqual(1, usage.count_rows(self.db, self.ctx, 'img-2'))


def catalog_adapter(*service_types):
    """A real keystoneauth1 adapter for ``block-storage`` over a token
    whose catalog holds ``service_types``."""
    token = ks_fixture.V3Token()
    for service_type in service_types:
        token.add_service(service_type).add_standard_endpoints(
            public='http://%s.test/' % service_type)
    plugin = ks_access_plugin.AccessInfoPlugin(ks_access.create(body=token))
    return ks_adapter.Adapter(ks_session.Session(auth=plugin),
                              service_type='block-storage',
                              interface='public')


class TestHasEndpoint(testtools.TestCase):

    def test_volumev3_in_catalog_is_block_storage(self):
        self.assertTrue(usage_reconcile.has_endpoint(
            catalog_adapter('compute', 'volumev3')))

    def test_block_storage_in_catalog(self):
        self.assertTrue(usage_reconcile.has_endpoint(
            catalog_adapter('block-storage')))

    def test_no_volume_service_in_catalog(self):
        self.assertFalse(usage_reconcile.has_endpoint(
            catalog_adapter('compute', 'image')))

    def test_no_credentials_and_no_override(self):
        self.assertFalse(usage_reconcile.has_endpoint(ks_adapter.Adapter(
            ks_session.Session(), service_type='block-storage')))

    def test_endpoint_override(self):
        self.assertTrue(usage_reconcile.has_endpoint(ks_adapter.Adapter(
            ks_session.Session(), service_type='block-storage',
            endpoint_override='http://cinder.test/v3')))
