"""What the API's client reads when the cloud fails: which service and
how, not keystoneauth's text.

The ``openstack`` driver here talks through real keystoneauth1 sessions
to real sockets on 127.0.0.1: a port nothing listens on (Nova away) and
a small HTTP server that answers 500.  No Nova runs: the answer a
failing Nova gives is what is tested, not Nova.
"""

import http.server
import socket
import threading

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
import testtools

from reaper_svc.api import cloud
from reaper_svc.drivers import openstack
from reaper_svc.tests.functional import base
from svc_common.tests.fixtures import api as af

READER = af.identity(['reader'], 'physics', user_id='bob')


def _closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class _Failing(http.server.BaseHTTPRequestHandler):

    def do_GET(self):
        body = b'{"computeFault": {"message": "internal"}}'
        self.send_response(500)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TestCloudErrorDetail(testtools.TestCase):

    def setUp(self):
        super().setUp()
        reaper = self.useFixture(base.ReaperApp())
        self.app = reaper.app
        self.conf = reaper.conf

    def use_nova_at(self, url):
        """The ``openstack`` driver with Nova and Placement at ``url``."""
        session = ks_session.Session()
        driver = openstack.OpenStackCloud(
            self.conf,
            ks_adapter.Adapter(session, service_type='compute',
                               endpoint_override=url),
            ks_adapter.Adapter(session, service_type='placement',
                               endpoint_override=url))
        self.useFixture(fixtures.MockPatchObject(cloud, 'driver',
                                                 lambda: driver))

    def detail(self):
        resp = self.app.get('/v1/capacity', headers=READER, status=503)
        error = resp.json['errors'][0]
        self.assertEqual('preemption.cloud_unavailable', error['code'])
        return error['detail']

    def test_nova_away(self):
        port = _closed_port()
        self.use_nova_at('http://127.0.0.1:%d/v2.1' % port)
        detail = self.detail()
        self.assertIn('could not be reached', detail)
        for internal in (str(port), '127.0.0.1', 'Errno', 'Connection',
                         'http'):
            self.assertNotIn(internal, detail)

    def test_nova_failing(self):
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Failing)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        port = server.server_address[1]
        self.use_nova_at('http://127.0.0.1:%d/v2.1' % port)
        detail = self.detail()
        self.assertIn('answered HTTP 500', detail)
        self.assertNotIn(str(port), detail)
        self.assertNotIn('127.0.0.1', detail)
