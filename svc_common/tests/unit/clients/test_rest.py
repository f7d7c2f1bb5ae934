"""The shared REST client: error shape, microversion, pages, endpoint."""

import json
import logging

import fixtures
from keystoneauth1 import session as ks_session
import requests
import testtools

from svc_common.clients import rest

URL = 'http://limits.example:9870'


class Wire(requests.adapters.BaseAdapter):
    """Answers each request with the next ``(status, body, headers)``."""

    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        status, body, headers = (self.answers.pop(0) + ({},))[:3]
        resp = requests.Response()
        resp.status_code = status
        resp.request = request
        resp.url = request.url
        resp.headers.update(headers)
        if isinstance(body, (dict, list)):
            resp._content = json.dumps(body).encode()
            resp.headers['Content-Type'] = 'application/json'
        else:
            resp._content = (body or '').encode()
        return resp

    def close(self):
        pass


class Client(rest.RestClient):
    service_type = 'limits'


class RestTestCase(testtools.TestCase):

    def client(self, *answers, **kwargs):
        self.wire = Wire(*answers)
        http = requests.Session()
        http.mount('http://', self.wire)
        kwargs.setdefault('endpoint_override', URL)
        return Client(ks_session.Session(auth=None, session=http), **kwargs)

    def sent(self, n=-1):
        return self.wire.sent[n]


class TestErrors(RestTestCase):

    def test_error_shape_becomes_one_exception(self):
        client = self.client((409, {'errors': [{
            'status': 409, 'code': 'limits.over_limit', 'title': 'Conflict',
            'detail': 'Over limit', 'request_id': 'req-1',
            'blocking': [{'resource': 'cores'}]}]}))
        exc = self.assertRaises(rest.ApiError, client.put, '/v1/x', {})
        self.assertEqual((409, 'limits.over_limit', 'Conflict',
                          'Over limit', 'req-1'),
                         (exc.status, exc.code, exc.title, exc.detail,
                          exc.request_id))
        self.assertEqual([{'resource': 'cores'}], exc.error['blocking'])
        self.assertNotIsInstance(exc, rest.NotFound)

    def test_404_is_not_found(self):
        client = self.client((404, {'errors': [{'code': 'limits.not_found',
                                                'detail': 'No x.'}]}))
        exc = self.assertRaises(rest.NotFound, client.get, '/v1/x')
        self.assertEqual('limits.not_found', exc.code)

    def test_answer_not_in_the_shape_keeps_its_text_and_request_id(self):
        client = self.client((502, '<html>Bad Gateway</html>',
                              {'x-openstack-request-id': 'req-9'}))
        exc = self.assertRaises(rest.ApiError, client.get, '/v1/x')
        self.assertEqual(502, exc.status)
        self.assertIsNone(exc.code)
        self.assertEqual('<html>Bad Gateway</html>', exc.detail)
        self.assertEqual('req-9', exc.request_id)

    def test_success_bodies(self):
        client = self.client((200, {'a': 1}), (204, ''))
        self.assertEqual({'a': 1}, client.get('/v1/x'))
        self.assertIsNone(client.delete('/v1/x'))

    def test_needs_a_session_or_adapter(self):
        self.assertRaises(ValueError, Client)


class TestRequests(RestTestCase):

    def test_microversion_header_names_the_service_type(self):
        client = self.client((200, {}), microversion='1.2')
        client.get('/v1/x')
        self.assertEqual('limits 1.2',
                         self.sent().headers['OpenStack-API-Version'])

    def test_no_microversion_no_header(self):
        self.client((200, {})).get('/v1/x')
        self.assertNotIn('OpenStack-API-Version', self.sent().headers)

    def test_endpoint_with_v1_is_the_api_root(self):
        for endpoint in (URL + '/v1', URL + '/v1/', URL + '/'):
            client = self.client((200, {}), endpoint_override=endpoint)
            client.get('/v1/things')
            self.assertEqual(URL + '/v1/things', self.sent().url)

    def test_api_root(self):
        self.assertIsNone(rest.api_root(None))
        self.assertEqual('http://h/api', rest.api_root('http://h/api/v1'))
        self.assertEqual('http://h/v10', rest.api_root('http://h/v10'))


class TestList(RestTestCase):

    def test_follows_next_links_without_limit(self):
        client = self.client(
            (200, {'things': [{'id': 'a'}], 'links': [
                {'rel': 'next', 'href': '/v1/things?limit=1&marker=a'}]}),
            (200, {'things': [{'id': 'b'}], 'links': []}))
        items = list(client.list('/v1/things', 'things',
                                 {'owner': 'p', 'other': None}))
        self.assertEqual(['a', 'b'], [item['id'] for item in items])
        self.assertEqual(['/v1/things?owner=p',
                          '/v1/things?limit=1&marker=a'],
                         [request.path_url for request in self.wire.sent])

    def test_a_next_link_that_comes_back_ends_the_list(self):
        # A cache that ignores the query string answers every page with
        # the first: the list went on for ever.
        page = (200, {'things': [{'id': 'a'}], 'links': [
            {'rel': 'next', 'href': '/v1/things?marker=a'}]})
        client = self.client(page, page, page, page)
        items = client.list('/v1/things', 'things')
        self.assertEqual({'id': 'a'}, next(items))
        self.assertEqual({'id': 'a'}, next(items))
        exc = self.assertRaises(rest.ApiError, next, items)
        self.assertIn('/v1/things?marker=a', exc.detail)
        self.assertEqual(2, len(self.wire.sent))

    def test_one_page_with_limit(self):
        client = self.client((200, {
            'things': [{'id': 'b'}],
            'links': [{'rel': 'next', 'href': '/v1/things?marker=b'}]}))
        items = list(client.list('/v1/things', 'things', limit=1,
                                 marker='a'))
        self.assertEqual([{'id': 'b'}], items)
        self.assertEqual(1, len(self.wire.sent))
        self.assertEqual('/v1/things?limit=1&marker=a',
                         self.sent().path_url)


class TestPathSegment(testtools.TestCase):

    def test_url_characters_stay_in_the_segment(self):
        self.assertEqual('%23ops', rest.path_segment('#ops'))
        self.assertEqual('b%3Fc%25d%20e', rest.path_segment('b?c%d e'))
        self.assertEqual('caf%C3%A9', rest.path_segment('caf\u00e9'))
        self.assertEqual('web.json', rest.path_segment('web.json'))

    def test_dot_segments_are_refused(self):
        for value in ('.', '..'):
            self.assertRaises(ValueError, rest.path_segment, value)

    def test_a_slash_is_refused(self):
        # Percent-encoding does not keep it in the segment: the WSGI
        # server decodes %2F before the application routes the path.
        for value in ('vm-1/', 'a/b', '/'):
            error = self.assertRaises(ValueError, rest.path_segment, value)
            self.assertIn('no ID holds a "/"', str(error))

    def test_empty_segment_is_refused(self):
        # /v1/pending/ is the list, not an object.
        self.assertRaises(ValueError, rest.path_segment, '')


class TestSecretBodies(RestTestCase):
    """``log_body=False``: a body that holds a secret is sent, and is not
    in the debug log (keystoneauth1's nor this client's)."""

    def _debug_log(self):
        # An earlier test of the same worker may have run oslo.log's
        # setup, whose default_log_levels put keystoneauth at WARN: its
        # request lines would then be dropped whatever this test does,
        # and the secret's absence would prove nothing.
        ksa = logging.getLogger('keystoneauth')
        self.addCleanup(ksa.setLevel, ksa.level)
        ksa.setLevel(logging.DEBUG)
        return self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))

    def test_body_with_a_secret_is_sent_not_logged(self):
        log = self._debug_log()
        client = self.client((201, {'idp': {'id': 'i-1'}}, {
            'x-openstack-request-id': 'req-1'}))
        answer = client.post('/v1/idps', json={'client_secret': 'hush'},
                             log_body=False)
        self.assertEqual({'idp': {'id': 'i-1'}}, answer)
        self.assertEqual({'client_secret': 'hush'},
                         json.loads(self.sent().body))
        self.assertNotIn('hush', log.output)
        self.assertIn('POST %s/v1/idps: 201' % URL, log.output)
        self.assertIn('req-1', log.output)

    def test_other_bodies_are_logged_as_before(self):
        log = self._debug_log()
        client = self.client((201, {'idp': {'id': 'i-1'}}))
        client.post('/v1/idps', json={'name': 'visible'})
        self.assertIn('visible', log.output)
