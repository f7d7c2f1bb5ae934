"""``openstack quota limit ...``: per-project overrides, with a scope.

Named after Keystone's ``openstack limit ...`` (same options, plus
``--scope``), under ``quota`` so that both can be installed side by side.
"""

from osc_lib.command import command

from limits_svc.osc.v1 import options
from limits_svc.osc.v1 import rest

PATH = '/v1/limits'
SCOPES = ('project', 'subtree')
COLUMNS = ('id', 'project_id', 'service_id', 'resource_name',
           'resource_limit', 'scope', 'description', 'region_id')
HEADINGS = ('ID', 'Project ID', 'Service ID', 'Resource Name',
            'Resource Limit', 'Scope', 'Description', 'Region ID')
SHOW_COLUMNS = COLUMNS + ('domain_id',)


def _show(limit):
    return SHOW_COLUMNS, tuple(limit.get(name) for name in SHOW_COLUMNS)


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
        body = {'project_id': parsed_args.project,
                'service_id': parsed_args.service,
                'resource_name': parsed_args.resource_name,
                'resource_limit': parsed_args.resource_limit,
                'scope': parsed_args.scope}
        if parsed_args.region is not None:
            body['region_id'] = parsed_args.region
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        answer = rest.call(self.app.client_manager.limits, 'POST', PATH,
                           json=body)
        return _show(answer['limit'])


class ListLimit(command.Lister):
    """List project limits."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--project', metavar='<project-id>',
                            help='Only limits of this project')
        parser.add_argument('--service', metavar='<service-id>',
                            help='Only limits of this service')
        parser.add_argument('--region', metavar='<region-id>',
                            help='Only limits of this region')
        parser.add_argument('--resource-name', metavar='<resource-name>',
                            help='Only limits of this resource')
        parser.add_argument('--scope', choices=SCOPES,
                            help='Only limits of this scope')
        options.add_pagination_options(parser, 'limits')
        return parser

    def take_action(self, parsed_args):
        limits = rest.list_all(
            self.app.client_manager.limits, PATH, 'limits',
            {'project_id': parsed_args.project,
             'service_id': parsed_args.service,
             'region_id': parsed_args.region,
             'resource_name': parsed_args.resource_name,
             'scope': parsed_args.scope},
            parsed_args.limit, parsed_args.marker)
        return HEADINGS, [tuple(limit.get(name) for name in COLUMNS)
                          for limit in limits]


class ShowLimit(command.ShowOne):
    """Show a project limit."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_id', metavar='<limit-id>',
                            help='Limit to show')
        return parser

    def take_action(self, parsed_args):
        answer = rest.call(self.app.client_manager.limits, 'GET',
                           '%s/%s' % (PATH, parsed_args.limit_id))
        return _show(answer['limit'])


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
        body = {}
        if parsed_args.resource_limit is not None:
            body['resource_limit'] = parsed_args.resource_limit
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        if not body:
            return
        rest.call(self.app.client_manager.limits, 'PATCH',
                  '%s/%s' % (PATH, parsed_args.limit_id), json=body)


class DeleteLimit(command.Command):
    """Delete project limits (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_ids', metavar='<limit-id>', nargs='+',
                            help='Limit(s) to delete')
        return parser

    def take_action(self, parsed_args):
        rest.delete_each(self.app.client_manager.limits, PATH + '/%s',
                         parsed_args.limit_ids, 'limits')
