"""``openstack federation client ...``: the relying parties (leaf
Keystones, portals, command-line tools) that get tokens from the proxy's
OIDC provider (system admins)."""

from federation_proxy.osc.v1 import common
from federation_proxy import registration
from svc_common.clients import rest
from svc_common.osc import command

COLUMNS = ('id', 'name', 'public', 'grant_types')
HEADINGS = ('ID', 'Name', 'Public', 'Grant Types')
SHOW_COLUMNS = COLUMNS + ('redirect_uris', 'scopes', 'created_at')


def _show(client):
    # The secret is in the answer of a creation or rotation only.
    names = SHOW_COLUMNS + (('secret',) if 'secret' in client else ())
    return command.show_columns(client, names)


def _add_registration_options(parser, required):
    parser.add_argument('--grant-type', metavar='<grant-type>',
                        action='append', dest='grant_types',
                        required=required,
                        choices=registration.GRANT_TYPES,
                        help='A grant the client may use (repeat)')
    parser.add_argument('--redirect-uri', metavar='<uri>', action='append',
                        dest='redirect_uris',
                        help='A redirect URI of the authorization code '
                             'grant, matched exactly (repeat)')
    parser.add_argument('--scope', metavar='<scope>', action='append',
                        dest='scopes',
                        help='A scope the client may ask for (repeat)')


class CreateClient(common.ShowOne):
    """Register a client; a confidential client's secret is shown once."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<name>',
                            help='Name of the client')
        parser.add_argument('--id', metavar='<client-id>',
                            help='Client ID (default: a new random one)')
        parser.add_argument('--public', action='store_true',
                            help='A public client (no secret; PKCE or the '
                                 'device grant)')
        _add_registration_options(parser, required=True)
        return parser

    def take_action(self, parsed_args):
        client = self.client.post('/v1/clients', json=common.given(
            id=parsed_args.id, name=parsed_args.name,
            grant_types=parsed_args.grant_types,
            redirect_uris=parsed_args.redirect_uris,
            scopes=parsed_args.scopes,
            public=parsed_args.public or None))['client']
        return _show(client)


class ListClient(common.Lister):
    """List the registered clients."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        command.add_pagination_options(parser, 'clients')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list('/v1/clients', 'clients', None,
                                 parsed_args.limit, parsed_args.marker)
        return HEADINGS, command.list_rows(items, COLUMNS)


class ShowClient(common.ShowOne):
    """Show a client (never its secret)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('client', metavar='<client-id>',
                            help='Client to show')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.get('/v1/clients/%s' % rest.path_segment(
            parsed_args.client))['client'])


class SetClient(common.ShowOne):
    """Change a client; --rotate-secret shows its new secret once
    (the old one stops working at once)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('client', metavar='<client-id>',
                            help='Client to change')
        parser.add_argument('--name', metavar='<name>', help='New name')
        _add_registration_options(parser, required=False)
        parser.add_argument('--rotate-secret', action='store_true',
                            help='Give the client a new secret')
        return parser

    def take_action(self, parsed_args):
        body = common.given(
            name=parsed_args.name, grant_types=parsed_args.grant_types,
            redirect_uris=parsed_args.redirect_uris,
            scopes=parsed_args.scopes,
            rotate_secret=parsed_args.rotate_secret or None)
        path = '/v1/clients/%s' % rest.path_segment(parsed_args.client)
        return _show(command.set_object(self.client, path, body)['client'])


class DeleteClient(common.Command):
    """Remove clients (they can get no more tokens)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('clients', metavar='<client-id>', nargs='+',
                            help='Client(s) to remove')
        return parser

    def take_action(self, parsed_args):
        command.delete_each(self.client, '/v1/clients/%s',
                            parsed_args.clients, 'clients')
