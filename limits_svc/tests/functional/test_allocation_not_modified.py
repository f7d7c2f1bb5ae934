"""``GET /v1/allocations/{consumer_id}`` with ``If-None-Match``.

A client that holds the allocation's current ETag gets ``304 Not
Modified``: no body, no Content-Length, the ETag (RFC 9110 13.1.2 and
15.4.5); any other ETag, or a later write, gets the allocation.
"""

from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af


class TestConditionalGet(base.LimitsApiTestCase):

    def setUp(self):
        super().setUp()
        self.tree()
        self.etag = self.allocate('vm-1', 'leaf', cores=2).headers['ETag']

    def get(self, if_none_match, status, headers=af.SERVICE):
        return self.app.get('/v1/allocations/vm-1', status=status,
                            headers=dict(headers,
                                         **{'If-None-Match': if_none_match}))

    def assertNotModified(self, resp):
        self.assertEqual(304, resp.status_int)
        self.assertEqual(b'', resp.body)
        self.assertEqual(self.etag, resp.headers['ETag'])
        self.assertNotIn('Content-Length', resp.headers)
        self.assertNotIn('Content-Type', resp.headers)
        self.assertIn('X-OpenStack-Request-ID', resp.headers)

    def test_current_etag_is_not_modified(self):
        self.assertNotModified(self.get(self.etag, 304))

    def test_weak_and_listed_etags_compare_weakly(self):
        self.assertNotModified(self.get('W/%s' % self.etag, 304))
        self.assertNotModified(self.get('"1", %s' % self.etag, 304))

    def test_star_is_not_modified_while_there_is_an_allocation(self):
        self.assertNotModified(self.get('*', 304))

    def test_other_etag_gets_the_allocation(self):
        resp = self.get('"1"', 200)
        self.assertEqual('vm-1', resp.json['allocation']['consumer_id'])
        self.assertEqual(self.etag, resp.headers['ETag'])

    def test_after_a_write_the_old_etag_gets_the_new_allocation(self):
        new_etag = self.allocate('vm-1', 'leaf', cores=3).headers['ETag']
        resp = self.get(self.etag, 200)
        self.assertEqual({'cores': 3}, resp.json['allocation']['resources'])
        self.assertEqual(new_etag, resp.headers['ETag'])

    def test_malformed_value_is_refused_as_for_writes(self):
        error = self.get('5', 400).json['errors'][0]
        self.assertEqual('If-None-Match', error['field'])

    def test_other_project_gets_a_404_whatever_the_etag(self):
        other = af.identity(['member', 'reader'], 'other')
        self.get(self.etag, 404, headers=other)
        self.get('*', 404, headers=other)

    def test_absent_consumer_is_a_404(self):
        self.app.get('/v1/allocations/vm-none', status=404,
                     headers=dict(af.SERVICE, **{'If-None-Match': '*'}))
