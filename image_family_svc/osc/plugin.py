"""The ``openstack`` CLI plugin of image_family_svc.

The client handed to the commands (``self.app.client_manager.
image_family``) is a :class:`svc_common.clients.rest.RestClient`; its
endpoint is ``--os-image-family-endpoint-override``
(``OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE``), else ``--os-endpoint`` with
``--os-auth-type none``, else the Keystone catalog (service type
``image-family``); see :mod:`svc_common.osc.plugin`.
"""

from svc_common.osc import plugin

API_NAME = 'image_family'
API_VERSION_OPTION = 'os_image_family_api_version'
API_VERSIONS = {'1': 'image_family_svc.osc.plugin'}
DEFAULT_API_VERSION = '1'

SERVICE_TYPE = 'image-family'


def make_client(instance):
    return plugin.make_client(instance, API_NAME, SERVICE_TYPE)


def build_option_parser(parser):
    return plugin.build_option_parser(parser, API_NAME, DEFAULT_API_VERSION)
