"""The microversion accessor, alone and behind the real middleware."""

import dataclasses

import pecan
import testtools
import webtest

from limits_svc import service
from svc_common.api import microversion
from svc_common import config
from svc_common import deploy

SPEC = dataclasses.replace(service.SPEC, versions=('1.0', '1.2', '1.10'))
HEADERS = {'X-User-Id': 'u', 'X-Roles': 'reader', 'X-Project-Id': 'p'}


class _Current(object):
    """Answers with what the accessor says about the request."""

    @pecan.expose('json')
    def index(self):
        return {'current': str(microversion.current()),
                'at_least_1_2': microversion.is_at_least('1.2')}


class _Newer(object):

    @pecan.expose('json')
    def index(self):
        return {'version': str(microversion.require('1.10'))}


class _Root(object):
    """``/v1`` and ``/newer``, plain controllers as the router reads
    them (:mod:`svc_common.api.routes`)."""

    v1 = _Current()
    newer = _Newer()


class _Request(object):
    def __init__(self, version):
        self.spec = SPEC
        self.environ = {'limits.microversion': version}


class TestParse(testtools.TestCase):

    def test_compares_as_numbers(self):
        self.assertGreater(microversion.parse('1.10'),
                           microversion.parse('1.9'))
        self.assertEqual('1.10', str(microversion.parse('1.10')))

    def test_rejects_what_is_not_x_y(self):
        for bad in ('1', 'latest', '1.x', ''):
            self.assertRaises(ValueError, microversion.parse, bad)

    def test_require_on_a_plain_request(self):
        request = _Request(microversion.parse('1.2'))
        self.assertEqual((1, 2), microversion.require('1.2', request))
        self.assertTrue(microversion.is_at_least('1.0', request))
        self.assertFalse(microversion.is_at_least('1.3', request))

    def test_no_negotiation_is_an_error_not_a_default(self):
        self.assertRaises(LookupError, microversion.from_environ, {},
                          'limits')


class TestThroughTheMiddleware(testtools.TestCase):

    def setUp(self):
        super().setUp()
        conf = config.build_conf(SPEC, overrides={
            ('api', 'auth_strategy'): 'noauth'})
        self.app = webtest.TestApp(deploy.deploy(SPEC, conf, None, None,
                                                 root=_Root()))

    def get(self, path, version=None, status=200):
        headers = dict(HEADERS)
        if version:
            headers['OpenStack-API-Version'] = 'limits %s' % version
        return self.app.get(path, headers=headers, status=status).json

    def test_default_is_the_oldest_version(self):
        self.assertEqual({'current': '1.0', 'at_least_1_2': False},
                         self.get('/v1'))

    def test_version_asked_for(self):
        self.assertEqual({'current': '1.10', 'at_least_1_2': True},
                         self.get('/v1', '1.10'))
        self.assertEqual({'current': '1.10', 'at_least_1_2': True},
                         self.get('/v1', 'latest'))

    def test_require_refuses_an_older_version_with_a_404(self):
        error = self.get('/newer', '1.2', status=404)['errors'][0]
        self.assertEqual('limits.not_found', error['code'])
        self.assertIn('from microversion 1.10 on', error['detail'])
        self.assertIn('OpenStack-API-Version: limits 1.10', error['detail'])
        self.assertEqual({'version': '1.10'}, self.get('/newer', '1.10'))
