"""``HEAD`` on every ``GET`` route of the preemption API (RFC 9110
9.3.2): the ``GET``'s status and headers, ``Content-Length`` of its body
included, and no body; the same refusals.  It was ``405`` everywhere, the
version document and ``/healthcheck`` included."""

import testtools

from reaper_svc import service
from reaper_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import head_requests

PHYSICS = af.identity(['member', 'reader'], 'physics', user_id='alice')
BIOLOGY = af.identity(['member', 'reader'], 'biology')
PENDING = {'servers': [dict(base.SERVER, count=1)], 'min_runtime': 3600,
           'deadline': '2099-01-01T00:00:00Z'}


class TestHead(testtools.TestCase):

    def setUp(self):
        super().setUp()
        reaper = self.useFixture(base.ReaperApp())
        self.app = reaper.app
        self.action_id = base.add_action(reaper.db, 'physics',
                                         ['biology'])['id']
        self.pending_id = self.app.post_json(
            '/v1/pending', PENDING, headers=PHYSICS).json['pending']['id']

    def test_every_get_route_answers_head_as_get(self):
        paths = head_requests.get_paths(service.SPEC, {
            'action_id': self.action_id, 'pending_id': self.pending_id})
        self.assertEqual(8, len(paths))
        with head_requests.WriteRecorder() as recorder:
            for path, _headers in paths + [('/healthcheck', None)]:
                head_requests.assert_head_like_get(
                    self, self.app, path, af.SYSTEM_ADMIN, status=200)
                head_requests.assert_head_like_get(
                    self, self.app, path, PHYSICS)
        self.assertEqual([], recorder.writes)

    def test_refusals_are_the_gets(self):
        # Another project's objects are 404, as those that do not exist.
        head_requests.assert_head_like_get(
            self, self.app, '/v1/pending/%s' % self.pending_id, BIOLOGY,
            status=404)
        head_requests.assert_head_like_get(
            self, self.app, '/v1/capacity', af.NO_ROLES, status=403)
        head_requests.assert_head_like_get(
            self, self.app, '/v1/actions?limit=x', af.SYSTEM_ADMIN,
            status=400)

    def test_method_not_allowed_lists_head_where_get_is(self):
        resp = self.app.put('/v1/pending', headers=PHYSICS, status=405)
        self.assertEqual('GET, HEAD, POST', resp.headers['Allow'])
        got, head = head_requests.assert_head_like_get(
            self, self.app, '/v1/plans', af.SYSTEM_ADMIN, status=405)
        self.assertEqual('POST', head.headers['Allow'])
