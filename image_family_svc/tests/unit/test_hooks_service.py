"""The image family client and the hooks' cached lookup, against a small
stand-in of the image family API on 127.0.0.1.

The real image family API (``GET /v1/images/{id}`` and ``.../usage``) is
being written at the same time as these hooks and had not landed when
they were; :class:`FakeImageFamilyService` answers with the agreed shapes
(``{"image": {...}}``, ``{"image_id", "servers"}``, ``404
image_family.image_not_found`` for an image in no family) and counts the
requests it gets, so the tests can see how often the hooks ask.
"""

import http.server
import json
import re
import socket
import threading

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
import testtools

from image_family_svc.clients import image_family
from image_family_svc.hooks import cached_lookup

_IMAGE = re.compile(r'^/v1/images/(?P<image_id>[^/]+)(?P<usage>/usage)?$')

#: States in which new boots are refused.
NO_BOOT = ('obsolete', 'pending_delete', 'deleted')


class FakeImageFamilyService(fixtures.Fixture):
    """A threaded HTTP server on 127.0.0.1 answering the hooks' calls.

    ``images`` maps an image id to ``(state, servers)``; others are in no
    family.  ``fail_with`` set to a status makes every answer that status.
    ``garbage`` set to a body (bytes: sent as they are, as an HTML page)
    makes every answer a 200 with that body.  ``requests`` lists the
    paths asked, in order.
    """

    def _setUp(self):
        self.images = {}
        self.fail_with = None
        self.garbage = None
        self.requests = []
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                service.requests.append(self.path)
                status, body = service.answer(self.path)
                if isinstance(body, bytes):
                    data, kind = body, 'text/html'
                else:
                    data, kind = json.dumps(body).encode(), 'application/json'
                self.send_response(status)
                self.send_header('Content-Type', kind)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever,
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.url = 'http://127.0.0.1:%d/v1' % self.server.server_address[1]

    def set_image(self, image_id, state, servers=0, family_project_id=None):
        self.images[image_id] = (state, servers, family_project_id)

    def answer(self, path):
        if self.garbage is not None:
            return 200, self.garbage
        if self.fail_with:
            return self.fail_with, {'errors': [{
                'status': self.fail_with, 'code': 'image_family.failure',
                'detail': 'failing on purpose'}]}
        match = _IMAGE.match(path)
        if not match:
            return 404, 'no such path'
        if match.group('image_id') not in self.images:
            return 404, {'errors': [{
                'status': 404, 'code': image_family.IMAGE_NOT_FOUND,
                'title': 'Not Found', 'detail': 'No family has it.'}]}
        image_id = match.group('image_id')
        state, servers, family_project_id = self.images[image_id]
        if match.group('usage'):
            return 200, {'image_id': image_id, 'servers': servers}
        return 200, {'image': {
            'image_id': image_id, 'family': 'centos-7', 'version': '1',
            'family_project_id': family_project_id, 'state': state,
            'successor_id': None, 'latest_id': 'newest',
            'may_boot': state not in NO_BOOT,
            'usage': {'servers': servers}}}


def client_for(url):
    """A client with no authentication, straight to ``url``."""
    return image_family.ImageFamilyClient(
        session=ks_session.Session(), endpoint_override=url)


def closed_url():
    """The URL of a port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return 'http://127.0.0.1:%d' % port


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class TestImageFamilyClient(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(FakeImageFamilyService())
        self.client = client_for(self.service.url)

    def test_image_in_a_family(self):
        self.service.set_image('img-1', 'obsolete', servers=3)
        image = self.client.get_image('img-1')
        self.assertEqual('obsolete', image['state'])
        self.assertFalse(image['may_boot'])
        self.assertEqual(['/v1/images/img-1'], self.service.requests)

    def test_image_in_no_family_is_none(self):
        self.assertIsNone(self.client.get_image('nope'))
        self.assertIsNone(self.client.get_usage('nope'))

    def test_usage(self):
        self.service.set_image('img-1', 'active', servers=2)
        self.assertEqual(2, self.client.get_usage('img-1'))
        self.assertEqual(['/v1/images/img-1/usage'], self.service.requests)

    def test_other_errors_raise(self):
        self.service.fail_with = 500
        error = self.assertRaises(image_family.ClientError,
                                  self.client.get_image, 'img-1')
        self.assertEqual(500, error.status)

    def test_success_answers_of_another_shape_are_malformed(self):
        # A proxy's page, another service at the endpoint: each call
        # raised KeyError, TypeError or ValueError, which the hooks did
        # not expect.
        for garbage in (b'<html>Welcome to nginx</html>', [], {},
                        {'image': 'img-1'}, {'image': {'state': 'active'}},
                        {'image': {'may_boot': 'false'}}):
            self.service.garbage = garbage
            self.assertRaises(image_family.MalformedAnswer,
                              self.client.get_image, 'img-1')
        for garbage in (b'<html>Welcome to nginx</html>', [], {},
                        {'servers': '2'}, {'servers': None},
                        {'servers': -1}, {'servers': True},
                        {'servers': 2.5}):
            self.service.garbage = garbage
            self.assertRaises(image_family.MalformedAnswer,
                              self.client.get_usage, 'img-1')

    def test_an_image_id_stays_one_path_segment(self):
        self.service.set_image('img-1', 'obsolete', servers=2)
        # Not the usage of img-1 with a query string.
        self.assertIsNone(self.client.get_usage('img-1?x'))
        self.assertIsNone(self.client.get_image('img-1#x'))
        self.assertEqual(['/v1/images/img-1%3Fx/usage',
                          '/v1/images/img-1%23x'], self.service.requests)
        self.assertIsNone(self.client.get_usage('..'))
        self.assertEqual(2, len(self.service.requests))

    def test_404_without_the_code_is_an_error(self):
        # A wrong endpoint is not "this image is in no family".
        client = client_for(self.service.url + '/elsewhere')
        error = self.assertRaises(image_family.ClientError,
                                  client.get_image, 'img-1')
        self.assertEqual(404, error.status)


class TestCachedLookup(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(FakeImageFamilyService())
        self.client = client_for(self.service.url)
        self.clock = FakeClock()

    def test_answers_are_reused_until_they_expire(self):
        self.service.set_image('img-1', 'active')
        lookup = cached_lookup.CachedLookup(self.client.get_image, 30,
                                            clock=self.clock)
        self.assertTrue(lookup.get('img-1')['may_boot'])
        self.service.set_image('img-1', 'obsolete')
        self.clock.now += 29
        self.assertTrue(lookup.get('img-1')['may_boot'])
        self.assertEqual(1, len(self.service.requests))
        self.clock.now += 2
        self.assertFalse(lookup.get('img-1')['may_boot'])
        self.assertEqual(2, len(self.service.requests))

    def test_no_family_is_cached_too(self):
        lookup = cached_lookup.CachedLookup(self.client.get_image, 30,
                                            clock=self.clock)
        self.assertIsNone(lookup.get('nope'))
        self.assertIsNone(lookup.get('nope'))
        self.assertEqual(1, len(self.service.requests))

    def test_zero_seconds_asks_every_time(self):
        self.service.set_image('img-1', 'active')
        lookup = cached_lookup.CachedLookup(self.client.get_image, 0,
                                            clock=self.clock)
        lookup.get('img-1')
        lookup.get('img-1')
        self.assertEqual(2, len(self.service.requests))

    def test_error_answer_fails_and_is_not_cached(self):
        self.service.set_image('img-1', 'active')
        self.service.fail_with = 503
        lookup = cached_lookup.CachedLookup(self.client.get_image, 30,
                                            clock=self.clock)
        self.assertRaises(cached_lookup.LookupFailed, lookup.get, 'img-1')
        self.service.fail_with = None
        self.assertTrue(lookup.get('img-1')['may_boot'])

    def test_answer_of_another_shape_fails_and_is_not_cached(self):
        self.service.set_image('img-1', 'active')
        self.service.garbage = b'<html>Welcome to nginx</html>'
        lookup = cached_lookup.CachedLookup(self.client.get_image, 30,
                                            clock=self.clock)
        self.assertRaises(cached_lookup.LookupFailed, lookup.get, 'img-1')
        self.service.garbage = None
        self.assertTrue(lookup.get('img-1')['may_boot'])

    def test_unreachable_service_fails(self):
        lookup = cached_lookup.CachedLookup(
            client_for(closed_url()).get_image, 30, clock=self.clock)
        error = self.assertRaises(cached_lookup.LookupFailed, lookup.get,
                                  'img-1')
        self.assertIn('unreachable', str(error))

    def test_keystoneauth_failures_are_lookup_failures(self):
        def fetch(key):
            raise ks_exc.EndpointNotFound()
        lookup = cached_lookup.CachedLookup(fetch, 30, clock=self.clock)
        self.assertRaises(cached_lookup.LookupFailed, lookup.get, 'x')
