"""The real ``openstack`` command given settings that cannot work.

With the limits API running, an endpoint without ``http://`` and an
identity variable with a newline in it were both reported as "Cannot
reach the limits API ...: nothing answers there. Is the service
running?".  The command now names the setting at fault and sends
nothing.
"""

import os
import subprocess

import testtools

from limits_svc.tests.functional import test_osc


class TestSettingsThatCannotWork(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(test_osc.LimitsServer())

    def openstack(self, *args, **environ):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env.update(test_osc.ADMIN_ENV, OS_AUTH_TYPE='none')
        env.update(environ)
        return subprocess.run(test_osc._openstack_command() + list(args),
                              env=env, capture_output=True, text=True,
                              timeout=120)

    def test_url_without_scheme(self):
        url = self.server.url[len('http://'):]
        result = self.openstack('quota', 'project', 'list',
                                OS_LIMITS_ENDPOINT_OVERRIDE=url)
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertEqual(
            "The URL of the limits API given by "
            "--os-limits-endpoint-override (OS_LIMITS_ENDPOINT_OVERRIDE), "
            "'%s', cannot be used: it is not an http:// or https:// URL "
            "with a host (e.g. http://127.0.0.1:9870).\n" % url,
            result.stderr)
        self.assertEqual(0, self.server.requests)

    def test_identity_with_a_newline(self):
        result = self.openstack(
            'quota', 'project', 'list',
            OS_LIMITS_ENDPOINT_OVERRIDE=self.server.url,
            ARBITER_NOAUTH_SYSTEM_SCOPE='', ARBITER_NOAUTH_ROLES='reader',
            ARBITER_NOAUTH_PROJECT='p1\nX-Roles: admin')
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertIn("ARBITER_NOAUTH_PROJECT='p1\\nX-Roles: admin' cannot "
                      "be sent as the X-Project-Id header", result.stderr)
        self.assertNotIn('nothing answers', result.stderr)
        self.assertEqual(0, self.server.requests)

    def test_id_too_long_for_the_web_server(self):
        result = self.openstack(
            'quota', 'allocation', 'show', 'a' * 70000,
            OS_LIMITS_ENDPOINT_OVERRIDE=self.server.url)
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertEqual(
            '%s refused the request as too large (HTTP 414: URL too long): '
            'an ID, a name or another value given is far longer than the '
            'limits API takes.\n' % self.server.url, result.stderr)
