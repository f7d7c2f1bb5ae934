"""The parts of the ``openstack quota ...`` plugin that need no server.

The commands themselves are tested by running ``openstack`` against the
real service in ``limits_svc/tests/functional/test_osc.py``.
"""

import argparse
import io
from unittest import mock

from osc_lib import exceptions
import testtools

from limits_svc.clients import limits as limits_client
from limits_svc.osc import plugin
from limits_svc.osc.v1 import allocation
from limits_svc.osc.v1 import columns
from limits_svc.osc.v1 import command
from limits_svc.osc.v1 import limit
from limits_svc.osc.v1 import options
from limits_svc.osc.v1 import project
from limits_svc.osc.v1 import registered_limit
from svc_common.clients import rest
from svc_common.osc import plugin as osc_plugin

BLOCKING = {'project_id': 'root', 'resource': 'cores', 'scope': 'subtree',
            'limit': 10, 'usage': 9, 'delta': 2}


class TestResourceAmount(testtools.TestCase):

    def test_name_and_amount(self):
        self.assertEqual(('cores', 4), options.resource_amount('cores=4'))
        self.assertEqual(('ram', 0), options.resource_amount('ram=0'))

    def test_rejected(self):
        for value in ('cores', 'cores=abc', '=4', 'cores=-1', 'cores=1.5',
                      'cores='):
            self.assertRaises(argparse.ArgumentTypeError,
                              options.resource_amount, value)

    def test_repeated_option_is_a_dict_and_last_wins(self):
        parser = argparse.ArgumentParser()
        options.add_resource_option(parser, 'x')
        args = parser.parse_args(['--resource', 'cores=4',
                                  '--resource', 'ram=512',
                                  '--resource', 'cores=2'])
        self.assertEqual({'cores': 2, 'ram': 512},
                         options.resources_dict(args.resources))

    def test_generation(self):
        self.assertEqual(0, options.generation('0'))
        self.assertEqual(1795260948885353,
                         options.generation('1795260948885353'))
        for value in ('-1', 'abc', '"5"', '1.5'):
            self.assertRaises(argparse.ArgumentTypeError,
                              options.generation, value)

    def test_limit_value(self):
        self.assertEqual(-1, options.limit_value('-1'))
        self.assertRaises(argparse.ArgumentTypeError, options.limit_value,
                          '-2')
        self.assertRaises(argparse.ArgumentTypeError,
                          options.positive_int, '0')


class TestIntegersAreAsciiDigits(testtools.TestCase):
    """Python's int() takes '\u0663' (an Arabic-Indic 3) as 3, and ' 3',
    '+3', '1_0': each option that takes an integer refuses them."""

    NOT_INTEGERS = ('\u0663', '\uff13', ' 3', '3 ', '+3', '1_0')

    def usage_error(self, command_class, argv):
        cmd = command_class(mock.Mock(), None)
        parser = cmd.get_parser('openstack quota')
        with mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
            error = self.assertRaises(SystemExit, parser.parse_args, argv)
        self.assertEqual(2, error.code)
        return stderr.getvalue()

    def test_allocation_set(self):
        for bad in self.NOT_INTEGERS:
            for argv, message in (
                    (['--resource', 'cores=' + bad],
                     "argument --resource: 'cores=%s': the amount of "
                     "cores must be an integer"),
                    (['--resource', 'cores=1', '--expires-in', bad],
                     "argument --expires-in: '%s' is not an integer"),
                    (['--resource', 'cores=1', '--if-match', bad],
                     "argument --if-match: '%s' is not a generation")):
                self.assertIn(message % bad, self.usage_error(
                    allocation.SetAllocation, ['c1', '--project', 'p'] +
                    argv))

    def test_limits_and_pages(self):
        for bad in self.NOT_INTEGERS:
            self.assertIn(
                "argument --resource-limit: '%s' is not an integer" % bad,
                self.usage_error(limit.SetLimit, ['l1',
                                                  '--resource-limit', bad]))
            self.assertIn(
                "argument --limit: '%s' is not an integer" % bad,
                self.usage_error(limit.ListLimit, ['--limit', bad]))

    def test_ascii_integers_still_pass(self):
        self.assertEqual(('cores', 30), options.resource_amount('cores=30'))
        self.assertEqual(-1, options.limit_value('-1'))
        self.assertEqual(7, options.generation('007'))


class TestColumns(testtools.TestCase):

    def test_usage_cell(self):
        own = {'own_limit': 8, 'subtree_limit': None, 'own_usage': 3,
               'subtree_usage': 9}
        self.assertEqual('3/8', columns.UsageCellColumn(own).human_readable())
        both = dict(own, own_limit=-1, subtree_limit=10)
        self.assertEqual('3/unlimited, subtree 9/10',
                         columns.UsageCellColumn(both).human_readable())
        self.assertEqual(both,
                         columns.UsageCellColumn(both).machine_readable())
        self.assertEqual('', columns.UsageCellColumn(None).human_readable())

    def test_tree_project_is_indented_for_people_only(self):
        column = columns.TreeProjectColumn((2, 'leaf'))
        self.assertEqual('    leaf', column.human_readable())
        self.assertEqual('leaf', column.machine_readable())

    def test_a_kept_project_shows_since_when(self):
        # "openstack quota project show" of a project kept after it left
        # Keystone says since when; every other project shows as before.
        shown = {'id': 'p', 'name': None, 'parent_id': None,
                 'domain_id': 'default', 'created_at': 'c',
                 'updated_at': None, 'left_keystone_at': None}
        self.assertEqual(project.SHOW_COLUMNS,
                         project._show({'project': shown})[0])
        names, values = project._show({'project': dict(
            shown, left_keystone_at='2026-12-01T00:30:00Z')})
        self.assertEqual(('left_keystone_at', '2026-12-01T00:30:00Z'),
                         (names[-1], values[-1]))

    def test_resources_and_blocking(self):
        self.assertEqual('cores=4, ram=512', columns.ResourcesColumn(
            {'ram': 512, 'cores': 4}).human_readable())
        self.assertEqual(
            'cores in root: subtree limit 10, usage 9, requested +2',
            columns.BlockingColumn([BLOCKING]).human_readable())


class TestErrorMessage(testtools.TestCase):

    def test_over_limit_lists_each_blocking_level(self):
        message = command.error_message(rest.ApiError(
            409, code='limits.over_limit', detail='Over limit: ...',
            request_id='req-1', error={'blocking': [BLOCKING]}))
        self.assertEqual(
            'Refused by 1 limit(s) (HTTP 409 limits.over_limit, request '
            'req-1):\n  cores in root: subtree limit 10, usage 9, '
            'requested +2', message)

    def test_other_errors_show_the_detail(self):
        self.assertEqual(
            'No project "p". (HTTP 404 limits.project_not_found, request -)',
            command.error_message(rest.NotFound(
                404, code='limits.project_not_found',
                detail='No project "p".')))

    def test_unknown_limit_says_limits_are_named_by_id(self):
        # "openstack quota registered limit show ram" answered only
        # 'No limit "ram".': the commands take IDs.
        self.assertEqual(
            'No limit "ram". (HTTP 404 limits.limit_not_found, request -) '
            'Limit commands take a limit\'s ID, not a resource name: '
            '"openstack quota registered limit list --resource-name '
            '<name>" and "openstack quota limit list --resource-name '
            '<name>" show the IDs.',
            command.error_message(rest.NotFound(
                404, code='limits.limit_not_found', detail='No limit "ram".')))


class TestNoAuthHeaders(testtools.TestCase):

    def test_only_the_variables_that_are_set(self):
        self.assertEqual(
            {'X-User-Id': 'admin', 'X-Roles': 'admin,reader',
             'X-System-Scope': 'all'},
            osc_plugin.noauth_headers({'ARBITER_NOAUTH_USER': 'admin',
                                       'ARBITER_NOAUTH_ROLES': 'admin,reader',
                                       'ARBITER_NOAUTH_PROJECT': '',
                                       'ARBITER_NOAUTH_SYSTEM_SCOPE': 'all',
                                       'OS_AUTH_TYPE': 'none'}))


class TestMakeClient(testtools.TestCase):

    def instance(self, **config):
        instance = mock.Mock(interface='public', region_name=None)
        instance.get_configuration.return_value = config
        return instance

    def test_the_library_client_with_os_endpoint_and_v1(self):
        client = plugin.make_client(self.instance(
            auth_type='none', auth={'endpoint': 'http://h:9870/v1/'}))
        self.assertIsInstance(client, limits_client.LimitsClient)
        self.assertEqual('http://h:9870', client.adapter.endpoint_override)
        self.assertEqual('limits', client.adapter.service_type)

    def test_endpoint_override_wins(self):
        client = plugin.make_client(self.instance(
            auth_type='password', auth={},
            limits_endpoint_override='http://o:1/v1'))
        self.assertEqual('http://o:1', client.adapter.endpoint_override)

    def test_catalog_without_override(self):
        client = plugin.make_client(self.instance(auth_type='password'))
        self.assertIsNone(client.adapter.endpoint_override)

    def test_noauth_without_endpoint_says_what_to_give(self):
        exc = self.assertRaises(exceptions.CommandError, plugin.make_client,
                                self.instance(auth_type='none', auth={}))
        self.assertIn('--os-endpoint', str(exc))
        self.assertIn('--os-limits-endpoint-override '
                      '(or OS_LIMITS_ENDPOINT_OVERRIDE)', str(exc))

    def test_noauth_without_endpoint_names_options_that_exist(self):
        # An API name with an underscore was printed as the option
        # --os-image_family-endpoint-override, which OSC does not have.
        exc = self.assertRaises(
            exceptions.CommandError, osc_plugin.make_client,
            self.instance(auth_type='none', auth={}), 'image_family',
            'image-family')
        self.assertEqual(
            'With --os-auth-type none, give the root URL of the '
            'image-family API with --os-image-family-endpoint-override '
            '(or OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE) or --os-endpoint.',
            str(exc))


class RecordingClient(object):
    """A limits client that records its calls; a GET of a path in
    ``missing`` is the API's 404."""

    def __init__(self, missing=()):
        self.calls = []
        self.missing = missing

    def get(self, path):
        self.calls.append(('GET', path, None))
        if path in self.missing:
            raise rest.ApiError(404, 'limits.not_found',
                                detail='No such object.', request_id='r-1')
        return {'id': path.rsplit('/', 1)[-1]}

    def patch(self, path, json=None):
        self.calls.append(('PATCH', path, json))
        return {}


class TestSetWithNothingToChange(testtools.TestCase):
    """``openstack quota ... set <id>`` without an option behaves as
    OSC's own set commands (``openstack project set <project>``): the
    object is looked up, nothing is changed or printed, and a missing
    one is an error (it answered success whatever the ID)."""

    SETS = ((registered_limit.SetRegisteredLimit, '/v1/registered_limits/'),
            (limit.SetLimit, '/v1/limits/'),
            (project.SetProject, '/v1/projects/'))

    def _run(self, command_class, argv, client):
        app = mock.Mock()
        app.client_manager.limits = client
        app.stdout, app.stderr = io.StringIO(), io.StringIO()
        cmd = command_class(app, None)
        result = cmd.run(cmd.get_parser('openstack').parse_args(argv))
        return result, app

    def test_looked_up_not_changed(self):
        for command_class, path in self.SETS:
            client = RecordingClient()
            result, app = self._run(command_class, ['x1'], client)
            self.assertEqual([('GET', path + 'x1', None)], client.calls)
            self.assertEqual((0, '', ''), (result, app.stdout.getvalue(),
                                           app.stderr.getvalue()))

    def test_missing_object_is_an_error(self):
        for command_class, path in self.SETS:
            client = RecordingClient(missing=(path + 'gone',))
            error = self.assertRaises(exceptions.CommandError, self._run,
                                      command_class, ['gone'], client)
            self.assertEqual('No such object. (HTTP 404 limits.not_found, '
                             'request r-1)', str(error))

    def test_a_change_is_one_patch(self):
        client = RecordingClient()
        self._run(limit.SetLimit, ['x1', '--resource-limit', '5'], client)
        self.assertEqual([('PATCH', '/v1/limits/x1', {'resource_limit': 5})],
                         client.calls)
