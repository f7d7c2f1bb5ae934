"""The ``openstack`` CLI plugin of limits_svc.

The client handed to the commands (``self.app.client_manager.limits``) is
a :class:`limits_svc.clients.limits.LimitsClient`, the same client as the
Python library's.  How its endpoint and, with ``--os-auth-type none``, the
caller's identity are chosen is said in :mod:`svc_common.osc.plugin`:
``--os-limits-endpoint-override`` (``OS_LIMITS_ENDPOINT_OVERRIDE``), else
``--os-endpoint`` with ``--os-auth-type none``, else the Keystone
catalog; ``http://127.0.0.1:9870`` and ``http://127.0.0.1:9870/v1`` both
work.  See doc/source/cli/limits.rst.
"""

from limits_svc.clients import limits as limits_client
from svc_common.osc import plugin

API_NAME = 'limits'
API_VERSION_OPTION = 'os_limits_api_version'
API_VERSIONS = {'1': 'limits_svc.osc.plugin'}
DEFAULT_API_VERSION = '1'

SERVICE_TYPE = limits_client.SERVICE_TYPE


def make_client(instance):
    return plugin.make_client(instance, API_NAME, SERVICE_TYPE,
                              limits_client.LimitsClient)


def build_option_parser(parser):
    return plugin.build_option_parser(parser, API_NAME, DEFAULT_API_VERSION)
