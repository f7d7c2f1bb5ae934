"""No option of an Arbiter command is one that ``openstack`` itself takes.

OSC parses its global options out of the whole command line before the
command's own parser runs, so a command option spelled like one of them
never reaches the command: ``openstack image family add centos-7 <image>
--version 7.9`` printed ``openstack 10.5.0`` and exited 0, and the image
was never added.
"""

from importlib import metadata

from openstackclient import shell
import testtools

GROUPS = ('openstack.limits.v1', 'openstack.preemption.v1',
          'openstack.image_family.v1', 'openstack.federation.v1')


def _command_options():
    """``(command, option string)`` of every long option of every Arbiter
    command, ``--help`` left out (OSC's and the command's are one)."""
    app = shell.OpenStackShell()
    for group in GROUPS:
        for entry in metadata.entry_points(group=group):
            command = entry.load()(app, None)
            parser = command.get_parser('openstack %s'
                                        % entry.name.replace('_', ' '))
            for action in parser._actions:
                for option in action.option_strings:
                    if option.startswith('--') and option != '--help':
                        yield entry.name, option


class TestNoClashWithGlobalOptions(testtools.TestCase):

    def test_every_option_reaches_its_command(self):
        global_parser = shell.OpenStackShell().build_option_parser(
            'openstack', '0')
        taken = []
        for name, option in _command_options():
            try:
                _known, rest = global_parser.parse_known_args(
                    [option, 'value'])
            except SystemExit:
                taken.append((name, option))
                continue
            if option not in rest:
                taken.append((name, option))
        self.assertEqual([], taken)

    def test_image_family_add_takes_image_version(self):
        options = {option for name, option in _command_options()
                   if name == 'image_family_add'}
        self.assertIn('--image-version', options)
