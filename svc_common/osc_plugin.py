"""The first plugin helpers, kept for the skeleton services' plugins.

A plugin with commands uses :mod:`svc_common.osc.plugin` instead (its
client is a :class:`svc_common.clients.rest.RestClient`, it takes an
endpoint override and ``--os-auth-type none``) and
:mod:`svc_common.osc.command` for its commands.  OSC finds the plugins
through the ``openstack.cli.extension`` entry point group.
"""

from keystoneauth1 import adapter


def make_adapter(instance, service_type):
    """A keystoneauth1 ``Adapter`` on the service's catalog endpoint."""
    return adapter.Adapter(
        session=instance.session,
        service_type=service_type,
        interface=instance.interface,
        region_name=instance.region_name)


def add_api_version_option(parser, api_name, default_version):
    """Add ``--os-<api>-api-version`` to OSC's global options."""
    dashed = api_name.replace('_', '-')
    parser.add_argument(
        '--os-%s-api-version' % dashed,
        metavar='<%s-api-version>' % dashed,
        default=default_version,
        help='%s API version (default: %s)' % (dashed, default_version))
    return parser
