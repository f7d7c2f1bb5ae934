"""``--sort-column`` of a list command on a column that cannot be
ordered.

cliff sorts the rows it is given and, when the values of the column
cannot be compared (dicts, such as ``openstack quota allocation list
--sort-column Resources``), warns "Could not sort on field" and prints
the rows as they came.  The rows were a generator, used up by the failed
sort: the command printed an empty table and exited 0.
"""

import io

import testtools

from svc_common.osc import command


class ListThings(command.Lister):
    api_name = 'things'

    def take_action(self, parsed_args):
        return (('ID', 'Resources'),
                [('t2', {'cores': 1}), ('t1', {'cores': 4})])


class FakeApp(object):
    def __init__(self):
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.options = None
        self.client_manager = type('CM', (), {'things': None})()


class TestSortColumn(testtools.TestCase):

    def listed(self, *args):
        app = FakeApp()
        cmd = ListThings(app, None)
        self.assertEqual(0, cmd.run(cmd.get_parser('things').parse_args(
            list(args))))
        return app.stdout.getvalue()

    def test_rows_survive_a_column_that_cannot_be_sorted(self):
        for output in ('value', 'table', 'json'):
            text = self.listed('--sort-column', 'Resources', '-f', output)
            self.assertIn('t1', text, output)
            self.assertIn('t2', text, output)

    def test_a_sortable_column_is_still_sorted(self):
        self.assertEqual('t1 {"cores": 4}\nt2 {"cores": 1}\n',
                         self.listed('--sort-column', 'ID', '-f', 'value'))
        self.assertEqual('t2 {"cores": 1}\nt1 {"cores": 4}\n',
                         self.listed('--sort-column', 'ID',
                                     '--sort-descending', '-f', 'value'))
