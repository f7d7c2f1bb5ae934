"""The real ``openstack`` command against the real image family API
(in-process WSGI app on a loopback port, noauth identity through the
plugin's ``ARBITER_NOAUTH_*`` variables)."""

import json
import os
import subprocess
import threading

import fixtures
import testtools

from image_family_svc import service
from limits_svc.tests.functional import test_osc as limits_osc
from svc_common.cmd import api as api_cmd
from svc_common.tests.fixtures import api as api_fixture

ADMIN_ENV = limits_osc.ADMIN_ENV


class ImageFamilyServer(fixtures.Fixture):

    def _setUp(self):
        self.app = self.useFixture(api_fixture.ServiceApp(service.SPEC))
        server = api_cmd.make_server(self.app.wsgi, '127.0.0.1', 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = 'http://127.0.0.1:%d' % server.server_port


class TestOpenStackCommand(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(ImageFamilyServer())

    def openstack(self, *args):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env.update(ADMIN_ENV)
        argv = (limits_osc._openstack_command() +
                ['--os-auth-type', 'none', '--os-endpoint', self.server.url] +
                list(args))
        result = subprocess.run(argv, env=env, capture_output=True,
                                text=True, timeout=120)
        self.assertEqual(0, result.returncode, 'openstack %s\n%s\n%s' % (
            ' '.join(args), result.stdout, result.stderr))
        return result.stdout

    def test_session(self):
        self.openstack('image', 'family', 'create', 'centos-7',
                       '--keep-superseded', '1')
        for image_id, version in (('img-1', '7.8'), ('img-2', '7.9')):
            self.openstack('image', 'family', 'add', 'centos-7', image_id,
                           '--property', 'os_distro=centos',
                           '--property', 'os_version=%s' % version,
                           '--property', 'architecture=x86_64',
                           '--state', 'active')
        latest = json.loads(self.openstack(
            'image', 'family', 'latest', 'centos-7', '-f', 'json'))
        self.assertEqual('img-2', latest['image_id'])
        state = json.loads(self.openstack(
            'image', 'state', 'set', 'img-2', 'deprecated', '--reason',
            'broken', '-f', 'json'))
        self.assertEqual(('deprecated', 'img-1'),
                         (state['state'], state['successor_id']))
        successor = json.loads(self.openstack(
            'image', 'successor', 'show', 'img-2', '-f', 'json'))
        self.assertEqual('img-1', successor['latest_id'])
        rows = json.loads(self.openstack(
            'image', 'family', 'image', 'list', 'centos-7', '-f', 'json'))
        self.assertEqual([('img-1', 'active'), ('img-2', 'deprecated')],
                         [(r['Image ID'], r['State']) for r in rows])
        families = json.loads(self.openstack('image', 'family', 'list',
                                             '-f', 'json'))
        self.assertEqual([('centos-7', 'img-1')],
                         [(f['Name'], f['Latest ID']) for f in families])
