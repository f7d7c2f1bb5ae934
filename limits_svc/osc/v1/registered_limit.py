"""``openstack quota registered limit ...``: per-resource defaults.

Named after Keystone's ``openstack registered limit ...`` (same options),
under ``quota`` so that both can be installed side by side.
"""

from osc_lib.command import command

from limits_svc.osc.v1 import options
from limits_svc.osc.v1 import rest

PATH = '/v1/registered_limits'
COLUMNS = ('id', 'service_id', 'resource_name', 'default_limit',
           'description', 'region_id')
HEADINGS = ('ID', 'Service ID', 'Resource Name', 'Default Limit',
            'Description', 'Region ID')


def _show(limit):
    return COLUMNS, tuple(limit.get(name) for name in COLUMNS)


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
        body = {'service_id': parsed_args.service,
                'resource_name': parsed_args.resource_name,
                'default_limit': parsed_args.default_limit}
        if parsed_args.region is not None:
            body['region_id'] = parsed_args.region
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        answer = rest.call(self.app.client_manager.limits, 'POST', PATH,
                           json=body)
        return _show(answer['registered_limit'])


class ListRegisteredLimit(command.Lister):
    """List registered limits."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--service', metavar='<service-id>',
                            help='Only limits of this service')
        parser.add_argument('--region', metavar='<region-id>',
                            help='Only limits of this region')
        parser.add_argument('--resource-name', metavar='<resource-name>',
                            help='Only limits of this resource')
        options.add_pagination_options(parser, 'registered limits')
        return parser

    def take_action(self, parsed_args):
        limits = rest.list_all(
            self.app.client_manager.limits, PATH, 'registered_limits',
            {'service_id': parsed_args.service,
             'region_id': parsed_args.region,
             'resource_name': parsed_args.resource_name},
            parsed_args.limit, parsed_args.marker)
        return HEADINGS, [tuple(limit.get(name) for name in COLUMNS)
                          for limit in limits]


class ShowRegisteredLimit(command.ShowOne):
    """Show a registered limit."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_id', metavar='<registered-limit-id>',
                            help='Registered limit to show')
        return parser

    def take_action(self, parsed_args):
        answer = rest.call(self.app.client_manager.limits, 'GET',
                           '%s/%s' % (PATH, parsed_args.limit_id))
        return _show(answer['registered_limit'])


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
        body = {}
        if parsed_args.default_limit is not None:
            body['default_limit'] = parsed_args.default_limit
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        if not body:
            return
        rest.call(self.app.client_manager.limits, 'PATCH',
                  '%s/%s' % (PATH, parsed_args.limit_id), json=body)


class DeleteRegisteredLimit(command.Command):
    """Delete registered limits (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('limit_ids', metavar='<registered-limit-id>',
                            nargs='+', help='Registered limit(s) to delete')
        return parser

    def take_action(self, parsed_args):
        rest.delete_each(self.app.client_manager.limits, PATH + '/%s',
                         parsed_args.limit_ids, 'registered limits')
