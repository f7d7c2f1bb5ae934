"""The command bases: dict and list columns in tables (osc-lib's
formatters) and as JSON in value/csv/shell, errors."""

import argparse
import io
import json

from cliff import columns as cliff_columns
import fixtures
from osc_lib import exceptions
import testtools

from svc_common.clients import rest
from svc_common.osc import command


class DictColumn(cliff_columns.FormattableColumn):
    def human_readable(self):
        return 'cores=4'

    def machine_readable(self):
        return dict(self._value)


class ShowThing(command.ShowOne):
    api_name = 'things'

    def take_action(self, parsed_args):
        return (('id', 'resources', 'raw', 'tags'),
                ('t1', DictColumn({'cores': 4}), {'b': [1, 2]}, ['x']))


class ListThings(command.Lister):
    api_name = 'things'

    def take_action(self, parsed_args):
        return (('ID', 'Resources'), [('t1', DictColumn({'cores': 4})),
                                      ('t2', {'ram': 1})])


class FailingThing(command.Command):
    api_name = 'things'

    def take_action(self, parsed_args):
        raise rest.ApiError(409, code='things.busy', detail='Busy.',
                            request_id='req-7')


class FakeApp(object):
    def __init__(self):
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.options = None
        self.client_manager = type('CM', (), {'things': None})()


class TestOutput(testtools.TestCase):

    def run_show(self, *args):
        app = FakeApp()
        cmd = ShowThing(app, None)
        parsed = cmd.get_parser('thing show').parse_args(list(args))
        cmd.run(parsed)
        return app.stdout.getvalue()

    def test_value_prints_dicts_and_lists_as_json(self):
        self.assertEqual('t1\n{"cores": 4}\n{"b": [1, 2]}\n["x"]\n',
                         self.run_show('-f', 'value'))

    def test_list_csv_and_value_print_json_cells(self):
        app = FakeApp()
        cmd = ListThings(app, None)
        cmd.run(cmd.get_parser('things').parse_args(['-f', 'csv']))
        self.assertEqual('"ID","Resources"\n"t1","{""cores"": 4}"\n'
                         '"t2","{""ram"": 1}"\n',
                         app.stdout.getvalue().replace('\r\n', '\n'))
        app = FakeApp()
        cmd = ListThings(app, None)
        cmd.run(cmd.get_parser('things').parse_args(['-f', 'value']))
        self.assertEqual('t1 {"cores": 4}\nt2 {"ram": 1}\n',
                         app.stdout.getvalue())

    def test_json_keeps_structures(self):
        self.assertIn('"resources": {\n    "cores": 4\n  }',
                      self.run_show('-f', 'json'))

    def test_table_keeps_the_human_text(self):
        self.assertIn('cores=4', self.run_show())

    def test_shell_prints_dicts_and_lists_as_json(self):
        self.assertIn('raw="{\\"b\\": [1, 2]}"\ntags="[\\"x\\"]"',
                      self.run_show('-f', 'shell'))


class NestedThing(command.ShowOne):
    api_name = 'things'

    def take_action(self, parsed_args):
        return (('servers', 'request', 'hosts', 'usage', 'empty', 'grid'),
                ([{'name': 'a', 'networks': ['n1', 'n2'], 'image': None},
                  {'name': 'b', 'networks': []}],
                 {'resources': {'VCPU': 8}, 'aggregates': ['batch'],
                  'hosts': None, 'traits': []},
                 ['cmp2', 'cmp1'], {'servers': 0}, [], [[1, 2], [3]]))


class TestTableCells(testtools.TestCase):
    """A dict or list in a table reads as osc-lib prints them, never as
    Python's repr (``{'servers': 0}``, ``['cmp1']``)."""

    def run_nested(self, *args):
        app = FakeApp()
        cmd = NestedThing(app, None)
        cmd.run(cmd.get_parser('thing show').parse_args(list(args)))
        return app.stdout.getvalue()

    def rows(self, output):
        """``{field: [value line, ...]}`` of a ShowOne table."""
        rows = {}
        field = None
        for line in output.splitlines():
            if not line.startswith('|'):
                continue
            name, value = [cell.strip() for cell in line.strip('|').split(
                '|')]
            field = name or field
            rows.setdefault(field, []).append(value)
        return rows

    def test_dicts_and_lists_read_as_osc_lib_prints_them(self):
        output = self.run_nested()
        rows = self.rows(output)
        # One object a line; a list inside joined; unset members left out.
        self.assertEqual(["name='a', networks='n1, n2'", "name='b'"],
                         rows['servers'])
        self.assertEqual(["aggregates='batch', resources.VCPU='8'"],
                         rows['request'])
        self.assertEqual(['cmp1, cmp2'], rows['hosts'])
        self.assertEqual(["servers='0'"], rows['usage'])
        self.assertEqual([''], rows['empty'])
        self.assertNotIn("['", output)
        self.assertNotIn("{'", output)

    def test_a_list_of_lists_is_json(self):
        rows = self.rows(self.run_nested('-c', 'grid'))
        self.assertEqual('[[1,2],[3]]', ''.join(rows['grid']).replace(
            ' ', ''))

    def test_json_and_yaml_keep_every_member(self):
        output = self.run_nested('-f', 'json', '-c', 'request', '-c',
                                 'hosts')
        self.assertEqual({'request': {'resources': {'VCPU': 8},
                                      'aggregates': ['batch'],
                                      'hosts': None, 'traits': []},
                          'hosts': ['cmp2', 'cmp1']}, json.loads(output))
        self.assertIn('usage:\n  servers: 0\n',
                      self.run_nested('-f', 'yaml'))

    def test_value_prints_one_line_of_json(self):
        self.assertEqual('["cmp2", "cmp1"]\n{"servers": 0}\n',
                         self.run_nested('-f', 'value', '-c', 'hosts', '-c',
                                         'usage'))


class TestErrors(testtools.TestCase):

    def test_api_error_is_a_command_error_with_code_and_request(self):
        cmd = FailingThing(FakeApp(), None)
        exc = self.assertRaises(exceptions.CommandError, cmd.run,
                                cmd.get_parser('x').parse_args([]))
        self.assertEqual('Busy. (HTTP 409 things.busy, request req-7)',
                         str(exc))


class TestInteger(testtools.TestCase):

    def usage_error(self, option_type, value):
        parser = argparse.ArgumentParser(prog='openstack')
        parser.add_argument('--limit', type=option_type)
        stderr = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr.stream))
        self.assertRaises(SystemExit, parser.parse_args, ['--limit', value])
        return stderr.getDetails()['stderr'].as_text()

    def test_more_digits_than_python_converts(self):
        # Python's int() takes at most 4300 digits.
        digits = '9' * 5000
        for option_type in (command.integer, command.positive_int):
            message = self.usage_error(option_type, digits)
            self.assertIn("argument --limit: '99999999999999999999'... "
                          "(5000 digits) is larger than any option takes",
                          message)
            self.assertLess(len(message), 300)
