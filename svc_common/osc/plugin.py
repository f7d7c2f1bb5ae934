"""The client an Arbiter OSC plugin hands its commands, and its options.

A service's ``<svc>/osc/plugin.py`` names its API and calls
:func:`make_client` and :func:`build_option_parser`.  The client is a
:class:`svc_common.clients.rest.RestClient` (or the service's subclass);
its endpoint is, in order:

1. ``--os-<api>-endpoint-override`` (``OS_<API>_ENDPOINT_OVERRIDE``,
   ``<api>_endpoint_override`` in ``clouds.yaml``), with any auth type;
2. with ``--os-auth-type none``, the ``--os-endpoint`` given;
3. the service's entry in the Keystone catalog.

The API root and the root followed by ``/v1`` are both accepted
(for limits, ``http://127.0.0.1:9870`` or ``http://127.0.0.1:9870/v1``).

A service run with ``[api] auth_strategy = noauth`` trusts identity
headers instead of tokens; with ``--os-auth-type none`` the client sends
them from ``ARBITER_NOAUTH_USER``, ``ARBITER_NOAUTH_ROLES``,
``ARBITER_NOAUTH_PROJECT`` and ``ARBITER_NOAUTH_SYSTEM_SCOPE`` (nothing for
a variable that is not set; none with any other auth type).
"""

import os

from osc_lib import exceptions

from svc_common.clients import rest

# Environment variable -> identity header, for --os-auth-type none.
NOAUTH_HEADERS = (
    ('ARBITER_NOAUTH_USER', 'X-User-Id'),
    ('ARBITER_NOAUTH_ROLES', 'X-Roles'),
    ('ARBITER_NOAUTH_PROJECT', 'X-Project-Id'),
    ('ARBITER_NOAUTH_SYSTEM_SCOPE', 'X-System-Scope'),
)


# API name -> the port the service listens on by default (its
# ServiceSpec.default_port, as arbiter-all-in-one and <svc>-api use it),
# for the example URL of each service's --os-<api>-endpoint-override.
# Written out rather than read from the specs so that building OSC's
# parser imports no server code; a unit test keeps the two equal.
LOCAL_PORTS = {
    'limits': 9870,
    'preemption': 9871,
    'image_family': 9872,
    'federation': 9873,
}


def noauth_headers(environ):
    """The identity headers named by ``ARBITER_NOAUTH_*`` in ``environ``."""
    return {header: environ[name] for name, header in NOAUTH_HEADERS
            if environ.get(name)}


def endpoint_override_env(api_name):
    return 'OS_%s_ENDPOINT_OVERRIDE' % api_name.upper().replace('-', '_')


def make_client(instance, api_name, service_type,
                client_class=rest.RestClient, environ=None):
    """The client of ``api_name`` for OSC's ``ClientManager`` ``instance``.

    :raises osc_lib.exceptions.CommandError: with ``--os-auth-type none``
        and no endpoint given.
    """
    environ = os.environ if environ is None else environ
    config = instance.get_configuration()
    noauth = config.get('auth_type') == 'none'
    option = '%s_endpoint_override' % api_name.replace('-', '_')
    endpoint = config.get(option)
    if not endpoint and noauth:
        endpoint = (config.get('auth') or {}).get('endpoint')
    if not endpoint and noauth:
        # The option's name is dashed (--os-image-family-...), as
        # build_option_parser makes it; the example URL of one service
        # would be wrong for the others.
        raise exceptions.CommandError(
            'With --os-auth-type none, give the root URL of the %s API '
            'with --os-%s-endpoint-override (or %s) or --os-endpoint.'
            % (api_name.replace('_', '-'), api_name.replace('_', '-'),
               endpoint_override_env(api_name)))
    return client_class(
        session=instance.session,
        service_type=service_type,
        interface=instance.interface,
        region_name=instance.region_name,
        endpoint_override=endpoint or None,
        additional_headers=noauth_headers(environ) if noauth else None)


def build_option_parser(parser, api_name, default_version):
    """Add ``--os-<api>-api-version`` and ``--os-<api>-endpoint-override``
    to OSC's global options."""
    dashed = api_name.replace('_', '-')
    parser.add_argument(
        '--os-%s-api-version' % dashed,
        metavar='<%s-api-version>' % dashed,
        default=default_version,
        help='%s API version (default: %s)' % (dashed, default_version))
    env = endpoint_override_env(api_name)
    port = LOCAL_PORTS.get(api_name)
    # The example is the service's own local URL: another service's port
    # would send the user's commands to the wrong API.
    example = ('e.g. http://127.0.0.1:%d for a local run on the default '
               'ports; ' % port) if port else ''
    parser.add_argument(
        '--os-%s-endpoint-override' % dashed,
        metavar='<url>',
        default=os.environ.get(env),
        help='Root URL of the %s API (%sa trailing /v1 is accepted), '
             'instead of the Keystone catalog (Env: %s)'
             % (dashed, example, env))
    return parser
