"""``<prog>-manage <command>`` without its action names the actions.

argparse named the missing argument by its internal destination:
``limits-manage db: error: the following arguments are required:
db_action`` (``usage_action``, ``keys_action``).
"""

import io

import fixtures
import testtools

from svc_common.cmd import all_in_one
from svc_common.cmd import manage

#: ``{package: [(command, actions)]}`` beyond every service's ``db``.
_MORE = {'limits_svc': [('usage', '{audit}')],
         'federation_proxy': [('keys', '{rotate,list}')]}


class TestMissingAction(testtools.TestCase):

    def error_of(self, spec, argv):
        stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        exc = self.assertRaises(SystemExit, manage.main, spec, argv)
        self.assertEqual(2, exc.code)
        return stderr.getvalue().splitlines()[-1]

    def test_each_command_names_its_actions(self):
        checked = 0
        for spec in all_in_one.load_specs():
            for command, actions in ([('db', '{sync,version}')] +
                                     _MORE.get(spec.package, [])):
                self.assertEqual(
                    '%s-manage %s: error: the following arguments are '
                    'required: %s' % (spec.prog, command, actions),
                    self.error_of(spec, [command]))
                checked += 1
        self.assertEqual(6, checked)
