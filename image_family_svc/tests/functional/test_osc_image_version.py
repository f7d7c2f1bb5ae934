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

from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_osc
from limits_svc.tests.functional import test_osc as limits_osc


class TestImageVersion(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(test_osc.ImageFamilyServer())

    def run_openstack(self, *args):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env.update(test_osc.ADMIN_ENV)
        argv = (limits_osc._openstack_command() +
                ['--os-auth-type', 'none', '--os-endpoint', self.server.url] +
                list(args))
        return subprocess.run(argv, env=env, capture_output=True,
                              text=True, timeout=120)

    def openstack(self, *args):
        result = self.run_openstack(*args)
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

    def test_image_version_stands_for_os_version(self):
        # The default schema requires os_version; the version given is
        # the image's os_version when it names none (a newcomer's use,
        # as the CLI guide documents it: refused with a 400 before).
        self.openstack('image', 'family', 'create', 'centos-7')
        image = json.loads(self.openstack(
            'image', 'family', 'add', 'centos-7', 'img-1',
            '--property', 'os_distro=centos',
            '--property', 'architecture=x86_64',
            '--image-version', '7.9', '-f', 'json'))
        self.assertEqual(('img-1', '7.9'),
                         (image['image_id'], image['version']))
        # The member's properties satisfy its family's schema.
        stored = self.server.app.app.get(
            '/v1/images/img-1', headers=base.ADMIN).json['image']
        self.assertEqual({'os_distro': 'centos', 'architecture': 'x86_64',
                          'os_version': '7.9'}, stored['properties'])

    def test_image_version_with_nothing_else_names_what_is_missing(self):
        # The version stands for os_version only: the other required
        # properties are still asked for, by name.
        self.openstack('image', 'family', 'create', 'centos-7')
        result = self.run_openstack(
            'image', 'family', 'add', 'centos-7', 'img-1',
            '--image-version', '7.9')
        self.assertEqual(1, result.returncode, result.stdout)
        self.assertIn('os_distro', result.stderr)
        self.assertNotIn('os_version', result.stderr)
