"""The real ``openstack`` command at a URL whose server answers 200 with
something that is not the API's: a captive portal's or a web server's
page, or JSON of another shape.

The commands printed Python's words for it, "Expecting value: line 1
column 1 (char 0)", "'families'" or "list indices must be integers or
slices, not str", and nothing said that the URL was the wrong one.
"""

import http.server
import os
import subprocess
import threading

import fixtures
import testtools

from limits_svc.tests.functional import test_osc


class FixedAnswer(fixtures.Fixture):
    """A web server on 127.0.0.1 that answers every request 200 with
    ``body``; ``.url``."""

    def __init__(self, body, content_type):
        super().__init__()
        self.body = body.encode()
        self.content_type = content_type

    def _setUp(self):
        body, content_type = self.body, self.content_type

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header('Content-Type', content_type)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = 'http://127.0.0.1:%d' % server.server_port


class TestNotTheApi(testtools.TestCase):

    def openstack(self, url, *args):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env.update(test_osc.ADMIN_ENV)
        return subprocess.run(
            test_osc._openstack_command() +
            ['--os-auth-type', 'none', '--os-endpoint', url] + list(args),
            env=env, capture_output=True, text=True, timeout=120)

    def test_a_web_page(self):
        page = self.useFixture(FixedAnswer('<html>Welcome</html>',
                                           'text/html'))
        result = self.openstack(page.url, 'image', 'family', 'list')
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertEqual(
            'The answer of %s is not one of the image-family API (it is '
            'not JSON): is it the right URL? Set the root URL of the '
            'image-family API with --os-image-family-endpoint-override '
            '(OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE); --os-endpoint '
            'counts only while neither is set.\n'
            % page.url, result.stderr)

    def test_json_of_another_shape(self):
        other = self.useFixture(FixedAnswer('{"hello": 1}',
                                            'application/json'))
        for args, member in ((('vo', 'list'), "'vos'"),
                             (('preemptible', 'capacity', 'show'),
                              "'capacity'")):
            result = self.openstack(other.url, *args)
            self.assertEqual(1, result.returncode, result.stderr)
            self.assertIn('The answer of %s is not one of the' % other.url,
                          result.stderr)
            self.assertIn('(it has no %s): is it the right URL?' % member,
                          result.stderr)
