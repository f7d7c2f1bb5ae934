"""What ``openstack help <command>`` prints of our plugins' commands.

cliff prints a command class's docstring as it is, as the command's
description: markup meant for Sphinx (double backquotes, roles) shows
up literally in the terminal.
"""

import importlib.metadata
import re

import testtools

OUR_PLUGINS = ('limits_svc.osc.plugin', 'reaper_svc.osc.plugin',
               'image_family_svc.osc.plugin', 'federation_proxy.osc.plugin')

# Sphinx markup that a terminal shows as it is.
_MARKUP = re.compile(r'``|:(class|func|meth|mod|ref|doc):`')


def plugin_commands():
    """(group, name, class) of every command of the four plugins."""
    groups = {ep.name: ep.value for ep in importlib.metadata.entry_points(
        group='openstack.cli.extension') if ep.value in OUR_PLUGINS}
    for name, module in groups.items():
        plugin = __import__(module, fromlist=['API_NAME'])
        group = 'openstack.%s.v1' % plugin.API_NAME
        for ep in importlib.metadata.entry_points(group=group):
            yield group, ep.name, ep.load()


class TestCommandDescriptions(testtools.TestCase):

    def test_every_plugin_has_commands(self):
        groups = {group for group, _name, _cls in plugin_commands()}
        self.assertEqual(4, len(groups), groups)

    def test_no_sphinx_markup_in_help(self):
        marked = ['%s %s' % (group, name)
                  for group, name, cls in plugin_commands()
                  if _MARKUP.search(cls.__doc__ or '')]
        self.assertEqual([], marked)
