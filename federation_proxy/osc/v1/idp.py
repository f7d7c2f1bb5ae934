"""``openstack federation idp ...``: the upstream identity providers
(system admins)."""

import argparse

from federation_proxy.osc.v1 import common
from svc_common.clients import rest
from svc_common.osc import command
from svc_common.osc import secret_options

COLUMNS = ('id', 'name', 'issuer', 'client_id', 'enabled')
HEADINGS = ('ID', 'Name', 'Issuer', 'Client ID', 'Enabled')
SHOW_COLUMNS = COLUMNS + ('has_client_secret', 'scopes', 'claim_mapping',
                          'authorization_endpoint', 'token_endpoint',
                          'jwks_uri', 'userinfo_endpoint', 'created_at')
CLAIMS = ('name', 'email', 'affiliation', 'assurance')


def claim(value):
    """argparse type of ``--claim <ours>=<theirs>``."""
    ours, sep, theirs = value.partition('=')
    if not sep or ours not in CLAIMS or not theirs:
        raise argparse.ArgumentTypeError(
            '%r is not <claim>=<upstream claim> with <claim> one of %s'
            % (value, ', '.join(CLAIMS)))
    return ours, theirs


def _show(idp):
    # Lists and dicts print as JSON in value/csv output, and stay
    # structured in json/yaml (svc_common.osc.command.ShowOne).
    return command.show_columns(idp, SHOW_COLUMNS)


class CreateIdP(common.ShowOne):
    """Register an upstream OpenID Connect provider."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<name>', help='Name of the IdP')
        parser.add_argument('--issuer', metavar='<url>', required=True,
                            help='Issuer URL (https)')
        parser.add_argument('--client-id', metavar='<client-id>',
                            required=True,
                            help='The proxy\'s client ID at the IdP')
        secret_options.add_argument(
            parser, '--client-secret', metavar='<secret>',
            help='The proxy\'s client secret at the IdP (stored encrypted, '
                 'never shown, not even with --debug)')
        parser.add_argument('--scope', metavar='<scope>', action='append',
                            dest='scopes',
                            help='Scope to ask for (repeat; default: '
                                 'openid email profile)')
        parser.add_argument('--claim', metavar='<claim>=<upstream-claim>',
                            type=claim, action='append', default=[],
                            help='Read %s from this upstream claim '
                                 '(repeat)' % ', '.join(CLAIMS))
        parser.add_argument('--discover', action='store_true',
                            help='Read the endpoints from the issuer\'s '
                                 '/.well-known/openid-configuration')
        for name in ('authorization-endpoint', 'token-endpoint',
                     'jwks-uri', 'userinfo-endpoint'):
            parser.add_argument('--' + name, metavar='<url>',
                                help='The IdP\'s %s (without --discover)'
                                     % name.replace('-', ' '))
        return parser

    def take_action(self, parsed_args):
        body = common.given(
            name=parsed_args.name, issuer=parsed_args.issuer,
            client_id=parsed_args.client_id,
            client_secret=parsed_args.client_secret,
            scopes=parsed_args.scopes,
            claim_mapping=dict(parsed_args.claim) or None,
            discover=parsed_args.discover or None,
            authorization_endpoint=parsed_args.authorization_endpoint,
            token_endpoint=parsed_args.token_endpoint,
            jwks_uri=parsed_args.jwks_uri,
            userinfo_endpoint=parsed_args.userinfo_endpoint)
        return _show(self.client.post(
            '/v1/idps', json=body,
            log_body='client_secret' not in body)['idp'])


class ListIdP(common.Lister):
    """List the upstream identity providers."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        command.add_pagination_options(parser, 'IdPs')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list('/v1/idps', 'idps', None, parsed_args.limit,
                                 parsed_args.marker)
        return HEADINGS, command.list_rows(items, COLUMNS)


class ShowIdP(common.ShowOne):
    """Show an upstream identity provider."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('idp', metavar='<idp-id>', help='IdP to show')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.get('/v1/idps/%s' % rest.path_segment(
            parsed_args.idp))['idp'])


class SetIdP(common.ShowOne):
    """Change an upstream identity provider (its issuer stays)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('idp', metavar='<idp-id>', help='IdP to change')
        parser.add_argument('--name', metavar='<name>', help='New name')
        parser.add_argument('--client-id', metavar='<client-id>',
                            help='The proxy\'s client ID at the IdP')
        secret_options.add_argument(
            parser, '--client-secret', metavar='<secret>',
            help='A new client secret (stored encrypted, never shown, not '
                 'even with --debug)')
        parser.add_argument('--scope', metavar='<scope>', action='append',
                            dest='scopes',
                            help='Scope to ask for (repeat; replaces the '
                                 'list)')
        parser.add_argument('--claim', metavar='<claim>=<upstream-claim>',
                            type=claim, action='append', default=[],
                            help='Read %s from this upstream claim (repeat; '
                                 'replaces the mapping)' % ', '.join(CLAIMS))
        enabled = parser.add_mutually_exclusive_group()
        enabled.add_argument('--enable', action='store_true', default=None,
                             dest='enabled',
                             help='People may log in through it')
        enabled.add_argument('--disable', action='store_false',
                             dest='enabled',
                             help='Nobody may log in through it')
        parser.add_argument('--discover', action='store_true',
                            help='Read the endpoints again from the '
                                 'issuer\'s /.well-known/openid-'
                                 'configuration')
        for name in ('authorization-endpoint', 'token-endpoint',
                     'jwks-uri', 'userinfo-endpoint'):
            parser.add_argument('--' + name, metavar='<url>',
                                help='The IdP\'s %s' % name.replace('-', ' '))
        return parser

    def take_action(self, parsed_args):
        body = common.given(
            name=parsed_args.name, client_id=parsed_args.client_id,
            client_secret=parsed_args.client_secret,
            scopes=parsed_args.scopes,
            claim_mapping=dict(parsed_args.claim) or None,
            enabled=parsed_args.enabled,
            discover=parsed_args.discover or None,
            authorization_endpoint=parsed_args.authorization_endpoint,
            token_endpoint=parsed_args.token_endpoint,
            jwks_uri=parsed_args.jwks_uri,
            userinfo_endpoint=parsed_args.userinfo_endpoint)
        path = '/v1/idps/%s' % rest.path_segment(parsed_args.idp)
        return _show(command.set_object(
            self.client, path, body,
            log_body='client_secret' not in body)['idp'])


class DeleteIdP(common.Command):
    """Remove upstream identity providers."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('idps', metavar='<idp-id>', nargs='+',
                            help='IdP(s) to remove')
        return parser

    def take_action(self, parsed_args):
        command.delete_each(self.client, '/v1/idps/%s', parsed_args.idps,
                            'IdPs')
