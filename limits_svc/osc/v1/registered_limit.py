"""``openstack quota registered limit ...``: per-resource defaults.

Named after Keystone's ``openstack registered limit ...`` (same options),
under ``quota`` so that both can be installed side by side.
"""

from limits_svc.osc.v1 import command
from limits_svc.osc.v1 import options
from svc_common.clients import rest
from svc_common.osc import command as osc_command

PATH = '/v1/registered_limits'
COLUMNS = ('id', 'service_id', 'resource_name', 'default_limit',
           'description', 'region_id')
HEADINGS = ('ID', 'Service ID', 'Resource Name', 'Default Limit',
            'Description', 'Region ID')


def _show(answer):
    return osc_command.show_columns(answer['registered_limit'], COLUMNS)


class CreateRegisteredLimit(command.ShowOne):
    """Create a registered (default) limit (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('resource_name', metavar='<resource-name>',
                            help='Resource the limit applies to, e.g. cores')
        parser.add_argument('--service', metavar='<service-id>',
                            required=True,
                            help='Service the resource belongs to (ID)')
        parser.add_argument('--default-limit', metavar='<limit>',
                            type=options.limit_value, required=True,
                            help="Each project's own limit when it has no "
                                 "project-scope override (-1: unlimited)")
        parser.add_argument('--region', metavar='<region-id>',
                            help='Region the limit applies to')
        parser.add_argument('--description', metavar='<description>',
                            help='Description of the limit')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.post(PATH, json=command.given(
            resource_name=parsed_args.resource_name,
            service_id=parsed_args.service,
            default_limit=parsed_args.default_limit,
            region_id=parsed_args.region,
            description=parsed_args.description)))


class ListRegisteredLimit(command.Lister):
    """List registered limits."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        command.limit_filters(parser)
        osc_command.add_pagination_options(parser, 'registered limits')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list(PATH, 'registered_limits',
                                 command.limit_filter_values(parsed_args),
                                 parsed_args.limit, parsed_args.marker)
        return HEADINGS, osc_command.list_rows(items, COLUMNS)


class ShowRegisteredLimit(command.ShowOne):
    """Show a registered limit."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_id', metavar='<registered-limit-id>',
                            help='Registered limit to show')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.get('%s/%s' % (
            PATH, rest.path_segment(parsed_args.limit_id))))


class SetRegisteredLimit(command.Command):
    """Change a registered limit (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_id', metavar='<registered-limit-id>',
                            help='Registered limit to change')
        parser.add_argument('--default-limit', metavar='<limit>',
                            type=options.limit_value,
                            help='New default limit (-1: unlimited)')
        parser.add_argument('--description', metavar='<description>',
                            help='New description')
        return parser

    def take_action(self, parsed_args):
        body = command.given(default_limit=parsed_args.default_limit,
                             description=parsed_args.description)
        osc_command.set_object(self.client, '%s/%s' % (
            PATH, rest.path_segment(parsed_args.limit_id)), body)


class DeleteRegisteredLimit(command.Command):
    """Delete registered limits (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_ids', metavar='<registered-limit-id>',
                            nargs='+', help='Registered limit(s) to delete')
        return parser

    def take_action(self, parsed_args):
        command.delete_each(self.client, PATH + '/%s', parsed_args.limit_ids,
                            'registered limits')
