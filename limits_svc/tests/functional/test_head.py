"""``HEAD`` on every ``GET`` route of limits_svc (RFC 9110 9.3.2).

The answer is the ``GET``'s status and headers (``Content-Length`` of
its body, the allocation's ``ETag``, ``304`` to a matching
``If-None-Match``, the same refusals) without a body; it was ``405``
everywhere, the version document and ``/healthcheck`` included.
"""

import testtools

from limits_svc import service
from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import head_requests


class TestHead(base.LimitsApiTestCase):

    def setUp(self):
        super().setUp()
        self.tree()
        self.etag = self.allocate('vm-1', 'leaf', cores=2).headers['ETag']
        self.registered_id = self.app.get(
            '/v1/registered_limits', headers=af.SYSTEM_ADMIN,
        ).json['registered_limits'][0]['id']
        self.limit_id = self.app.get(
            '/v1/limits', headers=af.SYSTEM_ADMIN).json['limits'][0]['id']

    def paths(self):
        return head_requests.get_paths(service.SPEC, {
            'project_id': 'leaf', 'consumer_id': 'vm-1',
            '/v1/limits/{limit_id}': '/v1/limits/%s' % self.limit_id,
            '/v1/registered_limits/{limit_id}':
                '/v1/registered_limits/%s' % self.registered_id})

    def test_every_get_route_answers_head_as_get(self):
        paths = self.paths()
        self.assertEqual(12, len(paths))
        with head_requests.WriteRecorder() as recorder:
            for path, _headers in paths + [('/healthcheck', None)]:
                head_requests.assert_head_like_get(
                    self, self.app, path, af.SYSTEM_ADMIN, status=200)
        self.assertEqual([], recorder.writes)

    def test_allocation_etag_and_not_modified(self):
        got, head = head_requests.assert_head_like_get(
            self, self.app, '/v1/allocations/vm-1', af.SERVICE, status=200)
        self.assertEqual(self.etag, head.headers['ETag'])
        got, head = head_requests.assert_head_like_get(
            self, self.app, '/v1/allocations/vm-1',
            dict(af.SERVICE, **{'If-None-Match': self.etag}), status=304)
        self.assertEqual(self.etag, head.headers['ETag'])
        self.assertNotIn('Content-Length', head.headers)

    def test_refusals_are_the_gets(self):
        # Another project's object: 404 as for one that does not exist;
        # no role: 403; a malformed If-None-Match: 400.
        other = af.identity(['member', 'reader'], 'other')
        head_requests.assert_head_like_get(
            self, self.app, '/v1/allocations/vm-1', other, status=404)
        head_requests.assert_head_like_get(
            self, self.app, '/v1/projects/leaf', other, status=404)
        head_requests.assert_head_like_get(
            self, self.app, '/v1/projects', af.NO_ROLES, status=403)
        head_requests.assert_head_like_get(
            self, self.app, '/v1/allocations/vm-1',
            dict(af.SERVICE, **{'If-None-Match': '5'}), status=400)
        head_requests.assert_head_like_get(
            self, self.app, '/v1/nowhere', af.SYSTEM_ADMIN, status=404)

    def test_method_not_allowed_lists_head_where_get_is(self):
        resp = self.app.delete('/v1/projects', headers=af.SYSTEM_ADMIN,
                               status=405)
        self.assertEqual('GET, HEAD, POST', resp.headers['Allow'])
        resp = self.app.post('/v1', headers=af.SYSTEM_ADMIN, status=405)
        self.assertEqual('GET, HEAD', resp.headers['Allow'])
        resp = self.app.put('/v1/openapi.json', status=405)
        self.assertEqual('GET, HEAD', resp.headers['Allow'])
        # A path without GET has no HEAD either.
        got, head = head_requests.assert_head_like_get(
            self, self.app, '/v1/enforce', af.SYSTEM_ADMIN, status=405)
        self.assertEqual('POST', head.headers['Allow'])


class TestHeadBehindKeystone(testtools.TestCase):
    """Without a token keystonemiddleware answers a HEAD as a GET: 401,
    with the same WWW-Authenticate; the version document needs none."""

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(af.ServiceApp(
            service.SPEC, auth_strategy='keystone')).app

    def test_no_token(self):
        got, head = head_requests.assert_head_like_get(
            self, self.app, '/v1/projects', status=401)
        self.assertIn('WWW-Authenticate', head.headers)
        head_requests.assert_head_like_get(self, self.app, '/', status=200)
