"""The global options every Arbiter OSC plugin adds to ``openstack``."""

import argparse
from importlib import metadata
import re

import stevedore
import testtools

from svc_common.osc import plugin


def _specs():
    """service type -> ServiceSpec of every installed Arbiter service
    (the ``arbiter.services`` entry points)."""
    manager = stevedore.ExtensionManager('arbiter.services')
    return {ext.plugin.service_type: ext.plugin for ext in manager}


def _arbiter_osc_plugins(packages):
    """entry point name -> module of the OSC plugins that the Arbiter
    ``packages`` register; the other OSC clients are not loaded."""
    return {ep.name: ep.load() for ep in
            metadata.entry_points(group='openstack.cli.extension')
            if ep.value.split('.')[0] in packages}


def _options_help(osc_plugin):
    """The help of the global options the plugin adds to OSC's parser
    (``--os-<api>-api-version`` and ``--os-<api>-endpoint-override``)."""
    parser = osc_plugin.build_option_parser(argparse.ArgumentParser())
    return parser.format_help()


class TestEndpointOverrideHelp(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.specs = _specs()
        self.osc_plugins = _arbiter_osc_plugins(
            {spec.package for spec in self.specs.values()})

    def test_every_service_has_a_plugin(self):
        self.assertEqual(
            sorted(self.specs),
            sorted(p.SERVICE_TYPE for p in self.osc_plugins.values()))

    def test_example_url_is_the_services_own_default_port(self):
        # The help of every service named limits' port, 9870: a user who
        # followed it sent e.g. image family commands to the limits API.
        for name, osc_plugin in self.osc_plugins.items():
            spec = self.specs[osc_plugin.SERVICE_TYPE]
            text = _options_help(osc_plugin)
            self.assertIn('--os-%s-endpoint-override'
                          % osc_plugin.API_NAME.replace('_', '-'), text)
            self.assertEqual(['http://127.0.0.1:%d' % spec.default_port],
                             re.findall(r'http://127\.0\.0\.1:\d+', text),
                             name)

    def test_ports_are_the_local_run_ports(self):
        # What a local run of arbiter-all-in-one listens on by default.
        ports = {osc_plugin.SERVICE_TYPE: plugin.LOCAL_PORTS[name]
                 for name, osc_plugin in self.osc_plugins.items()}
        self.assertEqual({'limits': 9870, 'preemption': 9871,
                          'image-family': 9872, 'federation': 9873}, ports)
        self.assertEqual(
            ports, {t: spec.default_port for t, spec in self.specs.items()})

    def test_unknown_service_gets_no_example_port(self):
        parser = plugin.build_option_parser(argparse.ArgumentParser(),
                                            'newcomer', '1')
        text = parser.format_help()
        self.assertIn('--os-newcomer-endpoint-override', text)
        self.assertNotIn('127.0.0.1', text)
