"""The parts of ``openstack preemptible ...`` that need no server (the
commands run against the real API in
reaper_svc/tests/functional/test_osc.py)."""

import argparse
import datetime
import io
from unittest import mock

import testtools

from reaper_svc.osc import plugin
from reaper_svc.osc.v1 import action
from reaper_svc.osc.v1 import capacity
from reaper_svc.osc.v1 import options
from reaper_svc.osc.v1 import plan
from reaper_svc.osc.v1 import request


class TestOptions(testtools.TestCase):

    def test_resource_amount(self):
        self.assertEqual(('VCPU', 4), options.resource_amount('VCPU=4'))
        for bad in ('VCPU', 'VCPU=-1', '=4', 'VCPU=1.5', 'VCPU='):
            self.assertRaises(argparse.ArgumentTypeError,
                              options.resource_amount, bad)

    def test_duration(self):
        self.assertEqual([3600, 5400, 28800, 172800, 45],
                         [options.duration(v) for v in
                          ('3600', '90m', '8h', '2d', '45s')])
        for bad in ('', 'h', '0', '-3h', '1.5h', '8w'):
            self.assertRaises(argparse.ArgumentTypeError, options.duration,
                              bad)

    def test_integers_are_ascii_digits(self):
        # str.isdigit() and int() take '\u0663' (an Arabic-Indic 3) as 3:
        # --resource VCPU=\u0663 asked for 3 VCPUs.
        for bad in ('\u0663', '\uff13', '\u00b3', ' 3', '+3', '1_0'):
            self.assertRaises(argparse.ArgumentTypeError,
                              options.resource_amount, 'VCPU=' + bad)
            for duration in (bad, bad + 'h'):
                self.assertRaises(argparse.ArgumentTypeError,
                                  options.duration, duration)
            self.assertRaises(argparse.ArgumentTypeError, options.deadline,
                              '+%sh' % bad)
        cmd = plan.CreatePlan(mock.Mock(), None)
        parser = cmd.get_parser('openstack preemptible plan create')
        with mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
            error = self.assertRaises(SystemExit, parser.parse_args,
                                      ['--resource', 'VCPU=\u0663'])
        self.assertEqual(2, error.code)
        self.assertIn("argument --resource: 'VCPU=\u0663' is not <resource "
                      "class>=<amount>", stderr.getvalue())
        self.assertEqual(('VCPU', 0), options.resource_amount('VCPU=0'))

    def test_deadline(self):
        now = datetime.datetime(2030, 1, 1, 10, 0, 0, 123,
                                tzinfo=datetime.timezone.utc)
        self.assertEqual('2030-01-01T22:00:00Z',
                         options.deadline('+12h', now=now))
        self.assertEqual('2030-01-01T08:00:00Z',
                         options.deadline('2030-01-01T10:00:00+02:00'))
        self.assertEqual('2030-01-01T10:00:00Z',
                         options.deadline('2030-01-01T10:00:00'))
        for bad in ('tomorrow', '+soon', '2030-13-01T00:00:00'):
            self.assertRaises(argparse.ArgumentTypeError, options.deadline,
                              bad)

    def test_deadline_out_of_range(self):
        # Valid ISO 8601 times whose UTC conversion leaves the years
        # 1-9999, and durations that go past them: each was an
        # OverflowError from datetime (a traceback), not a usage error.
        now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
        for bad in ('9999-12-31T23:59:59-14:00', '0001-01-01T00:00:00+14:00',
                    '+3000000d', '+99999999999999999999s'):
            error = self.assertRaises(argparse.ArgumentTypeError,
                                      options.deadline, bad, now=now)
            self.assertIn('between the years 1 and 9999 in UTC',
                          str(error))
        # The last representable second in UTC still passes.
        self.assertEqual('9999-12-31T09:59:59Z',
                         options.deadline('9999-12-31T23:59:59+14:00'))


class TestCapacityRows(testtools.TestCase):

    def test_one_row_per_aggregate_and_class(self):
        figures = {'total': 4, 'used': 3, 'preemptible': 2, 'free': 1}
        rows = capacity.capacity_rows([
            {'aggregate': 'a', 'hosts': 2,
             'resources': {'VCPU': figures, 'DISK_GB': figures}},
            {'aggregate': 'b', 'hosts': 0, 'resources': {}}])
        self.assertEqual([('a', 2, 'DISK_GB', 4, 3, 2, 1),
                          ('a', 2, 'VCPU', 4, 3, 2, 1)], rows)


def _run(command_class, argv, answer):
    """Parse ``argv`` and run ``command_class`` on a fake client; the
    client and the command's result."""
    app = mock.Mock()
    client = getattr(app.client_manager, plugin.API_NAME)
    client.post.return_value = answer
    cmd = command_class(app, None)
    parsed = cmd.get_parser('openstack').parse_args(argv)
    return client, cmd.take_action(parsed)


class TestBodies(testtools.TestCase):

    def test_plan_for_resources(self):
        answer = {'plan': {'outcome': 'victims', 'strategy': 'best_fit',
                           'victims': [{'server_id': 's1'}], 'hosts': ['h'],
                           'wasted': 0.5, 'request': {}}}
        client, (names, values) = _run(plan.CreatePlan, [
            '--resource', 'VCPU=2', '--resource', 'MEMORY_MB=512',
            '--count', '2', '--aggregate', 'b', '--aggregate', 'a',
            '--aggregate', 'b', '--required-trait', 'HW_X'], answer)
        client.post.assert_called_once_with('/v1/plans', json={
            'resources': {'VCPU': 2, 'MEMORY_MB': 512}, 'count': 2,
            'aggregates': ['a', 'b'], 'required_traits': ['HW_X']})
        self.assertEqual(['s1'], dict(zip(names, values))['victims'])

    def test_plan_needs_flavor_or_resources(self):
        cmd = plan.CreatePlan(mock.Mock(), None)
        parser = cmd.get_parser('openstack')
        with mock.patch('sys.stderr'):
            self.assertRaises(SystemExit, parser.parse_args, [])
            self.assertRaises(SystemExit, parser.parse_args,
                              ['--flavor', 'f', '--resource', 'VCPU=1'])

    def test_request(self):
        client, _ = _run(request.CreateRequest, [
            'job', '--flavor', 'f', '--image', 'i', '--network', 'n1',
            '--network', 'n2', '--network', 'n1', '--count', '3',
            '--partial', '--min-runtime', '8h'], {'pending': {}})
        client.post.assert_called_once_with('/v1/pending', json={
            'servers': [{'name': 'job', 'flavor': 'f', 'image': 'i',
                         'count': 3, 'networks': ['n1', 'n2']}],
            'all_or_nothing': False, 'min_runtime': 28800})

    def test_request_deadline_out_of_range_is_a_usage_error(self):
        app = mock.Mock()
        cmd = request.CreateRequest(app, None)
        parser = cmd.get_parser('openstack preemptible request create')
        with mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
            error = self.assertRaises(SystemExit, parser.parse_args, [
                'job', '--flavor', 'f', '--image', 'i',
                '--deadline', '9999-12-31T23:59:59-14:00'])
        self.assertEqual(2, error.code)
        self.assertIn('argument --deadline: '
                      "'9999-12-31T23:59:59-14:00' is not a time between "
                      'the years 1 and 9999 in UTC', stderr.getvalue())


class TestPaths(testtools.TestCase):

    def test_no_dot_or_empty_ids(self):
        # 'preemptible request show ..' asked /v1/ and failed with the
        # message 'pending'; 'request show ""' asked the list: "'list'
        # object has no attribute 'get'".
        for command_class in (request.ShowRequest, action.ShowAction):
            for bad in ('..', '.', ''):
                app = mock.Mock()
                cmd = command_class(app, None)
                parsed = cmd.get_parser('openstack').parse_args([bad])
                error = self.assertRaises(ValueError, cmd.take_action,
                                          parsed)
                self.assertIn('cannot name an object in a URL', str(error))
                self.assertEqual([], getattr(
                    app.client_manager, plugin.API_NAME).method_calls)

    def test_delete_encodes_each_id_once(self):
        app = mock.Mock()
        cmd = request.DeleteRequest(app, None)
        cmd.take_action(cmd.get_parser('openstack').parse_args(['a b']))
        self.assertEqual([mock.call.delete('/v1/pending/a%20b')], getattr(
            app.client_manager, plugin.API_NAME).method_calls)


def _table(command_class, argv, answer):
    """What the command prints as a table, on a fake client answering
    ``answer`` to any call."""
    app = mock.Mock()
    app.stdout = io.StringIO()
    client = getattr(app.client_manager, plugin.API_NAME)
    client.get.return_value = client.post.return_value = answer
    cmd = command_class(app, None)
    cmd.run(cmd.get_parser('openstack').parse_args(argv))
    return app.stdout.getvalue()


class TestTables(testtools.TestCase):
    """The dicts and lists of plans, actions and requests read as
    osc-lib prints them, not as Python's repr (``['batch-1']``)."""

    REQUEST = {'resources': {'VCPU': 8, 'MEMORY_MB': 16384}, 'count': 1,
               'hosts': None, 'aggregates': ['batch'],
               'required_traits': [], 'forbidden_traits': []}
    VICTIM = {'server_id': 'batch-1', 'host': 'cmp1',
              'project_id': 'physics', 'resources': {'VCPU': 8},
              'state': 'noticed'}

    def assertNoRepr(self, output):
        self.assertNotIn("['", output)
        self.assertNotIn("{'", output)

    def test_plan(self):
        output = _table(plan.CreatePlan, ['--flavor', 'm1.large'], {
            'plan': {'outcome': 'victims', 'strategy': 'best_fit',
                     'victims': [dict(self.VICTIM, server_id='batch-5'),
                                 self.VICTIM],
                     'hosts': ['cmp1'], 'wasted': 1.0,
                     'request': self.REQUEST}})
        self.assertIn('| victims  | batch-1, batch-5 ', output)
        self.assertIn('| hosts    | cmp1 ', output)
        self.assertIn("| request  | aggregates='batch', count='1', "
                      "resources.MEMORY_MB='16384', resources.VCPU='8' |",
                      output)
        self.assertNoRepr(output)

    def test_action_victims_one_a_line(self):
        output = _table(action.ShowAction, ['a1'], {'action': {
            'id': 'a1', 'request': self.REQUEST,
            'victims': [self.VICTIM, dict(self.VICTIM, server_id='b-2')]}})
        self.assertIn("| victims      | host='cmp1', project_id='physics', "
                      "resources.VCPU='8', server_id='batch-1', "
                      "state='noticed' |\n"
                      "|              | host='cmp1', project_id='physics', "
                      "resources.VCPU='8', server_id='b-2', "
                      "state='noticed'     |", output)
        self.assertNoRepr(output)

    def test_request_servers(self):
        output = _table(request.ShowRequest, ['r1'], {'pending': {
            'id': 'r1', 'servers': [{'name': 'sim', 'flavor': 'm1.large',
                                     'networks': ['n1', 'n2'],
                                     'count': 3}]}})
        self.assertIn("| servers        | count='3', flavor='m1.large', "
                      "name='sim', networks='n1, n2' |", output)
        self.assertNoRepr(output)

    def test_request_shows_the_servers_it_built(self):
        """An active request's servers (the API's server_ids) and whether
        it holds a trust were not shown: its owner could not tell which
        servers the promoter built for it."""
        output = _table(request.ShowRequest, ['r1'], {'pending': {
            'id': 'r1', 'state': 'active', 'server_ids': ['vm-1', 'vm-2'],
            'trusted': True}})
        self.assertIn('| server_ids     | vm-1, vm-2 ', output)
        self.assertIn('| trusted        | True ', output)
        self.assertNoRepr(output)
