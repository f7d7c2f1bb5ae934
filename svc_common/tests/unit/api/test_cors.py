"""CORS through the service's middleware chain.

:func:`svc_common.deploy._cors_middleware` keeps oslo.middleware's CORS
out of the way of requests it would not change when no origin is
allowed; what a browser client sees is the same either way.
"""

import os

import fixtures
import testtools
import webtest

from limits_svc import service
from svc_common import config
from svc_common import wsgi_app

DASHBOARD = 'https://dashboard.example'


class CorsTestCase(testtools.TestCase):

    ALLOWED_ORIGIN = None

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'limits.conf')
        with open(path, 'w') as conf_file:
            if self.ALLOWED_ORIGIN:
                conf_file.write('[cors]\nallowed_origin = %s\n'
                                % self.ALLOWED_ORIGIN)
        conf = config.build_conf(service.SPEC, default_config_files=[path],
                                 overrides={(None, 'state_path'): tmp,
                                            ('api', 'auth_strategy'):
                                                'noauth'})
        self.app = webtest.TestApp(wsgi_app.make_application(service.SPEC,
                                                             conf))

    def preflight(self):
        return self.app.options('/', headers={
            'Origin': DASHBOARD, 'Access-Control-Request-Method': 'GET'},
            status='*')


class TestNoOriginAllowed(CorsTestCase):

    def test_request_with_an_origin_gets_no_cors_header(self):
        resp = self.app.get('/', headers={'Origin': DASHBOARD})
        self.assertEqual(200, resp.status_int)
        self.assertNotIn('Access-Control-Allow-Origin', resp.headers)
        self.assertNotIn('Origin', resp.headers.get('Vary', ''))

    def test_preflight_is_answered_without_cors_headers(self):
        # oslo.middleware's CORS answers a preflight itself (200) even
        # when it allows no origin.
        resp = self.preflight()
        self.assertEqual(200, resp.status_int)
        self.assertNotIn('Access-Control-Allow-Origin', resp.headers)


class TestOriginAllowed(CorsTestCase):

    ALLOWED_ORIGIN = DASHBOARD

    def test_request_of_the_allowed_origin_gets_cors_headers(self):
        resp = self.app.get('/', headers={'Origin': DASHBOARD})
        self.assertEqual(DASHBOARD,
                         resp.headers['Access-Control-Allow-Origin'])
        self.assertIn('Origin', resp.headers['Vary'])

    def test_other_origin_gets_none(self):
        resp = self.app.get('/', headers={'Origin': 'https://evil.example'})
        self.assertNotIn('Access-Control-Allow-Origin', resp.headers)

    def test_preflight_of_the_allowed_origin(self):
        resp = self.preflight()
        self.assertEqual(200, resp.status_int)
        self.assertEqual(DASHBOARD,
                         resp.headers['Access-Control-Allow-Origin'])
        self.assertIn('GET', resp.headers['Access-Control-Allow-Methods'])
