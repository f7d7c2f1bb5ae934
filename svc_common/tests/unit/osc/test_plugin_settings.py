"""Settings of the OSC plugins that cannot work, refused by name.

An endpoint without its scheme (``OS_LIMITS_ENDPOINT_OVERRIDE=
127.0.0.1:9870``), with a port above 65535 or with a blank in it made
requests refuse to send anything; the command then said "Cannot reach
the limits API ...: nothing answers there. Is the service running?",
which sent people to restart a service that was running.  An
``ARBITER_NOAUTH_*`` variable with a newline in it got the same answer,
and one with an emoji a bare "'latin-1' codec can't encode character".
"""

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from osc_lib import exceptions
import testtools

from svc_common.osc import command
from svc_common.osc import plugin


class FakeInstance(object):
    """What make_client reads of OSC's ClientManager."""

    interface = 'public'
    region_name = None

    def __init__(self, **config):
        self.config = dict(config)
        self.session = ks_session.Session(auth=noauth.NoAuth())

    def get_configuration(self):
        return self.config


class TestEndpointSettings(testtools.TestCase):

    def client(self, **config):
        return plugin.make_client(FakeInstance(**config), 'limits',
                                  'limits', environ={})

    def refused(self, **config):
        return self.assertRaises(exceptions.CommandError, self.client,
                                 **config)

    def test_url_without_scheme_names_the_option(self):
        error = self.refused(auth_type='none',
                             limits_endpoint_override='127.0.0.1:9870')
        self.assertEqual(
            "The URL of the limits API given by "
            "--os-limits-endpoint-override (OS_LIMITS_ENDPOINT_OVERRIDE), "
            "'127.0.0.1:9870', cannot be used: it is not an http:// or "
            "https:// URL with a host (e.g. http://127.0.0.1:9870).",
            str(error))

    def test_bad_port_and_other_schemes(self):
        for url in ('http://127.0.0.1:99999', 'ftp://127.0.0.1:9870',
                    'http:/127.0.0.1:9870', 'http://127.0.0.1:98 70',
                    'localhost:9870'):
            error = self.refused(auth_type='password',
                                 limits_endpoint_override=url)
            self.assertIn(repr(url), str(error))
            self.assertIn('--os-limits-endpoint-override', str(error))

    def test_os_endpoint_is_named_when_it_is_the_one(self):
        error = self.refused(auth_type='none',
                             auth={'endpoint': 'localhost:9870'})
        self.assertIn('--os-endpoint (OS_ENDPOINT)', str(error))

    def test_the_example_is_the_services_own_port(self):
        error = self.assertRaises(
            exceptions.CommandError, plugin.make_client,
            FakeInstance(auth_type='none',
                         image_family_endpoint_override='x'),
            'image_family', 'image-family', environ={})
        self.assertIn('--os-image-family-endpoint-override '
                      '(OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE)', str(error))
        self.assertIn('http://127.0.0.1:9872', str(error))

    def test_good_urls_are_taken_without_surrounding_blanks(self):
        for url, expected in (
                ('http://127.0.0.1:9870', 'http://127.0.0.1:9870'),
                ('https://limits.example.org/v1 ',
                 'https://limits.example.org'),
                ('http://[::1]:9870', 'http://[::1]:9870')):
            client = self.client(auth_type='none',
                                 limits_endpoint_override=url)
            self.assertEqual(expected, client.adapter.endpoint_override)


class TestNoauthIdentity(testtools.TestCase):

    def test_variables_become_headers(self):
        self.assertEqual(
            {'X-User-Id': 'alice', 'X-Roles': 'member,reader',
             'X-Project-Id': 'p1'},
            plugin.noauth_headers({'ARBITER_NOAUTH_USER': 'alice',
                                   'ARBITER_NOAUTH_ROLES': 'member,reader',
                                   'ARBITER_NOAUTH_PROJECT': 'p1',
                                   'ARBITER_NOAUTH_SYSTEM_SCOPE': ''}))

    def test_surrounding_blanks_are_dropped(self):
        # requests refused a value with a leading blank.
        self.assertEqual(
            {'X-User-Id': 'alice'},
            plugin.noauth_headers({'ARBITER_NOAUTH_USER': ' alice\t',
                                   'ARBITER_NOAUTH_PROJECT': '  '}))

    def test_latin_1_is_sent(self):
        self.assertEqual(
            {'X-User-Id': 'j\xe9r\xf4me'},
            plugin.noauth_headers({'ARBITER_NOAUTH_USER': 'j\xe9r\xf4me'}))

    def test_newline_is_refused_naming_the_variable(self):
        error = self.assertRaises(
            exceptions.CommandError, plugin.noauth_headers,
            {'ARBITER_NOAUTH_PROJECT': 'p1\nX-Roles: admin'})
        self.assertEqual(
            "ARBITER_NOAUTH_PROJECT='p1\\nX-Roles: admin' cannot be sent "
            "as the X-Project-Id header: '\\n' is a control character. "
            "Give the caller's ID (or roles) in plain characters.",
            str(error))

    def test_characters_outside_latin_1_are_refused(self):
        for value in ('\U0001f600', 'alice\u200f', 'ali\x00ce'):
            error = self.assertRaises(
                exceptions.CommandError, plugin.noauth_headers,
                {'ARBITER_NOAUTH_USER': value})
            self.assertIn('ARBITER_NOAUTH_USER=', str(error))
            self.assertIn('X-User-Id header', str(error))

    def test_make_client_refuses_them_under_noauth_only(self):
        environ = {'ARBITER_NOAUTH_USER': '\U0001f600'}
        self.assertRaises(
            exceptions.CommandError, plugin.make_client,
            FakeInstance(auth_type='none',
                         limits_endpoint_override='http://127.0.0.1:9870'),
            'limits', 'limits', environ=environ)
        # With a token the variables are not read.
        plugin.make_client(
            FakeInstance(auth_type='password',
                         limits_endpoint_override='http://127.0.0.1:9870'),
            'limits', 'limits', environ=environ)


class TestRequestNotSent(testtools.TestCase):

    def test_unknown_connection_error_is_not_nothing_answers(self):
        error = ks_exceptions.UnknownConnectionError(
            'Unexpected exception for http://127.0.0.1:9870/v1/projects: '
            'Invalid header value', ValueError('Invalid header value'))
        text = command.unreachable_message(error, 'limits',
                                           'http://127.0.0.1:9870')
        self.assertNotIn('nothing answers', text)
        self.assertIn('the request could not be sent (Unexpected exception '
                      'for http://127.0.0.1:9870/v1/projects: Invalid '
                      'header value).', text)
        self.assertIn('--os-limits-endpoint-override', text)

    def test_connection_refused_still_says_nothing_answers(self):
        text = command.unreachable_message(
            ks_exceptions.ConnectFailure('refused'), 'limits',
            'http://127.0.0.1:9870')
        self.assertIn('nothing answers there', text)


class TestSystemScopeVariable(testtools.TestCase):
    """ARBITER_NOAUTH_SYSTEM_SCOPE=ALL (or true, 1) was sent on, and every
    system-scoped command answered "Policy does not allow ...", with no
    hint since the variable was set."""

    def test_all_is_sent(self):
        self.assertEqual(
            {'X-System-Scope': 'all'},
            plugin.noauth_headers({'ARBITER_NOAUTH_SYSTEM_SCOPE': 'all'}))

    def test_anything_else_is_refused_naming_all(self):
        for value in ('ALL', 'true', '1', 'system'):
            error = self.assertRaises(
                exceptions.CommandError, plugin.noauth_headers,
                {'ARBITER_NOAUTH_SYSTEM_SCOPE': value})
            self.assertEqual(
                'ARBITER_NOAUTH_SYSTEM_SCOPE=%s: the system scope is "all" '
                '(ARBITER_NOAUTH_SYSTEM_SCOPE=all) for a system-scoped '
                'caller; leave the variable unset for a caller in '
                'ARBITER_NOAUTH_PROJECT.' % value, str(error))
