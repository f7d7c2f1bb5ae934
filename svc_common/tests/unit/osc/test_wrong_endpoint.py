"""An error answer that the command's own API did not send, and a URL
where nothing answers.

A newcomer who points ``--os-endpoint`` (or one service's
``OS_<API>_ENDPOINT_OVERRIDE``) at another Arbiter service, or at some
other web server, got "The resource could not be found. (HTTP 404
limits.not_found ...)" from ``openstack image family list``, or a whole
HTML page: nothing said that the URL was the wrong one.  With the local
run stopped, a command printed urllib3's "HTTPConnectionPool(host=...,
port=...): Max retries exceeded with url: ... (Caused by
NewConnectionError(...))".
"""

import io

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from osc_lib import exceptions
import testtools

from svc_common.clients import rest
from svc_common.osc import command


class FakeAdapter(object):
    def get_endpoint(self):
        return 'http://127.0.0.1:9870'


class FakeClient(object):
    adapter = FakeAdapter()

    def __init__(self, auth=None):
        self.session = ks_session.Session(auth=auth)


class ListFamilies(command.Lister):
    api_name = 'image_family'
    error = None

    def take_action(self, parsed_args):
        raise self.error


class FakeApp(object):
    def __init__(self, auth=None):
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.options = None
        self.client_manager = type(
            'CM', (), {'image_family': FakeClient(auth)})()


class TestWrongEndpoint(testtools.TestCase):

    def message(self, error):
        cmd = ListFamilies(FakeApp(), None)
        cmd.error = error
        exc = self.assertRaises(exceptions.CommandError, cmd.run,
                                cmd.get_parser('image family list')
                                .parse_args([]))
        return str(exc)

    def test_another_services_error_names_the_wrong_endpoint(self):
        message = self.message(rest.NotFound(
            404, code='limits.not_found',
            detail='The resource could not be found.', request_id='req-1'))
        self.assertEqual(
            'The resource could not be found. (HTTP 404 limits.not_found, '
            'request req-1) http://127.0.0.1:9870 is the limits service, '
            'not the image-family API. Set the root URL of the '
            'image-family API with --os-image-family-endpoint-override '
            '(OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE); --os-endpoint '
            'counts only while neither is set.',
            message)

    def test_a_web_page_is_not_printed_whole(self):
        page = ('<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n'
                '        <title>Error response</title>' + ' ' * 400 +
                '<p>Error code: 404</p>')
        message = self.message(rest.NotFound(404, detail=page))
        self.assertEqual(
            'http://127.0.0.1:9870 answered HTTP 404, not as the '
            'image-family API (its answer is not an Arbiter error: '
            '<!DOCTYPE HTML> <html lang="en"> <head> <title>Error '
            'response</title> <p>Error code: 404</p>): is it the right '
            'URL? Set the root URL of the image-family API with '
            '--os-image-family-endpoint-override '
            '(OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE); --os-endpoint '
            'counts only while neither is set.',
            message)

    def test_long_text_is_cut(self):
        message = self.message(rest.ApiError(502, detail='x' * 500))
        self.assertIn('error: %s...): ' % ('x' * 117), message)

    def test_the_services_own_error_is_unchanged(self):
        message = self.message(rest.NotFound(
            404, code='image_family.not_found', detail='No family x.',
            request_id='req-2'))
        self.assertEqual(
            'No family x. (HTTP 404 image_family.not_found, request req-2)',
            message)


class TestUnreachable(testtools.TestCase):

    def run_failing(self, error, auth, raised=exceptions.CommandError):
        cmd = ListFamilies(FakeApp(auth), None)
        cmd.error = error
        return self.assertRaises(raised, cmd.run,
                                 cmd.get_parser('image family list')
                                 .parse_args([]))

    def test_nothing_listening_is_named_under_noauth(self):
        exc = self.run_failing(ks_exceptions.ConnectFailure(
            'Unable to establish connection to http://127.0.0.1:9870/v1/'
            'families: HTTPConnectionPool(host=...)'), noauth.NoAuth())
        self.assertIsInstance(exc, exceptions.CommandError)
        self.assertEqual(
            'Cannot reach the image-family API at http://127.0.0.1:9870: '
            'nothing answers there. Is the service running (the local run, '
            'tools/run-local.sh, prints its URLs), and is the URL right? '
            'Set the root URL of the image-family API with '
            '--os-image-family-endpoint-override '
            '(OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE); --os-endpoint '
            'counts only while neither is set.',
            str(exc))

    def test_https_to_an_http_service(self):
        exc = self.run_failing(ks_exceptions.SSLError('WRONG_VERSION'),
                               noauth.NoAuth())
        self.assertIn('at http://127.0.0.1:9870: the TLS handshake failed: '
                      'is it an http:// URL given as https://?', str(exc))

    def test_with_keystone_the_error_is_left_as_it_is(self):
        """With a token, the connection that failed may be Keystone's:
        the message must not blame the service's URL."""
        error = ks_exceptions.ConnectFailure('Keystone is down')
        exc = self.run_failing(error, auth=None,
                               raised=ks_exceptions.ConnectFailure)
        self.assertIs(error, exc)


class TestWrongScopeUnderNoauth(testtools.TestCase):
    """The local run prints a system administrator's variables; a
    project-scoped command then answered only "A token of this scope
    cannot perform preemption:pending:create." """

    def message(self, system_scope):
        self.useFixture(fixtures.EnvironmentVariable(
            'ARBITER_NOAUTH_SYSTEM_SCOPE', system_scope))
        cmd = ListFamilies(FakeApp(noauth.NoAuth()), None)
        cmd.error = rest.ApiError(
            403, code='image_family.wrong_scope', request_id='req-4',
            detail='A token of this scope cannot perform x.')
        return str(self.assertRaises(
            exceptions.CommandError, cmd.run,
            cmd.get_parser('image family list').parse_args([])))

    def test_system_scoped_caller_is_told_to_use_a_project(self):
        self.assertEqual(
            'A token of this scope cannot perform x. (HTTP 403 '
            'image_family.wrong_scope, request req-4) This command takes a '
            'project-scoped caller: with --os-auth-type none, unset '
            'ARBITER_NOAUTH_SYSTEM_SCOPE and set ARBITER_NOAUTH_PROJECT to '
            "the project's ID.", self.message('all'))

    def test_project_scoped_caller_is_told_to_use_the_system(self):
        self.assertIn(
            'This command takes a system-scoped caller: with '
            '--os-auth-type none, set ARBITER_NOAUTH_SYSTEM_SCOPE=all and '
            'unset ARBITER_NOAUTH_PROJECT.', self.message(None))


class TestNoScopeUnderNoauth(testtools.TestCase):
    """After "unset ARBITER_NOAUTH_SYSTEM_SCOPE" without a project, a
    command answered only "Policy does not allow
    image_family:family:list.": nothing said the caller had no scope."""

    def message(self, project=None, system_scope=None, command_class=None):
        self.useFixture(fixtures.EnvironmentVariable(
            'ARBITER_NOAUTH_SYSTEM_SCOPE', system_scope))
        self.useFixture(fixtures.EnvironmentVariable(
            'ARBITER_NOAUTH_PROJECT', project))
        cmd = (command_class or ListFamilies)(FakeApp(noauth.NoAuth()),
                                              None)
        cmd.error = rest.ApiError(
            403, code='image_family.forbidden', request_id='req-5',
            detail='Policy does not allow image_family:family:list.')
        return str(self.assertRaises(
            exceptions.CommandError, cmd.run,
            cmd.get_parser('image family list').parse_args([])))

    def test_unscoped_caller_is_told_to_give_a_scope(self):
        self.assertEqual(
            'Policy does not allow image_family:family:list. (HTTP 403 '
            'image_family.forbidden, request req-5) The caller has no '
            'scope: with --os-auth-type none, set ARBITER_NOAUTH_PROJECT '
            "to a project's ID (a project's member) or "
            'ARBITER_NOAUTH_SYSTEM_SCOPE=all (a cloud operator).',
            self.message())

    def test_scoped_callers_get_no_hint(self):
        for scope in ({'project': 'physics'}, {'system_scope': 'all'}):
            self.assertTrue(self.message(**scope).endswith('request req-5)'))

    def test_apis_of_unscoped_callers_get_no_hint(self):
        class ListVOs(ListFamilies):
            unscoped_callers = True

        self.assertTrue(self.message(command_class=ListVOs).endswith(
            'request req-5)'))
