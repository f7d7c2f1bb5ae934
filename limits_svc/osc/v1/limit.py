"""``openstack quota limit ...``: per-project overrides, with a scope.

Named after Keystone's ``openstack limit ...`` (same options, plus
``--scope``), under ``quota`` so that both can be installed side by side.
"""

from limits_svc.osc.v1 import command
from limits_svc.osc.v1 import options
from svc_common.clients import rest
from svc_common.osc import command as osc_command

PATH = '/v1/limits'
SCOPES = ('project', 'subtree')
COLUMNS = ('id', 'project_id', 'service_id', 'resource_name',
           'resource_limit', 'scope', 'description', 'region_id')
HEADINGS = ('ID', 'Project ID', 'Service ID', 'Resource Name',
            'Resource Limit', 'Scope', 'Description', 'Region ID')
SHOW_COLUMNS = COLUMNS + ('domain_id',)


def _show(answer):
    return osc_command.show_columns(answer['limit'], SHOW_COLUMNS)


class CreateLimit(command.ShowOne):
    """Create a project limit (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('resource_name', metavar='<resource-name>',
                            help='Resource the limit applies to, e.g. cores')
        parser.add_argument('--project', metavar='<project-id>',
                            required=True, help='Project of the limit')
        parser.add_argument('--service', metavar='<service-id>',
                            required=True,
                            help='Service the resource belongs to (ID)')
        parser.add_argument('--resource-limit', metavar='<limit>',
                            type=options.limit_value, required=True,
                            help='The limit (-1: unlimited)')
        parser.add_argument('--scope', choices=SCOPES, default='project',
                            help="project: caps the project's own usage "
                                 "(default); subtree: caps the sum over the "
                                 "project and all its descendants")
        parser.add_argument('--region', metavar='<region-id>',
                            help='Region the limit applies to')
        parser.add_argument('--description', metavar='<description>',
                            help='Description of the limit')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.post(PATH, json=command.given(
            resource_name=parsed_args.resource_name,
            project_id=parsed_args.project,
            service_id=parsed_args.service,
            resource_limit=parsed_args.resource_limit,
            scope=parsed_args.scope,
            region_id=parsed_args.region,
            description=parsed_args.description)))


class ListLimit(command.Lister):
    """List project limits."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--project', metavar='<project-id>',
                            help='Only limits of this project')
        command.limit_filters(parser)
        parser.add_argument('--scope', choices=SCOPES,
                            help='Only limits of this scope')
        osc_command.add_pagination_options(parser, 'limits')
        return parser

    def take_action(self, parsed_args):
        filters = dict(command.limit_filter_values(parsed_args),
                       project_id=parsed_args.project,
                       scope=parsed_args.scope)
        items = self.client.list(PATH, 'limits', filters, parsed_args.limit,
                                 parsed_args.marker)
        return HEADINGS, osc_command.list_rows(items, COLUMNS)


class ShowLimit(command.ShowOne):
    """Show a project limit."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_id', metavar='<limit-id>',
                            help='Limit to show')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.get('%s/%s' % (
            PATH, rest.path_segment(parsed_args.limit_id))))


class SetLimit(command.Command):
    """Change a project limit (local mode).

    Lowering a limit below the current usage refuses nothing retroactively:
    only allocations that grow a resource are refused until usage is back
    within the limit.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_id', metavar='<limit-id>',
                            help='Limit to change')
        parser.add_argument('--resource-limit', metavar='<limit>',
                            type=options.limit_value,
                            help='New limit (-1: unlimited)')
        parser.add_argument('--description', metavar='<description>',
                            help='New description')
        return parser

    def take_action(self, parsed_args):
        body = command.given(resource_limit=parsed_args.resource_limit,
                             description=parsed_args.description)
        osc_command.set_object(self.client, '%s/%s' % (
            PATH, rest.path_segment(parsed_args.limit_id)), body)


class DeleteLimit(command.Command):
    """Delete project limits (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_ids', metavar='<limit-id>', nargs='+',
                            help='Limit(s) to delete')
        return parser

    def take_action(self, parsed_args):
        command.delete_each(self.client, PATH + '/%s', parsed_args.limit_ids,
                            'limits')
