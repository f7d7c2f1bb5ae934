"""``openstack federation user ...``: the proxy's people, the upstream
identities linked to each, and what their tokens say about them.

A person is normally made by their first login through an upstream IdP;
``create`` and ``identity add`` are for system admins who bring people
in from elsewhere.  A person may list and remove their own identities
(never the last one).
"""

from federation_proxy.osc.v1 import common
from svc_common.clients import rest
from svc_common.osc import command

COLUMNS = ('id', 'name', 'email', 'created_at')
HEADINGS = ('ID', 'Name', 'Email', 'Created At')
IDENTITY_COLUMNS = ('id', 'issuer', 'subject', 'created_at')
IDENTITY_HEADINGS = ('ID', 'Issuer', 'Subject', 'Created At')


def _add_identity_options(parser):
    parser.add_argument('--issuer', metavar='<url>', required=True,
                        help='Issuer of the upstream identity')
    parser.add_argument('--subject', metavar='<subject>', required=True,
                        help='The person\'s subject (sub) at that issuer')


class CreateUser(common.ShowOne):
    """Register a person with their first upstream identity."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_identity_options(parser)
        parser.add_argument('--id', metavar='<user-id>',
                            help='The person\'s ID (default: a new one)')
        parser.add_argument('--name', metavar='<name>', help='Display name')
        parser.add_argument('--email', metavar='<email>', help='Email')
        return parser

    def take_action(self, parsed_args):
        user = self.client.post('/v1/users', json=common.given(
            id=parsed_args.id, issuer=parsed_args.issuer,
            subject=parsed_args.subject, name=parsed_args.name,
            email=parsed_args.email))['user']
        return command.show_columns(user, COLUMNS)


class ListUser(common.Lister):
    """List the people the proxy knows (system readers)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        command.add_pagination_options(parser, 'people')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list('/v1/users', 'users', None,
                                 parsed_args.limit, parsed_args.marker)
        return HEADINGS, command.list_rows(items, COLUMNS)


class ShowUser(common.ShowOne):
    """Show a person, with the entitlements their next token carries."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('user', metavar='<user-id>', help='Person')
        return parser

    def take_action(self, parsed_args):
        path = '/v1/users/%s' % rest.path_segment(parsed_args.user)
        user = dict(self.client.get(path)['user'])
        user.update(self.client.get(path + '/entitlements')['entitlements'])
        return command.show_columns(user, COLUMNS + (
            'groups', 'eduperson_entitlement'))


class AddIdentity(common.ShowOne):
    """Link another upstream identity to a person (system admins)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('user', metavar='<user-id>', help='Person')
        _add_identity_options(parser)
        return parser

    def take_action(self, parsed_args):
        identity = self.client.post(
            '/v1/users/%s/identities' % rest.path_segment(
                parsed_args.user),
            json={'issuer': parsed_args.issuer,
                  'subject': parsed_args.subject})['identity']
        return command.show_columns(identity, IDENTITY_COLUMNS)


class ListIdentity(common.Lister):
    """List the upstream identities linked to a person."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('user', metavar='<user-id>', help='Person')
        command.add_pagination_options(parser, 'identities')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list('/v1/users/%s/identities' %
                                 rest.path_segment(parsed_args.user),
                                 'identities', None, parsed_args.limit,
                                 parsed_args.marker)
        return IDENTITY_HEADINGS, command.list_rows(items, IDENTITY_COLUMNS)


class RemoveIdentity(common.Command):
    """Unlink upstream identities from a person (never the last one)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('user', metavar='<user-id>', help='Person')
        parser.add_argument('identities', metavar='<identity-id>',
                            nargs='+', help='Identity(ies) to unlink')
        return parser

    def take_action(self, parsed_args):
        # delete_each formats the template with each identity: a '%' of
        # the user's encoded ID ('bob%s' is 'bob%25s') was read as a
        # format ("not enough arguments for format string").
        user = rest.path_segment(parsed_args.user).replace('%', '%%')
        command.delete_each(
            self.client, '/v1/users/%s/identities/%%s' % user,
            parsed_args.identities, 'identities')
