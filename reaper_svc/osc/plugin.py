"""The ``openstack`` CLI plugin of reaper_svc: ``openstack preemptible
...`` commands.

The client handed to the commands (``self.app.client_manager.
preemption``) is a :class:`svc_common.clients.rest.RestClient`; its
endpoint is ``--os-preemption-endpoint-override``
(``OS_PREEMPTION_ENDPOINT_OVERRIDE``), else ``--os-endpoint`` with
``--os-auth-type none``, else the Keystone catalog (service type
``preemption``); see :mod:`svc_common.osc.plugin`.
"""

from svc_common.osc import plugin

API_NAME = 'preemption'
API_VERSION_OPTION = 'os_preemption_api_version'
API_VERSIONS = {'1': 'reaper_svc.osc.plugin'}
DEFAULT_API_VERSION = '1'

SERVICE_TYPE = 'preemption'


def make_client(instance):
    return plugin.make_client(instance, API_NAME, SERVICE_TYPE)


def build_option_parser(parser):
    return plugin.build_option_parser(parser, API_NAME, DEFAULT_API_VERSION)
