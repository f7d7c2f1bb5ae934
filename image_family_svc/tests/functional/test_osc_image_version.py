"""``openstack image family add ... --image-version``, with the real
``openstack`` command.

The option was ``--version``, which ``openstack`` takes for itself
wherever it stands: the command printed ``openstack <client version>``,
exited 0 and added nothing.
"""

import json
import os
import subprocess

import testtools

from image_family_svc.tests.functional import test_osc
from limits_svc.tests.functional import test_osc as limits_osc


class TestImageVersion(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(test_osc.ImageFamilyServer())

    def openstack(self, *args):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env.update(test_osc.ADMIN_ENV)
        argv = (limits_osc._openstack_command() +
                ['--os-auth-type', 'none', '--os-endpoint', self.server.url] +
                list(args))
        result = subprocess.run(argv, env=env, capture_output=True,
                                text=True, timeout=120)
        self.assertEqual(0, result.returncode, 'openstack %s\n%s\n%s' % (
            ' '.join(args), result.stdout, result.stderr))
        return result.stdout

    def test_image_joins_with_the_version_given(self):
        self.openstack('image', 'family', 'create', 'centos-7')
        image = json.loads(self.openstack(
            'image', 'family', 'add', 'centos-7', 'img-1',
            '--property', 'os_distro=centos',
            '--property', 'architecture=x86_64',
            '--property', 'os_version=7.8', '--image-version', '7.9',
            '-f', 'json'))
        self.assertEqual(('img-1', '7.9'),
                         (image['image_id'], image['version']))
        rows = json.loads(self.openstack(
            'image', 'family', 'image', 'list', 'centos-7', '-f', 'json'))
        self.assertEqual([('img-1', '7.9')],
                         [(row['Image ID'], row['Version']) for row in rows])
