"""The command bases: dict columns as JSON in value/csv, errors."""

import io

from cliff import columns as cliff_columns
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


class TestErrors(testtools.TestCase):

    def test_api_error_is_a_command_error_with_code_and_request(self):
        cmd = FailingThing(FakeApp(), None)
        exc = self.assertRaises(exceptions.CommandError, cmd.run,
                                cmd.get_parser('x').parse_args([]))
        self.assertEqual('Busy. (HTTP 409 things.busy, request req-7)',
                         str(exc))
