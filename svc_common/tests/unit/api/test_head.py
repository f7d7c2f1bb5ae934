"""``HEAD`` through the chain :func:`svc_common.deploy.deploy` builds.

RFC 9110 9.3.2: a ``HEAD`` gets the status and the header fields that
the ``GET`` of the same URL would get, and no body.  Every layer decides
as for that ``GET`` (healthcheck, CORS, authentication, routing,
conditional requests, errors); a ``GET`` that changes state, declared
``Operation(head=False)``, is never run for a ``HEAD`` (405); a ``405``
lists ``HEAD`` wherever ``GET`` is answered.  Before, every ``HEAD`` was
a ``405`` (``/healthcheck``: a ``204`` without the ``GET``'s headers).
"""

import dataclasses
import os

import fixtures
import pecan
from pecan import rest
import testtools
import webob
import webtest

from limits_svc import service
from svc_common.api import openapi
from svc_common import config
from svc_common import deploy
from svc_common import errors
from svc_common.tests.fixtures import head_requests

SPEC = dataclasses.replace(service.SPEC)
HEADERS = {'X-User-Id': 'u', 'X-Roles': 'reader', 'X-Project-Id': 'p'}
ETAG = '"7"'


class _Things(rest.RestController):
    """A collection: a list, an item with an ETag that answers 304 to a
    matching If-None-Match, and writes."""

    def __init__(self):
        self.environs = []

    @pecan.expose('json')
    def get_all(self):
        self.environs.append(dict(pecan.request.environ))
        return {'things': [{'id': 't1'}, {'id': 't2'}]}

    @pecan.expose('json')
    def get_one(self, thing_id):
        if thing_id == 'conflict':
            raise errors.Conflict('Busy thing.', code='busy')
        pecan.response.headers['ETag'] = ETAG
        pecan.response.headers['Cache-Control'] = 'max-age=60'
        if pecan.request.headers.get('If-None-Match') == ETAG:
            pecan.response.status = 304
            return None
        return {'thing': {'id': thing_id}}

    @pecan.expose('json')
    def post(self):
        return {}

    @pecan.expose('json')
    def delete(self, thing_id):
        pecan.response.status = 204


class _Document(object):
    """A plain controller answering GET only."""

    OPENAPI = {'index': openapi.Operation(
        None, {}, method='GET', summary='A document.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        return {'document': 'x' * 300}


class _Login(object):
    """A plain controller whose GET changes state (as a login's start),
    and that takes POST too."""

    OPENAPI = {'index': (
        openapi.Operation(None, None, status=302, method='GET', head=False,
                          summary='Starts something.'),
        openapi.Operation(None, None, status=302, method='POST',
                          summary='Starts something.'))}

    def __init__(self):
        self.started = 0

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        self.started += 1
        pecan.response.status = 302
        pecan.response.headers['Location'] = 'http://idp.example.org/'

    @index.when(method='POST', template='json')
    def index_post(self):
        return self.index_get()


class _PostOnly(object):

    OPENAPI = {'index': openapi.Operation(
        None, None, status=204, method='POST', summary='A write.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='POST', template='json')
    def index_post(self):
        pecan.response.status = 204


class _V1(object):

    OPENAPI = {'index': openapi.Operation(
        None, {}, method='GET', summary='The index.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        return {}

    def __init__(self):
        self.things = _Things()
        self.document = _Document()
        self.login = _Login()
        self.enforce = _PostOnly()


class _Root(object):

    def __init__(self):
        self.v1 = _V1()


class HeadTestCase(testtools.TestCase):

    ALLOWED_ORIGIN = None

    def setUp(self):
        super().setUp()
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'limits.conf')
        with open(path, 'w') as conf_file:
            if self.ALLOWED_ORIGIN:
                conf_file.write('[cors]\nallowed_origin = %s\n'
                                % self.ALLOWED_ORIGIN)
        conf = config.build_conf(SPEC, default_config_files=[path],
                                 overrides={('api', 'auth_strategy'):
                                            'noauth'})
        self.root = _Root()
        self.app = webtest.TestApp(deploy.deploy(SPEC, conf, None, None,
                                                 root=self.root))

    def assertHeadLikeGet(self, path, status, headers=HEADERS):
        return head_requests.assert_head_like_get(self, self.app, path,
                                                  headers, status=status)


class TestHeadIsGetWithoutBody(HeadTestCase):

    def test_collection_item_and_plain_controller(self):
        for path in ('/v1/things', '/v1/things/t1', '/v1/document'):
            got, head = self.assertHeadLikeGet(path, 200)
            self.assertEqual('application/json', head.content_type)
            self.assertEqual(str(len(got.body)),
                             head.headers['Content-Length'])
        got, head = self.assertHeadLikeGet('/v1/things/t1', 200)
        self.assertEqual(ETAG, head.headers['ETag'])
        self.assertEqual('max-age=60', head.headers['Cache-Control'])

    def test_not_modified(self):
        got, head = self.assertHeadLikeGet(
            '/v1/things/t1', 304, dict(HEADERS, **{'If-None-Match': ETAG}))
        self.assertEqual(ETAG, head.headers['ETag'])
        self.assertNotIn('Content-Length', head.headers)

    def test_errors_are_the_gets_with_their_length(self):
        got, head = self.assertHeadLikeGet('/v1/things/conflict', 409)
        self.assertEqual('limits.busy', got.json['errors'][0]['code'])
        self.assertEqual(str(len(got.body)), head.headers['Content-Length'])
        self.assertHeadLikeGet('/v1/nowhere', 404)
        # Refused before routing: the same 400 as the GET.
        self.assertHeadLikeGet('/v1/things?limit=1&limit=2', 400)
        # A microversion the service does not have: 406.
        self.assertHeadLikeGet(
            '/v1/things', 406,
            dict(HEADERS, **{'OpenStack-API-Version': 'limits 9.9'}))

    def test_unauthenticated_is_the_gets_401(self):
        got, head = self.assertHeadLikeGet('/v1/things', 401, headers={})

    def test_public_version_of_the_chain(self):
        # /healthcheck answered a HEAD 204, without the GET's headers.
        got, head = self.assertHeadLikeGet('/healthcheck', 200, headers={})
        self.assertEqual('text/plain', head.content_type)

    def test_handler_sees_a_get_and_a_get_is_not_marked(self):
        self.app.get('/v1/things', headers=HEADERS)
        self.app.head('/v1/things', headers=HEADERS)
        got, head = self.root.v1.things.environs
        self.assertEqual(('GET', 'GET'), (got['REQUEST_METHOD'],
                                          head['REQUEST_METHOD']))
        self.assertNotIn(deploy.HEAD_KEY, got)
        self.assertTrue(head[deploy.HEAD_KEY])


class TestStateChangingGet(HeadTestCase):

    def test_head_is_405_without_running_the_get(self):
        self.app.get('/v1/login', headers=HEADERS, status=302)
        self.assertEqual(1, self.root.v1.login.started)
        resp = self.app.head('/v1/login', headers=HEADERS, status=405)
        self.assertEqual(b'', resp.body)
        self.assertEqual('GET, POST', resp.headers['Allow'])
        self.assertEqual(1, self.root.v1.login.started)

    def test_its_405_does_not_list_head(self):
        resp = self.app.put('/v1/login', headers=HEADERS, status=405)
        self.assertEqual('GET, POST', resp.headers['Allow'])
        self.assertEqual('limits.method_not_allowed',
                         resp.json['errors'][0]['code'])


class TestAllow(HeadTestCase):

    def test_405_lists_head_where_get_is_answered(self):
        resp = self.app.delete('/v1/things', headers=HEADERS, status=405)
        self.assertEqual('GET, HEAD, POST', resp.headers['Allow'])
        resp = self.app.put('/v1/things/t1', headers=HEADERS, status=405)
        self.assertEqual('DELETE, GET, HEAD', resp.headers['Allow'])
        resp = self.app.post('/v1/document', headers=HEADERS, status=405)
        self.assertEqual('GET, HEAD', resp.headers['Allow'])

    def test_no_head_where_there_is_no_get(self):
        got, head = self.assertHeadLikeGet('/v1/enforce', 405)
        self.assertEqual('POST', head.headers['Allow'])


class TestCors(HeadTestCase):

    ALLOWED_ORIGIN = 'https://dash.example.org'
    ORIGIN = {'Origin': 'https://dash.example.org'}

    def test_head_gets_the_gets_cors_headers(self):
        got, head = self.assertHeadLikeGet('/v1/things', 200,
                                           dict(HEADERS, **self.ORIGIN))
        self.assertEqual('https://dash.example.org',
                         head.headers['Access-Control-Allow-Origin'])

    def test_preflight_of_a_head(self):
        resp = self.app.options('/v1/things', headers=dict(self.ORIGIN, **{
            'Access-Control-Request-Method': 'HEAD'}))
        self.assertEqual(200, resp.status_int)
        self.assertEqual('https://dash.example.org',
                         resp.headers['Access-Control-Allow-Origin'])
        self.assertIn('HEAD', resp.headers['Access-Control-Allow-Methods'])


class TestLazyApplication(testtools.TestCase):
    """A HEAD's answer is started and closed as a WSGI server would see
    it, whatever the application below does."""

    def test_lazy_answer_is_started_and_closed(self):
        closed = []

        class Body(object):
            def __init__(self, start_response):
                self.start_response = start_response

            def __iter__(self):
                self.start_response('200 OK', [
                    ('Content-Type', 'text/plain'), ('Content-Length', '5')])
                yield b'hello'

            def close(self):
                closed.append(True)

        def application(environ, start_response):
            self.assertEqual('GET', environ['REQUEST_METHOD'])
            return Body(start_response)

        app = webtest.TestApp(deploy._RequestId(application))
        resp = app.head('/')
        self.assertEqual('5', resp.headers['Content-Length'])
        self.assertEqual(b'', resp.body)
        self.assertEqual([True], closed)
        self.assertIsInstance(resp, webob.Response)

    def test_the_servers_environ_keeps_its_head(self):
        # A WSGI server that logs the method from its environ after the
        # answer (gunicorn's access log) logged a HEAD as a GET.
        def application(environ, start_response):
            start_response('200 OK', [('Content-Length', '2')])
            return [b'{}']

        environ = {'REQUEST_METHOD': 'HEAD', 'PATH_INFO': '/',
                   'wsgi.input': None}
        started = []
        body = deploy._RequestId(application)(
            environ, lambda status, headers, exc_info=None: started.append(
                status))
        self.assertEqual(([], ['200 OK']), (list(body), started))
        self.assertEqual('HEAD', environ['REQUEST_METHOD'])
        self.assertNotIn(deploy.HEAD_KEY, environ)
