"""The ``openstack`` CLI plugin of image_family_svc."""

from svc_common import osc_plugin

API_NAME = 'image_family'
API_VERSION_OPTION = 'os_image_family_api_version'
API_VERSIONS = {'1': 'image_family_svc.osc.plugin'}
DEFAULT_API_VERSION = '1'


def make_client(instance):
    return osc_plugin.make_adapter(instance, 'image-family')


def build_option_parser(parser):
    return osc_plugin.add_api_version_option(parser, API_NAME,
                                             DEFAULT_API_VERSION)
