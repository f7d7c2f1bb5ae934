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

What cannot work is refused before anything is sent, naming the option
or the variable at fault: an endpoint that is not an ``http://`` or
``https://`` URL with a host (``127.0.0.1:9870`` without its scheme, a
port above 65535), and an identity variable holding a character that an
HTTP header cannot carry (a newline, an emoji).  Without these checks the
first was reported as "nothing answers there" and the second as a bare
"'latin-1' codec can't encode character".
"""

import os
import urllib.parse

from osc_lib import exceptions

from svc_common.clients import rest
from svc_common.osc import secret_options as secrets

SYSTEM_SCOPE_VARIABLE = 'ARBITER_NOAUTH_SYSTEM_SCOPE'

# Environment variable -> identity header, for --os-auth-type none.
NOAUTH_HEADERS = (
    ('ARBITER_NOAUTH_USER', 'X-User-Id'),
    ('ARBITER_NOAUTH_ROLES', 'X-Roles'),
    ('ARBITER_NOAUTH_PROJECT', 'X-Project-Id'),
    (SYSTEM_SCOPE_VARIABLE, 'X-System-Scope'),
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


def _header_problem(value):
    """Why ``value`` cannot be sent as an HTTP header's value, or None.

    http.client sends a header's value in Latin-1 and requests refuses
    a value with a line break; a control character would reach the
    service as part of an ID.
    """
    for char in value:
        if ord(char) > 255:
            return ('%r is not a Latin-1 character, which is all an HTTP '
                    'header carries' % char)
        if ord(char) < 32 or ord(char) == 127:
            return '%r is a control character' % char
    return None


def noauth_headers(environ):
    """The identity headers named by ``ARBITER_NOAUTH_*`` in ``environ``.

    Blanks around a value are dropped, as the service drops them from a
    header's value (requests refused to send a value that starts with
    one); a value that is blank is not sent.

    :raises osc_lib.exceptions.CommandError: a value that an HTTP header
        cannot carry, naming its variable; a system scope other than
        ``all``.
    """
    headers = {}
    for name, header in NOAUTH_HEADERS:
        value = (environ.get(name) or '').strip(' \t')
        if not value:
            continue
        problem = _header_problem(value)
        if problem:
            raise exceptions.CommandError(
                '%s=%r cannot be sent as the %s header: %s. Give the '
                'caller\'s ID (or roles) in plain characters.'
                % (name, environ[name], header, problem))
        if name == SYSTEM_SCOPE_VARIABLE and value != 'all':
            # A token's system scope is "all", as Keystone spells it;
            # ALL, true or 1 were sent on, and every system-scoped
            # command answered "Policy does not allow ...".
            raise exceptions.CommandError(
                '%s=%s: the system scope is "all" (%s=all) for a system-'
                'scoped caller; leave the variable unset for a caller in '
                'ARBITER_NOAUTH_PROJECT.' % (name, value, name))
        headers[header] = value
    return headers


def _url_problem(url, api_name):
    """Why ``url`` cannot be the root URL of the ``api_name`` API, or
    None."""
    if any(char.isspace() for char in url):
        return 'it holds a blank'
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port
    except ValueError as exc:
        # A port that is not a number from 0 to 65535.
        return str(exc)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        example = ' (e.g. http://127.0.0.1:%d)' % (
            LOCAL_PORTS[api_name]) if api_name in LOCAL_PORTS else ''
        return ('it is not an http:// or https:// URL with a host%s'
                % example)
    return None


def checked_endpoint(url, api_name, option):
    """``url`` without surrounding blanks, if it can be the root URL of
    the ``api_name`` API given by ``option`` (``--os-endpoint`` or the
    plugin's ``--os-<api>-endpoint-override``).

    :raises osc_lib.exceptions.CommandError: naming the option.
    """
    url = url.strip()
    problem = _url_problem(url, api_name)
    if problem:
        if option == 'endpoint':
            where = '--os-endpoint (OS_ENDPOINT)'
        else:
            where = '--os-%s (%s)' % (option.replace('_', '-'),
                                      endpoint_override_env(api_name))
        raise exceptions.CommandError(
            'The URL of the %s API given by %s, %r, cannot be used: %s.'
            % (api_name.replace('_', '-'), where, url, problem))
    return url


def endpoint_override_env(api_name):
    return 'OS_%s_ENDPOINT_OVERRIDE' % api_name.upper().replace('-', '_')


def make_client(instance, api_name, service_type,
                client_class=rest.RestClient, environ=None):
    """The client of ``api_name`` for OSC's ``ClientManager`` ``instance``.

    :raises osc_lib.exceptions.CommandError: with ``--os-auth-type none``
        and no endpoint given; an endpoint that is not a URL (see
        :func:`checked_endpoint`); an ``ARBITER_NOAUTH_*`` variable that
        cannot be sent (see :func:`noauth_headers`).
    """
    environ = os.environ if environ is None else environ
    config = instance.get_configuration()
    noauth = config.get('auth_type') == 'none'
    option = '%s_endpoint_override' % api_name.replace('-', '_')
    endpoint = config.get(option)
    if endpoint:
        endpoint = checked_endpoint(endpoint, api_name, option)
    elif noauth:
        endpoint = (config.get('auth') or {}).get('endpoint')
        if endpoint:
            endpoint = checked_endpoint(endpoint, api_name, 'endpoint')
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


def build_option_parser(parser, api_name, default_version,
                        secret_options=()):
    """Add ``--os-<api>-api-version`` and ``--os-<api>-endpoint-override``
    to OSC's global options.

    :param secret_options: the options of the plugin's commands whose
        values are secrets (``--client-secret``): OSC builds its parser
        before it logs the command line, so they are masked there from
        now on (:mod:`svc_common.osc.secret_options`).
    """
    if secret_options:
        secrets.install(secret_options)
    dashed = api_name.replace('_', '-')
    parser.add_argument(
        '--os-%s-api-version' % dashed,
        metavar='<%s-api-version>' % dashed,
        default=default_version,
        help='Version of the %s commands to load (default: %s, the only '
             'one). It is no API microversion: the commands send none, '
             'and the service answers at its first, 1.0.'
             % (dashed, default_version))
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
