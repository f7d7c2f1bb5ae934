"""The ``openstack`` CLI plugin of limits_svc.

The client handed to the commands (``self.app.client_manager.limits``) is
a keystoneauth1 ``Adapter`` on the service root (the commands ask for
``/v1/...``).  The endpoint is, in order:

1. ``--os-limits-endpoint-override`` (or ``OS_LIMITS_ENDPOINT_OVERRIDE``,
   or ``limits_endpoint_override`` in ``clouds.yaml``), with any auth type;
2. with ``--os-auth-type none``, the ``--os-endpoint`` given;
3. the ``limits`` service of the Keystone catalog.

A service run with ``[api] auth_strategy = noauth`` trusts identity
headers instead of tokens.  With ``--os-auth-type none`` the plugin sends
them from these environment variables (nothing is sent for a variable that
is not set, and none of them is sent with any other auth type):

===============================  ==================  =====================
variable                         header              example
===============================  ==================  =====================
``ARBITER_NOAUTH_USER``          ``X-User-Id``       ``admin``
``ARBITER_NOAUTH_ROLES``         ``X-Roles``         ``admin,member,reader``
``ARBITER_NOAUTH_PROJECT``       ``X-Project-Id``    ``p1``
``ARBITER_NOAUTH_SYSTEM_SCOPE``  ``X-System-Scope``  ``all``
===============================  ==================  =====================

See doc/source/cli/limits.rst.
"""

import os

from keystoneauth1 import adapter
from osc_lib import exceptions

from svc_common import osc_plugin

API_NAME = 'limits'
API_VERSION_OPTION = 'os_limits_api_version'
API_VERSIONS = {'1': 'limits_svc.osc.plugin'}
DEFAULT_API_VERSION = '1'

SERVICE_TYPE = 'limits'
ENDPOINT_OVERRIDE_ENV = 'OS_LIMITS_ENDPOINT_OVERRIDE'

# Environment variable -> identity header, for --os-auth-type none.
NOAUTH_HEADERS = (
    ('ARBITER_NOAUTH_USER', 'X-User-Id'),
    ('ARBITER_NOAUTH_ROLES', 'X-Roles'),
    ('ARBITER_NOAUTH_PROJECT', 'X-Project-Id'),
    ('ARBITER_NOAUTH_SYSTEM_SCOPE', 'X-System-Scope'),
)


def noauth_headers(environ):
    """The identity headers named by ``ARBITER_NOAUTH_*`` in ``environ``."""
    return {header: environ[name] for name, header in NOAUTH_HEADERS
            if environ.get(name)}


def make_client(instance):
    config = instance.get_configuration()
    noauth = config.get('auth_type') == 'none'
    endpoint = config.get('limits_endpoint_override')
    if not endpoint and noauth:
        endpoint = (config.get('auth') or {}).get('endpoint')
    if not endpoint and not noauth:
        # Keystone catalog: the shared adapter looks the service up.
        return osc_plugin.make_adapter(instance, SERVICE_TYPE)
    if not endpoint:
        raise exceptions.CommandError(
            'With --os-auth-type none, give the limits API root URL with '
            '--os-endpoint or --os-limits-endpoint-override.')
    return adapter.Adapter(
        session=instance.session,
        service_type=SERVICE_TYPE,
        interface=instance.interface,
        region_name=instance.region_name,
        endpoint_override=endpoint,
        additional_headers=noauth_headers(os.environ) if noauth else None)


def build_option_parser(parser):
    parser = osc_plugin.add_api_version_option(parser, API_NAME,
                                               DEFAULT_API_VERSION)
    parser.add_argument(
        '--os-limits-endpoint-override',
        metavar='<url>',
        default=os.environ.get(ENDPOINT_OVERRIDE_ENV),
        help='Root URL of the limits API (e.g. http://127.0.0.1:9870), '
             'instead of the Keystone catalog (Env: %s)'
             % ENDPOINT_OVERRIDE_ENV)
    return parser
