"""``HEAD`` on every ``GET`` route of the image family API (RFC 9110
9.3.2): the ``GET``'s status and headers, ``Content-Length`` of its body
included, and no body; the same refusals.  It was ``405`` everywhere, the
version document and ``/healthcheck`` included."""

from image_family_svc import service
from image_family_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import head_requests


class TestHead(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.family('centos-7')
        self.add('centos-7', 'img-1', '7.1', state='active')

    def test_every_get_route_answers_head_as_get(self):
        paths = head_requests.get_paths(service.SPEC, {
            'family_name': 'centos-7', 'image_id': 'img-1'})
        self.assertEqual(11, len(paths))
        with head_requests.WriteRecorder() as recorder:
            for path, _headers in paths + [('/healthcheck', None)]:
                head_requests.assert_head_like_get(
                    self, self.app, path, base.ADMIN, status=200)
                head_requests.assert_head_like_get(
                    self, self.app, path, af.PROJECT_READER)
        self.assertEqual([], recorder.writes)

    def test_refusals_are_the_gets(self):
        head_requests.assert_head_like_get(
            self, self.app, '/v1/families/nope', base.ADMIN, status=404)
        head_requests.assert_head_like_get(
            self, self.app, '/v1/families', af.NO_ROLES, status=403)
        head_requests.assert_head_like_get(
            self, self.app, '/v1/families', status=401)

    def test_method_not_allowed_lists_head_where_get_is(self):
        resp = self.app.put('/v1/families/centos-7', headers=base.ADMIN,
                            status=405)
        self.assertEqual('DELETE, GET, HEAD, PATCH', resp.headers['Allow'])
        resp = self.app.patch('/v1/images/img-1/transitions',
                              headers=base.ADMIN, status=405)
        self.assertEqual('GET, HEAD, POST', resp.headers['Allow'])
