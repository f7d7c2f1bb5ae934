"""Each service's real WSGI app: the platform behaviour every API shares.

Runs the same cases against all four services (one test class each).
"""

import urllib.parse

import pecan
import testtools
import webtest

from federation_proxy import service as federation_service
from limits_svc import service as limits_service
from svc_common.cmd import all_in_one
from svc_common import deploy
from svc_common.tests.fixtures import api as af


#: Paths of each service whose 404 names the object the path asked for
#: (``%s``: its ID or name).
_PATHS_WITH_IDS = {
    'limits_svc': ('/v1/projects/%s', '/v1/projects/%s/usage',
                   '/v1/registered_limits/%s', '/v1/allocations/%s'),
    'reaper_svc': ('/v1/actions/%s', '/v1/pending/%s'),
    'image_family_svc': ('/v1/families/%s', '/v1/families/%s/images',
                         '/v1/images/%s', '/v1/images/%s/transitions'),
    'federation_proxy': ('/v1/users/%s', '/v1/users/%s/identities',
                         '/v1/vos/%s', '/v1/vos/%s/groups', '/v1/idps/%s',
                         '/v1/clients/%s'),
}


class _ServiceApiTests(object):
    """Mixed into one ``testtools.TestCase`` per service (``SPEC``)."""

    SPEC = None

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(af.ServiceApp(self.SPEC)).app

    def assertError(self, resp, status, code_suffix):
        self.assertEqual(status, resp.status_int)
        self.assertEqual('application/json', resp.content_type)
        errors = resp.json['errors']
        self.assertEqual(1, len(errors))
        err = errors[0]
        self.assertEqual(status, err['status'])
        self.assertEqual('%s.%s' % (self.SPEC.namespace, code_suffix),
                         err['code'])
        self.assertTrue(err['title'])
        self.assertTrue(err['detail'])
        self.assertEqual(resp.headers['x-openstack-request-id'],
                         err['request_id'])
        self.assertTrue(err['request_id'].startswith('req-'))
        return err

    def test_version_document_needs_no_token(self):
        resp = self.app.get('/')
        version = resp.json['versions'][0]
        self.assertEqual('v1.0', version['id'])
        self.assertEqual('CURRENT', version['status'])
        self.assertEqual(self.SPEC.min_version, version['min_version'])
        self.assertEqual(self.SPEC.max_version, version['max_version'])
        self.assertEqual('http://localhost/v1', version['links'][0]['href'])
        self.assertEqual('%s 1.0' % self.SPEC.service_type,
                         resp.headers['OpenStack-API-Version'])

    def test_links_under_a_mount_point(self):
        # Served under /quota (a WSGI server's mount: SCRIPT_NAME), the
        # version document and the /v1 index link there, not to the
        # host's root.
        mount = {'SCRIPT_NAME': '/quota'}
        version = self.app.get('/quota/', extra_environ=mount).json
        self.assertEqual('http://localhost/quota/v1',
                         version['versions'][0]['links'][0]['href'])
        index = self.app.get('/quota/v1', headers=af.SYSTEM_READER,
                             extra_environ=mount).json
        for resource in index['resources']:
            self.assertEqual(
                'http://localhost/quota/v1/%s' % resource['name'],
                resource['links'][0]['href'])

    def test_healthcheck_needs_no_token(self):
        resp = self.app.get('/healthcheck')
        self.assertEqual(200, resp.status_int)

    def test_v1_root_for_a_project_reader(self):
        resp = self.app.get('/v1', headers=af.PROJECT_READER)
        self.assertIn('resources', resp.json)

    def test_v1_root_for_system_reader_and_service(self):
        self.app.get('/v1', headers=af.SYSTEM_READER, status=200)
        self.app.get('/v1', headers=af.SERVICE, status=200)

    def test_401_without_identity(self):
        resp = self.app.get('/v1', status=401)
        self.assertError(resp, 401, 'unauthorized')

    def test_403_without_a_role(self):
        resp = self.app.get('/v1', headers=af.NO_ROLES, status=403)
        err = self.assertError(resp, 403, 'forbidden')
        self.assertIn('%s:root:get' % self.SPEC.namespace, err['detail'])

    def test_404_unknown_path(self):
        resp = self.app.get('/v1/no-such-thing', headers=af.PROJECT_READER,
                            status=404)
        self.assertError(resp, 404, 'not_found')

    def test_404_of_a_long_id_with_a_line_break(self):
        """The detail quotes a client's ID in JSON, shortened: it
        repeated the ID whole, as long as the route takes (5,000
        characters), line breaks and escape sequences included."""
        hostile = 'a\nb\x1b[2J' + 'x' * 4990
        for template in _PATHS_WITH_IDS[self.SPEC.package]:
            path = template % urllib.parse.quote(hostile)
            resp = self.app.get(path, headers=af.SYSTEM_ADMIN, status=404)
            detail = self.assertError(resp, 404, resp.json['errors'][0][
                'code'].split('.', 1)[1])['detail']
            self.assertLess(len(detail), 200, template)
            self.assertTrue(detail.isprintable(), (template, detail))
            self.assertIn('"a\\nb\\u001b[2Jxxx', detail, template)

    def test_405_wrong_method(self):
        resp = self.app.delete('/v1', headers=af.SYSTEM_ADMIN, status=405)
        self.assertError(resp, 405, 'method_not_allowed')
        self.assertEqual('GET, HEAD', resp.headers['Allow'])

    def test_400_malformed_microversion(self):
        resp = self.app.get('/', status=400, headers={
            'OpenStack-API-Version': '%s one.two' % self.SPEC.service_type})
        err = self.assertError(resp, 400, 'bad_request')
        self.assertIn('one.two', err['detail'])

    def test_406_unknown_microversion(self):
        resp = self.app.get('/', status=406, headers={
            'OpenStack-API-Version': '%s 9.99' % self.SPEC.service_type})
        err = self.assertError(resp, 406, 'not_acceptable')
        self.assertIn('9.99', err['detail'])

    def test_latest_microversion(self):
        resp = self.app.get('/', headers={
            'OpenStack-API-Version': '%s latest' % self.SPEC.service_type})
        self.assertEqual('%s %s' % (self.SPEC.service_type,
                                    self.SPEC.max_version),
                         resp.headers['OpenStack-API-Version'])

    def test_request_id_on_success(self):
        resp = self.app.get('/')
        self.assertTrue(
            resp.headers['x-openstack-request-id'].startswith('req-'))


class TestLoginOfAnUnknownIdp(testtools.TestCase):
    """federation_proxy's GET /v1/login?idp=<name>: the 404 of a name
    no enabled IdP has quotes it as the other 404s quote a path's ID
    (it repeated the query's name whole, line breaks included)."""

    def test_a_long_name_with_a_line_break(self):
        app = self.useFixture(af.ServiceApp(
            federation_service.SPEC,
            overrides={('federation', 'secret_key'): 'k' * 40})).app
        resp = app.get('/v1/login?idp=%s' % urllib.parse.quote(
            'a\nb' + 'x' * 3000), status=404)
        error = resp.json['errors'][0]
        self.assertEqual('federation.idp_not_found', error['code'])
        self.assertEqual('No enabled IdP "a\\nb%s"....' % ('x' * 71),
                         error['detail'][:200])


class _KeystoneAuthTests(object):
    """With keystonemiddleware ``auth_token`` in front of the app."""

    SPEC = None

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(
            af.ServiceApp(self.SPEC, auth_strategy='keystone')).app

    def test_401_without_token(self):
        resp = self.app.get('/v1', status=401)
        err = resp.json['errors'][0]
        self.assertEqual(401, err['status'])
        self.assertEqual('%s.unauthorized' % self.SPEC.namespace,
                         err['code'])
        self.assertIn('Keystone uri', resp.headers['WWW-Authenticate'])

    def test_noauth_headers_are_not_trusted(self):
        resp = self.app.get('/v1', headers=af.SYSTEM_ADMIN, status=401)
        self.assertEqual(401, resp.json['errors'][0]['status'])

    def test_version_document_and_healthcheck_stay_public(self):
        self.app.get('/', status=200)
        self.app.get('/healthcheck', status=200)


def _make_classes():
    for spec in all_in_one.load_specs():
        name = spec.package.title().replace('_', '')
        for mixin, suffix in ((_ServiceApiTests, 'Api'),
                              (_KeystoneAuthTests, 'KeystoneAuth')):
            cls_name = 'Test%s%s' % (name, suffix)
            globals()[cls_name] = type(cls_name,
                                       (mixin, testtools.TestCase),
                                       {'SPEC': spec})


_make_classes()


class _ContextProbe(object):
    """A root controller that answers with the context it was given."""

    @pecan.expose('json')
    def index(self):
        ctx = pecan.request.context
        return {'user_id': ctx.user_id, 'project_id': ctx.project_id,
                'roles': ctx.roles, 'system_scope': ctx.system_scope,
                'request_id': ctx.request_id}


class _ProbeRoot(object):
    v1 = _ContextProbe()


class TestContextFromHeaders(testtools.TestCase):
    """noauth identity headers reach the RequestContext handlers see."""

    def setUp(self):
        super().setUp()
        fixture = self.useFixture(af.ServiceApp(limits_service.SPEC))
        self.app = webtest.TestApp(deploy.deploy(
            limits_service.SPEC, fixture.conf, enforcer=None, db=None,
            root=_ProbeRoot()))

    def test_project_identity(self):
        resp = self.app.get('/v1', headers=af.PROJECT_MEMBER)
        self.assertEqual('user-1', resp.json['user_id'])
        self.assertEqual('p1', resp.json['project_id'])
        self.assertEqual(['member', 'reader'], resp.json['roles'])
        self.assertIsNone(resp.json['system_scope'])
        self.assertEqual(resp.headers['x-openstack-request-id'],
                         resp.json['request_id'])

    def test_system_identity(self):
        resp = self.app.get('/v1', headers=af.SYSTEM_READER)
        self.assertEqual('all', resp.json['system_scope'])
        self.assertIsNone(resp.json['project_id'])
        self.assertEqual(['reader'], resp.json['roles'])
