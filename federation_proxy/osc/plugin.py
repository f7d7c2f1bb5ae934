"""The ``openstack`` CLI plugin of federation_proxy."""

from svc_common import osc_plugin

API_NAME = 'federation'
API_VERSION_OPTION = 'os_federation_api_version'
API_VERSIONS = {'1': 'federation_proxy.osc.plugin'}
DEFAULT_API_VERSION = '1'


def make_client(instance):
    return osc_plugin.make_adapter(instance, 'federation')


def build_option_parser(parser):
    return osc_plugin.add_api_version_option(parser, API_NAME,
                                             DEFAULT_API_VERSION)
