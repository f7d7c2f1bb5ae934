"""The Glance middleware with webob requests, in front of a small
stand-in of Glance's v2 image API, and the stand-in image family service
of :mod:`test_hooks_service` (the real API had not landed when the
middleware was written).

The stand-in Glance behaves as Glance 33 does where it matters here: an
image is visible to its owner's project only; its data of a
``deactivated`` image is refused (403) unless the request's roles make an
admin context (``admin`` in ``X-Roles``, Glance's default
``context_is_admin``).  Headers are those keystonemiddleware's
``auth_token`` sets after validating the tokens.
"""


import fixtures
from oslo_config import cfg
from oslo_utils.fixture import uuidsentinel as uuids
import testtools
import webob
import webob.dec
import webob.exc

from image_family_svc.hooks import cached_lookup
from image_family_svc.hooks import glance_middleware
from image_family_svc.tests.unit import test_hooks_service as fake
from svc_common.tests.fixtures import ports

PROJECT = 'p-1'


class FakeGlance(object):
    """Glance's v2 image show, data and delete, as far as needed."""

    def __init__(self, ignore_case=False):
        self.images = {}
        self.seen = []
        #: Glance on MySQL: its ID columns compare without case.
        self.ignore_case = ignore_case

    def find(self, image_id):
        if not self.ignore_case:
            return self.images.get(image_id)
        return next((image for key, image in self.images.items()
                     if key.lower() == image_id.lower()), None)

    @webob.dec.wsgify
    def __call__(self, req):
        self.seen.append((req.method, req.path_info,
                          req.headers.get('X-Roles')))
        parts = req.path_info.strip('/').split('/')
        image = self.find(parts[2]) if len(parts) > 2 else None
        roles = (req.headers.get('X-Roles') or '').split(',')
        if image is None or (image['owner'] != req.headers.get(
                'X-Project-Id') and 'admin' not in roles):
            return webob.exc.HTTPNotFound()
        if req.method == 'DELETE':
            return webob.exc.HTTPNoContent()
        if len(parts) == 4 and parts[3] == 'file':
            if image['status'] == 'deactivated' and 'admin' not in roles:
                return webob.exc.HTTPForbidden(
                    explanation='The requested image has been '
                                'deactivated. Image data download is '
                                'forbidden.')
            return webob.Response(body=b'image-bytes')
        return webob.Response(json_body=image)


def user_headers(project=PROJECT, roles='member,reader', **extra):
    headers = {'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u-1',
               'X-Project-Id': project, 'X-Roles': roles}
    headers.update(extra)
    return headers


def system_admin_headers(**extra):
    headers = {'X-Identity-Status': 'Confirmed', 'X-User-Id': 'admin',
               'X-Roles': 'admin,member,reader',
               'OpenStack-System-Scope': 'all'}
    headers.update(extra)
    return headers


def nova_service_headers(roles='service', **extra):
    headers = user_headers(**extra)
    headers.update({'X-Service-Identity-Status': 'Confirmed',
                    'X-Service-Roles': roles,
                    'X-Service-User-Id': 'nova'})
    return headers


class MiddlewareTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(fake.FakeImageFamilyService())
        self.glance = FakeGlance()
        self.conf = cfg.ConfigOpts()
        self.conf([], project='glance')
        glance_middleware.register_opts(self.conf)
        self.conf.set_override('endpoint_override', self.service.url,
                               group=glance_middleware.GROUP)
        self.conf.set_override('auth_type', None,
                               group=glance_middleware.GROUP)
        self.glance.images[uuids.used] = {'id': uuids.used,
                                          'owner': PROJECT,
                                          'status': 'active'}
        self.glance.images[uuids.unused] = {'id': uuids.unused,
                                            'owner': PROJECT,
                                            'status': 'active'}
        self.service.set_image(uuids.used, 'obsolete', servers=2)
        self.service.set_image(uuids.unused, 'obsolete', servers=0)

    def make_app(self, **overrides):
        for name, value in overrides.items():
            self.conf.set_override(name, value,
                                   group=glance_middleware.GROUP)
        return glance_middleware.ImageFamilyMiddleware(self.glance,
                                                       conf=self.conf)

    def send(self, app, method, path, headers, accept='application/json'):
        req = webob.Request.blank(path, method=method, headers=headers)
        req.accept = accept
        return req.get_response(app)


class TestDelete(MiddlewareTestCase):

    def test_delete_of_an_image_in_use_is_refused_with_the_count(self):
        resp = self.send(self.make_app(), 'DELETE',
                         '/v2/images/%s' % uuids.used, user_headers())
        self.assertEqual(409, resp.status_int)
        self.assertEqual('2', resp.headers[glance_middleware.SERVERS_HEADER])
        # webob's JSON error, as Glance's own refusals are rendered.
        body = resp.json
        self.assertEqual('Conflict', body['title'])
        self.assertIn('used by 2 server(s)', body['message'])
        self.assertNotIn(('DELETE', '/v2/images/%s' % uuids.used),
                         [seen[:2] for seen in self.glance.seen])

    def test_delete_of_an_unused_image_goes_to_glance(self):
        resp = self.send(self.make_app(), 'DELETE',
                         '/v2/images/%s' % uuids.unused, user_headers())
        self.assertEqual(204, resp.status_int)

    def test_delete_of_an_image_in_no_family_goes_to_glance(self):
        self.glance.images[uuids.other] = {'id': uuids.other,
                                           'owner': PROJECT,
                                           'status': 'active'}
        resp = self.send(self.make_app(), 'DELETE',
                         '/v2/images/%s' % uuids.other, user_headers())
        self.assertEqual(204, resp.status_int)

    def test_system_admin_forces_the_delete(self):
        headers = system_admin_headers(
            **{glance_middleware.FORCE_HEADER: 'true'})
        resp = self.send(self.make_app(), 'DELETE',
                         '/v2/images/%s' % uuids.used, headers)
        self.assertEqual(204, resp.status_int)

    def test_system_admin_without_the_header_is_refused(self):
        resp = self.send(self.make_app(), 'DELETE',
                         '/v2/images/%s' % uuids.used,
                         system_admin_headers())
        self.assertEqual(409, resp.status_int)

    def test_force_header_ignored_from_project_admin(self):
        headers = user_headers(roles='admin,member,reader', **{
            glance_middleware.FORCE_HEADER: 'true'})
        resp = self.send(self.make_app(), 'DELETE',
                         '/v2/images/%s' % uuids.used, headers)
        self.assertEqual(409, resp.status_int)

    def test_usage_is_cached(self):
        app = self.make_app(cache_seconds=60)
        for _ in range(3):
            self.send(app, 'DELETE', '/v2/images/%s' % uuids.used,
                      user_headers())
        self.assertEqual(1, len(self.service.requests))

    def test_an_answer_letting_a_delete_through_is_never_reused(self):
        # Glance refuses the first delete on its own (the image is
        # protected, say) after the service said no server uses it; a
        # server boots from the image; the owner unprotects it and
        # deletes again within cache_seconds.  The old answer (0) let
        # the delete of an image in use through.
        app = self.make_app(cache_seconds=60)
        self.send(app, 'DELETE', '/v2/images/%s' % uuids.unused,
                  user_headers())
        self.service.set_image(uuids.unused, 'obsolete', servers=1)
        resp = self.send(app, 'DELETE', '/v2/images/%s' % uuids.unused,
                         user_headers())
        self.assertEqual(409, resp.status_int)
        self.assertEqual('1', resp.headers[glance_middleware.SERVERS_HEADER])

    def test_an_image_in_no_family_is_asked_about_again(self):
        # Not in a family at the first delete, then added to one whose
        # servers use it: the second delete is refused.
        self.glance.images[uuids.other] = {'id': uuids.other,
                                           'owner': PROJECT,
                                           'status': 'active'}
        app = self.make_app(cache_seconds=60)
        self.send(app, 'DELETE', '/v2/images/%s' % uuids.other,
                  user_headers())
        self.service.set_image(uuids.other, 'obsolete', servers=3)
        resp = self.send(app, 'DELETE', '/v2/images/%s' % uuids.other,
                         user_headers())
        self.assertEqual(409, resp.status_int)

    def test_other_requests_do_not_ask(self):
        app = self.make_app()
        self.send(app, 'GET', '/v2/images/%s' % uuids.used, user_headers())
        self.send(app, 'DELETE', '/v2/images/%s/tags/x' % uuids.used,
                  user_headers())
        self.assertEqual([], self.service.requests)

    def test_fail_open_by_default(self):
        self.conf.set_override('endpoint_override', fake.closed_url(),
                               group=glance_middleware.GROUP)
        resp = self.send(self.make_app(), 'DELETE',
                         '/v2/images/%s' % uuids.used, user_headers())
        self.assertEqual(204, resp.status_int)

    def test_fail_closed(self):
        self.service.fail_with = 500
        resp = self.send(self.make_app(fail_open=False), 'DELETE',
                         '/v2/images/%s' % uuids.unused, user_headers())
        self.assertEqual(503, resp.status_int)
        self.assertIn('cannot be reached', resp.json['message'])

    def test_the_image_asked_about_is_the_one_glance_deletes(self):
        # Glance on MySQL finds the image by its ID in capitals too; the
        # image family service, asked about the ID as typed, knew no
        # such image and let the delete of an image in use through.
        self.glance.ignore_case = True
        app = self.make_app()
        resp = self.send(app, 'DELETE', '/v2/images/%s' % uuids.used.upper(),
                         user_headers())
        self.assertEqual(409, resp.status_int)
        self.assertEqual('2', resp.headers[glance_middleware.SERVERS_HEADER])
        self.assertNotIn('DELETE', [m for m, _p, _r in self.glance.seen])

    def test_another_projects_image_is_glances_to_refuse(self):
        # The refusal told a caller who cannot see the image that it
        # exists and how many servers use it.
        resp = self.send(self.make_app(), 'DELETE',
                         '/v2/images/%s' % uuids.used,
                         user_headers(project='p-2'))
        self.assertEqual(404, resp.status_int)
        self.assertNotIn(glance_middleware.SERVERS_HEADER, resp.headers)
        self.assertEqual([], self.service.requests)

    def test_a_service_that_never_answers_is_no_answer(self):
        # keystoneauth1 waits for ever by default: the delete waited on
        # a hung service, and fail_open was never asked.
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.useFixture(fixtures.MockPatchObject(
            cached_lookup, 'DEFAULT_TIMEOUT', 1))
        self.conf.set_override('endpoint_override',
                               self.useFixture(ports.HangingPort('/v1')).url,
                               group=glance_middleware.GROUP)
        resp = self.send(self.make_app(fail_open=False), 'DELETE',
                         '/v2/images/%s' % uuids.used, user_headers())
        self.assertEqual(503, resp.status_int)

    def test_an_answer_of_another_shape_is_no_answer(self):
        # Something else answers at the endpoint: fail_open decides, as
        # for a service that is away (it was a 500 of Glance's either
        # way).
        self.service.garbage = b'<html>Welcome to nginx</html>'
        resp = self.send(self.make_app(fail_open=False), 'DELETE',
                         '/v2/images/%s' % uuids.unused, user_headers())
        self.assertEqual(503, resp.status_int)
        resp = self.send(self.make_app(fail_open=True), 'DELETE',
                         '/v2/images/%s' % uuids.unused, user_headers())
        self.assertEqual(204, resp.status_int)


class TestDeactivatedDownload(MiddlewareTestCase):

    def setUp(self):
        super().setUp()
        self.glance.images[uuids.deact] = {'id': uuids.deact,
                                           'owner': PROJECT,
                                           'status': 'deactivated'}
        self.path = '/v2/images/%s/file' % uuids.deact

    def test_user_alone_is_refused_as_glance_refuses(self):
        resp = self.send(self.make_app(), 'GET', self.path, user_headers())
        self.assertEqual(403, resp.status_int)

    def test_nova_service_token_downloads(self):
        resp = self.send(self.make_app(), 'GET', self.path,
                         nova_service_headers())
        self.assertEqual(200, resp.status_int)
        self.assertEqual(b'image-bytes', resp.body)
        # The metadata was read with the caller's own roles first.
        self.assertEqual(
            [('GET', '/v2/images/%s' % uuids.deact, 'member,reader'),
             ('GET', self.path, 'member,reader,admin')], self.glance.seen)

    def test_service_token_without_the_role_is_refused(self):
        resp = self.send(self.make_app(), 'GET', self.path,
                         nova_service_headers(roles='reader'))
        self.assertEqual(403, resp.status_int)

    def test_unconfirmed_service_token_is_refused(self):
        headers = nova_service_headers()
        headers['X-Service-Identity-Status'] = 'Invalid'
        resp = self.send(self.make_app(), 'GET', self.path, headers)
        self.assertEqual(403, resp.status_int)

    def test_image_the_user_cannot_see_stays_hidden(self):
        resp = self.send(self.make_app(), 'GET', self.path,
                         nova_service_headers(project='p-2'))
        self.assertEqual(404, resp.status_int)
        self.assertNotIn('admin', self.glance.seen[-1][2])

    def test_active_image_is_not_elevated(self):
        path = '/v2/images/%s/file' % uuids.used
        resp = self.send(self.make_app(), 'GET', path,
                         nova_service_headers())
        self.assertEqual(200, resp.status_int)
        self.assertEqual('member,reader', self.glance.seen[-1][2])

    def test_turned_off(self):
        resp = self.send(self.make_app(service_download_deactivated=False),
                         'GET', self.path, nova_service_headers())
        self.assertEqual(403, resp.status_int)

    def test_paste_factory(self):
        app = glance_middleware.filter_factory({})(self.glance)
        self.assertIsInstance(app, glance_middleware.ImageFamilyMiddleware)


class TestOptions(testtools.TestCase):

    def test_options_for_the_config_generator(self):
        [(group, opts)] = glance_middleware.list_opts()
        names = {opt.dest for opt in opts}
        self.assertEqual('image_family_middleware', group)
        self.assertTrue({'cache_seconds', 'fail_open', 'endpoint_override',
                         'service_download_deactivated', 'elevated_role',
                         'service_roles'} <= names)
