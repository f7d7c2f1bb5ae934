"""The ``openstack`` CLI plugin of limits_svc."""

from svc_common import osc_plugin

API_NAME = 'limits'
API_VERSION_OPTION = 'os_limits_api_version'
API_VERSIONS = {'1': 'limits_svc.osc.plugin'}
DEFAULT_API_VERSION = '1'


def make_client(instance):
    return osc_plugin.make_adapter(instance, 'limits')


def build_option_parser(parser):
    return osc_plugin.add_api_version_option(parser, API_NAME,
                                             DEFAULT_API_VERSION)
