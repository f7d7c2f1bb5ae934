"""The option groups each service lists for the config generator."""

import importlib

import testtools

from svc_common.cmd import all_in_one
from svc_common import config


class TestListedGroups(testtools.TestCase):

    def test_coordination_listed_exactly_for_services_with_an_engine(self):
        """A service whose engines elect a leader documents how, in its
        sample config; one without an engine does not."""
        for spec in all_in_one.load_specs():
            groups = [group for group, _opts in importlib.import_module(
                '%s.conf' % spec.package).list_opts()]
            self.assertEqual(bool(spec.engine), 'coordination' in groups,
                             spec.package)
            self.assertEqual(len(groups), len(set(groups)), spec.package)

    def test_registered_where_listed(self):
        for spec in all_in_one.load_specs():
            conf = config.build_conf(spec)
            self.assertEqual(bool(spec.engine), 'coordination' in conf,
                             spec.package)
