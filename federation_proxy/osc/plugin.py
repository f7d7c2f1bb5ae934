"""The ``openstack`` CLI plugin of federation_proxy.

The client handed to the commands (``self.app.client_manager.federation``)
is a :class:`svc_common.clients.rest.RestClient` on the federation API.
Its endpoint is ``--os-federation-endpoint-override``
(``OS_FEDERATION_ENDPOINT_OVERRIDE``), else ``--os-endpoint`` with
``--os-auth-type none``, else the Keystone catalog (service type
``federation``); see :mod:`svc_common.osc.plugin` and
doc/source/cli/federation.rst.
"""

from svc_common.clients import rest
from svc_common.osc import plugin

API_NAME = 'federation'
API_VERSION_OPTION = 'os_federation_api_version'
API_VERSIONS = {'1': 'federation_proxy.osc.plugin'}
DEFAULT_API_VERSION = '1'

SERVICE_TYPE = 'federation'

#: Options of the plugin's commands whose values are secrets, masked in
#: the command line that ``openstack --debug`` logs.
SECRET_OPTIONS = ('--client-secret',)


def make_client(instance):
    return plugin.make_client(instance, API_NAME, SERVICE_TYPE,
                              rest.RestClient)


def build_option_parser(parser):
    return plugin.build_option_parser(parser, API_NAME, DEFAULT_API_VERSION,
                                      secret_options=SECRET_OPTIONS)
