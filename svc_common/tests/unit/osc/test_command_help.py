"""``openstack help <command>`` of every Arbiter command explains each
argument.

A newcomer reading ``openstack help image state set`` saw ``<image>`` and
``<state>`` with nothing beside them (which states exist?), and the same
for the ``<family>`` of eight image family commands and for
``--flavor``, ``--image``, ``<action-id>`` and ``<request-id>`` of the
preemption commands.
"""

import importlib.metadata

import testtools

GROUPS = ('openstack.limits.v1', 'openstack.preemption.v1',
          'openstack.image_family.v1', 'openstack.federation.v1')


def unexplained(help_text):
    """The arguments of an argparse help text that have no help of
    their own.

    An argument's line starts with two spaces and its option (``-``) or
    its metavar (``<``: every Arbiter metavar is written so); its help
    follows on the same line after two spaces or more, or on the next
    lines, indented further.  (A group's description also starts with
    two spaces, but with a letter.)
    """
    lines = help_text.splitlines()
    missing = []
    for index, line in enumerate(lines):
        if not line.startswith(('  -', '  <')):
            continue
        if '  ' in line.strip():
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ''
        if following.startswith('   '):
            continue
        missing.append(line.strip())
    return missing


class TestEveryArgumentHasHelp(testtools.TestCase):

    def commands(self):
        for group in GROUPS:
            for entry in importlib.metadata.entry_points(group=group):
                yield entry.name.replace('_', ' '), entry.load()

    def test_every_group_has_commands(self):
        names = [name for name, _cls in self.commands()]
        self.assertIn('image state set', names)
        self.assertIn('preemptible request create', names)
        self.assertGreater(len(names), 70)

    def test_every_argument_is_explained(self):
        missing = {}
        for name, cls in self.commands():
            cmd = cls(None, None)
            self.assertTrue((cls.__doc__ or '').strip(),
                            '%s has no description' % name)
            parser = cmd.get_parser('openstack %s' % name)
            lacking = unexplained(parser.format_help())
            if lacking:
                missing[name] = lacking
        self.assertEqual({}, missing)

    def test_unexplained_finds_a_bare_argument(self):
        text = ('usage: x\n\npositional arguments:\n  <image>\n'
                '  <state>               The state\n\noptions:\n'
                '  a group description\n'
                '  --flavor <flavor>\n'
                '  --properties-schema <json>\n'
                '                        JSON schema\n')
        self.assertEqual(['<image>', '--flavor <flavor>'], unexplained(text))
