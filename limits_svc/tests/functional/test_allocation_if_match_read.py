"""``GET`` and ``HEAD /v1/allocations/{consumer_id}`` with ``If-Match``.

RFC 9110 13.1.1: when the condition is false the server does not
perform the method; it answers ``412``.  The header was ignored, and a
client that asked for the allocation of an ETag it held got another
one.  The header is read as a write reads it (strong comparison: a
weak or malformed ETag matches nothing).  A consumer that has no
allocation, or whose allocation the caller may not see, stays ``404``:
RFC 9110 13.2.1 has a server ignore preconditions of a request it would
refuse without them, and a ``412`` there would tell another project's
consumers from absent ones.
"""

from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import head_requests


class TestIfMatchOnRead(base.LimitsApiTestCase):

    def setUp(self):
        super().setUp()
        self.tree()
        self.etag = self.allocate('vm-1', 'leaf', cores=2).headers['ETag']

    def get(self, headers, status, consumer='vm-1', identity=af.SERVICE):
        return self.app.get('/v1/allocations/%s' % consumer, status=status,
                            headers=dict(identity, **headers))

    def assertChanged(self, resp):
        error = resp.json['errors'][0]
        self.assertEqual((412, 'limits.allocation_changed'),
                         (resp.status_int, error['code']))
        self.assertIn('consumer "vm-1"', error['detail'])

    def test_current_etag_and_star_get_the_allocation(self):
        for value in (self.etag, '*', '"1", %s' % self.etag):
            resp = self.get({'If-Match': value}, 200)
            self.assertEqual({'cores': 2},
                             resp.json['allocation']['resources'], value)
            self.assertEqual(self.etag, resp.headers['ETag'])

    def test_other_etag_is_412(self):
        self.assertChanged(self.get({'If-Match': '"1"'}, 412))

    def test_etag_of_before_a_write_is_412(self):
        self.allocate('vm-1', 'leaf', cores=3)
        self.assertChanged(self.get({'If-Match': self.etag}, 412))

    def test_weak_or_malformed_etag_is_412_as_for_put(self):
        for value in ('W/%s' % self.etag, 'W/%s, "1"' % self.etag,
                      self.etag.strip('"')):
            self.assertChanged(self.get({'If-Match': value}, 412))
            error = self.app.put_json(
                '/v1/allocations/vm-1',
                {'project_id': 'leaf', 'resources': {'cores': 2}},
                headers=dict(af.SERVICE, **{'If-Match': value}),
                status=412).json['errors'][0]
            self.assertEqual('limits.allocation_changed', error['code'])

    def test_if_match_is_decided_before_if_none_match(self):
        # RFC 9110 13.2.2: a false If-Match is 412 even where
        # If-None-Match alone would be 304; a true one leaves it its 304.
        self.assertChanged(self.get(
            {'If-Match': '"1"', 'If-None-Match': self.etag}, 412))
        resp = self.get({'If-Match': self.etag, 'If-None-Match': '*'}, 304)
        self.assertEqual(self.etag, resp.headers['ETag'])
        # A malformed If-None-Match is a 400 whatever If-Match finds.
        error = self.get({'If-Match': '"1"', 'If-None-Match': '5'},
                         400).json['errors'][0]
        self.assertEqual('If-None-Match', error['field'])

    def test_absent_or_hidden_allocation_stays_404(self):
        other = af.identity(['member', 'reader'], 'other')
        for value in ('*', self.etag, '"1"'):
            self.get({'If-Match': value}, 404, consumer='vm-none')
            self.get({'If-Match': value}, 404, identity=other)

    def test_head_answers_as_get(self):
        for value, status in ((self.etag, 200), ('"1"', 412),
                              ('W/%s' % self.etag, 412)):
            head_requests.assert_head_like_get(
                self, self.app, '/v1/allocations/vm-1',
                dict(af.SERVICE, **{'If-Match': value}), status=status)

    def test_openapi_document_lists_the_header_and_the_412(self):
        get = self.app.get('/v1/openapi.json').json['paths'][
            '/v1/allocations/{consumer_id}']['get']
        headers = {p['name'] for p in get['parameters']
                   if p.get('in') == 'header'}
        self.assertEqual({'If-Match', 'If-None-Match'}, headers)
        self.assertIn('412', get['responses'])
