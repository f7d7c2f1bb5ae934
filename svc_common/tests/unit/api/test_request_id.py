"""Request ids, as oslo.middleware's ``request_id`` gives them.

:class:`svc_common.deploy._RequestId` does what oslo.middleware's
``RequestId`` does, in plain WSGI; these tests hold what a client and a
handler see.
"""

import re

import pecan
import testtools
import webtest

from limits_svc import service
from svc_common import config
from svc_common import deploy

HEADERS = {'X-User-Id': 'u', 'X-Roles': 'reader', 'X-Project-Id': 'p'}
REQUEST_ID = re.compile('^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
                        '[0-9a-f]{4}-[0-9a-f]{12}$')
GLOBAL_ID = 'req-12345678-1234-5678-1234-567812345678'


class _Probe(object):

    @pecan.expose('json')
    def index(self):
        ctx = pecan.request.context
        return {'request_id': ctx.request_id,
                'global_request_id': ctx.global_request_id}


class _Root(object):
    v1 = _Probe()


class TestRequestId(testtools.TestCase):

    def setUp(self):
        super().setUp()
        conf = config.build_conf(service.SPEC, overrides={
            ('api', 'auth_strategy'): 'noauth'})
        self.app = webtest.TestApp(deploy.deploy(service.SPEC, conf, None,
                                                 None, root=_Root()))

    def test_handler_and_client_see_the_same_new_id(self):
        first = self.app.get('/v1', headers=HEADERS)
        second = self.app.get('/v1', headers=HEADERS)
        for resp in (first, second):
            header = resp.headers['X-OpenStack-Request-ID']
            self.assertRegex(header, REQUEST_ID)
            self.assertEqual(header, resp.json['request_id'])
            self.assertEqual(1, len(resp.headers.getall(
                'X-OpenStack-Request-ID')))
        self.assertNotEqual(first.json['request_id'],
                            second.json['request_id'])

    def test_inbound_id_is_the_global_request_id(self):
        resp = self.app.get('/v1', headers=dict(
            HEADERS, **{'X-OpenStack-Request-ID': GLOBAL_ID}))
        self.assertEqual(GLOBAL_ID, resp.json['global_request_id'])
        self.assertNotEqual(GLOBAL_ID, resp.json['request_id'])
        self.assertEqual(resp.json['request_id'],
                         resp.headers['X-OpenStack-Request-ID'])

    def test_malformed_inbound_id_is_dropped(self):
        for bad in ('req-1', GLOBAL_ID.upper(), 'x' + GLOBAL_ID):
            resp = self.app.get('/v1', headers=dict(
                HEADERS, **{'X-OpenStack-Request-ID': bad}))
            self.assertIsNone(resp.json['global_request_id'], bad)

    def test_errors_carry_the_id_in_header_and_body(self):
        for path, headers, status in (('/nowhere', HEADERS, 404),
                                      ('/v1', {}, 401)):
            resp = self.app.get(path, headers=headers, status=status)
            header = resp.headers['X-OpenStack-Request-ID']
            self.assertRegex(header, REQUEST_ID)
            self.assertEqual(header, resp.json['errors'][0]['request_id'])

    def test_healthcheck_has_an_id(self):
        resp = self.app.get('/healthcheck')
        self.assertRegex(resp.headers['X-OpenStack-Request-ID'], REQUEST_ID)
