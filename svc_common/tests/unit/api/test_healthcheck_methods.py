"""The methods ``/healthcheck`` answers, in each service's real app.

``GET`` and ``HEAD`` run oslo.middleware's healthcheck; any other method
is the ``405`` a path of the service answers it (its JSON error,
``Allow: GET, HEAD``) and runs no check, and ``OPTIONS`` is answered as
on any other path.  Before, oslo.middleware answered every method as it
answers ``GET``: ``PUT``, ``POST``, ``DELETE`` and ``PATCH`` were a
``200`` (``503`` while disabled).
"""

import os
import socket

import fixtures
import testtools
import webtest

from svc_common.cmd import all_in_one
from svc_common import config
from svc_common.db import migration
from svc_common.tests.fixtures import api as af
from svc_common import wsgi_app

DASHBOARD = 'https://dashboard.example'
REFUSED_METHODS = ('POST', 'PUT', 'DELETE', 'PATCH')


class _HealthcheckMethodsTests(object):
    """Mixed into one ``testtools.TestCase`` per service (``SPEC``)."""

    SPEC = None
    #: ``[cors] allowed_origin``, if any.
    ALLOWED_ORIGIN = None

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        # The health check is disabled while this file exists.
        self.disable_file = os.path.join(tmp, 'healthcheck-disable')
        path = os.path.join(tmp, 'service.conf')
        with open(path, 'w') as conf_file:
            conf_file.write('[healthcheck]\nbackends = disable_by_file\n'
                            'disable_by_file_path = %s\n'
                            % self.disable_file)
            if self.ALLOWED_ORIGIN:
                conf_file.write('[cors]\nallowed_origin = %s\n'
                                % self.ALLOWED_ORIGIN)
        conf = config.build_conf(
            self.SPEC, default_config_files=[path],
            overrides={(None, 'state_path'): tmp,
                       ('api', 'auth_strategy'): 'noauth'})
        migration.upgrade(self.SPEC, conf.database.connection)
        self.app = webtest.TestApp(
            wsgi_app.make_application(self.SPEC, conf))

    def disable_healthcheck(self):
        open(self.disable_file, 'w').close()

    def without_request_id(self, resp):
        headers = {name.lower(): value for name, value in resp.headers.items()
                   if name.lower() != 'x-openstack-request-id'}
        return resp.status, headers, resp.body

    def test_get_and_head_answer_as_before(self):
        resp = self.app.get('/healthcheck')
        self.assertEqual(200, resp.status_int)
        self.assertEqual('text/plain', resp.content_type)
        self.assertEqual(b'OK', resp.body)
        head = self.app.head('/healthcheck')
        self.assertEqual(200, head.status_int)
        self.assertEqual(self.without_request_id(resp)[1],
                         self.without_request_id(head)[1])
        self.assertEqual(b'', head.body)
        self.disable_healthcheck()
        self.assertEqual(503, self.app.get('/healthcheck',
                                           status=503).status_int)
        self.assertEqual(503, self.app.head('/healthcheck',
                                            status=503).status_int)

    def test_other_methods_are_refused(self):
        for method in REFUSED_METHODS:
            resp = self.app.request('/healthcheck', method=method,
                                    status='*')
            self.assertEqual(405, resp.status_int, method)
            self.assertEqual('GET, HEAD', resp.headers['Allow'])
            self.assertEqual('application/json', resp.content_type)
            err, = resp.json['errors']
            self.assertEqual(resp.headers['X-OpenStack-Request-ID'],
                             err.pop('request_id'))
            # The 405 of another path of the service that answers GET
            # and HEAD only, its version document.
            other = self.app.request('/', method=method, status=405)
            self.assertEqual(other.headers['Allow'], resp.headers['Allow'])
            other_err, = other.json['errors']
            other_err.pop('request_id')
            self.assertEqual(other_err, err)
            self.assertEqual({
                'status': 405,
                'code': '%s.method_not_allowed' % self.SPEC.namespace,
                'title': 'Method Not Allowed',
                'detail': 'The method %s is not allowed for this '
                          'resource.' % method}, err)

    def test_other_methods_run_no_check(self):
        # Disabled, the check answers 503 to a GET; a refused method is
        # still the 405, whatever the check would answer.
        self.disable_healthcheck()
        self.app.get('/healthcheck', status=503)
        for method in REFUSED_METHODS:
            resp = self.app.request('/healthcheck', method=method,
                                    status='*')
            self.assertEqual(405, resp.status_int, method)

    def test_options_as_on_another_path(self):
        for headers in ({}, {'Origin': DASHBOARD,
                             'Access-Control-Request-Method': 'GET'}):
            resp = self.app.options('/healthcheck', headers=headers,
                                    status='*')
            other = self.app.options('/', headers=headers, status='*')
            self.assertEqual(self.without_request_id(other),
                             self.without_request_id(resp))


class _IgnoredRequestTests(object):
    """A request the health check leaves alone (``[healthcheck]
    allowed_source_ranges``, ``ignore_proxied_requests``) is answered by
    the service as a path it does not have.  It was forwarded over HTTP
    to ``SERVER_NAME:SERVER_PORT`` (webob's answer for a middleware
    given no application), which WSGI servers such as gunicorn take from
    the request's ``Host``: a 502, or the answer of the host a client
    named."""

    SPEC = None

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'service.conf')
        with open(path, 'w') as conf_file:
            conf_file.write('[healthcheck]\n'
                            'allowed_source_ranges = 10.0.0.0/8\n'
                            'ignore_proxied_requests = true\n')
        conf = config.build_conf(
            self.SPEC, default_config_files=[path],
            overrides={(None, 'state_path'): tmp,
                       ('api', 'auth_strategy'): 'noauth'})
        migration.upgrade(self.SPEC, conf.database.connection)
        self.app = webtest.TestApp(
            wsgi_app.make_application(self.SPEC, conf))
        # Where such a request was sent: its Host.
        self.elsewhere = socket.socket()
        self.addCleanup(self.elsewhere.close)
        self.elsewhere.bind(('127.0.0.1', 0))
        self.elsewhere.listen(8)
        self.elsewhere.setblocking(False)
        self.host = '127.0.0.1:%d' % self.elsewhere.getsockname()[1]

    def get(self, remote_addr, headers=None):
        # webob sent it to SERVER_NAME:SERVER_PORT, which a WSGI server
        # (gunicorn) takes from the Host header; its timeout only keeps
        # the old code from waiting for ever on a host that never
        # answers.
        headers = dict(headers or {}, Host=self.host)
        host, port = self.elsewhere.getsockname()
        resp = self.app.get('/healthcheck', headers=headers, status='*',
                            extra_environ={'REMOTE_ADDR': remote_addr,
                                           'SERVER_NAME': host,
                                           'SERVER_PORT': str(port),
                                           'webob.client.timeout': 1})
        self.assertNothingSentElsewhere()
        return resp

    def assertNothingSentElsewhere(self):
        self.assertRaises(BlockingIOError, self.elsewhere.accept)

    def test_source_outside_the_ranges(self):
        resp = self.get('127.0.0.1')
        self.assertEqual(401, resp.status_int)
        err, = resp.json['errors']
        self.assertEqual('%s.unauthorized' % self.SPEC.namespace,
                         err['code'])
        resp = self.get('127.0.0.1', af.SYSTEM_READER)
        self.assertEqual(404, resp.status_int)
        err, = resp.json['errors']
        self.assertEqual('%s.not_found' % self.SPEC.namespace, err['code'])

    def test_other_methods_outside_the_ranges(self):
        # As a GET: a path the service does not have, not the health
        # check's 405 (whose Allow said that the check is there).
        for method in REFUSED_METHODS:
            for headers, remote_addr, status in (
                    ({}, '127.0.0.1', 401),
                    ({'X-Forwarded-For': '192.0.2.1'}, '10.1.1.1', 401),
                    (af.SYSTEM_READER, '127.0.0.1', 404)):
                resp = self.app.request(
                    '/healthcheck', method=method, status='*',
                    headers=headers,
                    environ={'REMOTE_ADDR': remote_addr})
                self.assertEqual(status, resp.status_int, method)
                self.assertNotIn('Allow', resp.headers)
            # From inside the ranges, still the health check's 405.
            resp = self.app.request('/healthcheck', method=method,
                                    status='*',
                                    environ={'REMOTE_ADDR': '10.1.1.1'})
            self.assertEqual(405, resp.status_int, method)
            self.assertEqual('GET, HEAD', resp.headers['Allow'])

    def test_proxied_request(self):
        resp = self.get('10.1.1.1', {'X-Forwarded-For': '192.0.2.1'})
        self.assertEqual(401, resp.status_int)

    def test_source_in_the_ranges_is_answered(self):
        self.assertEqual(200, self.get('10.1.1.1').status_int)


def _make_classes():
    for spec in all_in_one.load_specs():
        name = spec.package.title().replace('_', '')
        for origin, suffix in ((None, ''), (DASHBOARD, 'Cors')):
            cls_name = 'Test%sHealthcheckMethods%s' % (name, suffix)
            globals()[cls_name] = type(
                cls_name, (_HealthcheckMethodsTests, testtools.TestCase),
                {'SPEC': spec, 'ALLOWED_ORIGIN': origin})
        cls_name = 'Test%sHealthcheckIgnoredRequests' % name
        globals()[cls_name] = type(
            cls_name, (_IgnoredRequestTests, testtools.TestCase),
            {'SPEC': spec})


_make_classes()
