"""``openstack preemptible request create|list|show|delete``: pending
requests, built by the promoter when room frees."""

from reaper_svc.osc.v1 import options
from svc_common.clients import rest
from svc_common.osc import command

API_NAME = 'preemption'
PATH = '/v1/pending'
COLUMNS = ('id', 'project_id', 'state', 'count', 'all_or_nothing',
           'deadline', 'created_at')
HEADINGS = ('ID', 'Project ID', 'State', 'Count', 'All Or Nothing',
            'Deadline', 'Created At')
SHOW = ('id', 'project_id', 'user_id', 'state', 'servers', 'count',
        'all_or_nothing', 'min_runtime', 'deadline', 'reason', 'server_ids',
        'trusted', 'created_at', 'updated_at')
STATES = ('queued', 'building', 'active', 'expired', 'cancelled',
          'failed')


def _show(request):
    return command.show_columns(request, SHOW)


class CreateRequest(command.ShowOne):
    """Queue servers for your project, to be built when room frees."""

    api_name = API_NAME

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<name>',
                            help='Server name (with -1, -2 ... when '
                                 '--count is more than 1)')
        parser.add_argument('--flavor', metavar='<flavor>', required=True,
                            help='Name of the servers\' flavor (its name, '
                                 'not its ID; required)')
        parser.add_argument('--image', metavar='<image-id>', required=True,
                            help='Glance image ID of the servers (required)')
        parser.add_argument('--network', metavar='<network-id>',
                            dest='networks', action='append',
                            help='Attach to this network (repeat for '
                                 'several)')
        parser.add_argument('--count', metavar='<count>', default=1,
                            type=command.positive_int,
                            help='How many servers (default: 1)')
        group = parser.add_mutually_exclusive_group()
        group.add_argument('--all-or-nothing', dest='all_or_nothing',
                           action='store_true', default=True,
                           help='Build all the servers at once or none '
                                '(default)')
        group.add_argument('--partial', dest='all_or_nothing',
                           action='store_false',
                           help='Servers may be built as room frees')
        parser.add_argument('--min-runtime', metavar='<duration>',
                            type=options.duration,
                            help='Guaranteed runtime once built, during '
                                 'which no preemption stops them (e.g. '
                                 '8h); at most what the cloud allows '
                                 '(30 days unless its operator set '
                                 'less)')
        parser.add_argument('--deadline', metavar='<time>',
                            type=options.deadline,
                            help='Give up if not built by then: ISO 8601 '
                                 'time (UTC) or +<duration> from now')
        return parser

    def take_action(self, parsed_args):
        server = {'name': parsed_args.name, 'flavor': parsed_args.flavor,
                  'image': parsed_args.image, 'count': parsed_args.count}
        if parsed_args.networks:
            server['networks'] = list(dict.fromkeys(parsed_args.networks))
        body = {'servers': [server],
                'all_or_nothing': parsed_args.all_or_nothing}
        if parsed_args.min_runtime is not None:
            body['min_runtime'] = parsed_args.min_runtime
        if parsed_args.deadline is not None:
            body['deadline'] = parsed_args.deadline
        return _show(self.client.post(PATH, json=body)['pending'])


class ListRequest(command.Lister):
    """List pending requests (yours, or every project's for operators)."""

    api_name = API_NAME

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--state', metavar='<state>', choices=STATES,
                            help='Only requests in this state (%s)'
                                 % ', '.join(STATES))
        parser.add_argument('--project', metavar='<project-id>',
                            help='Only this project\'s (operators)')
        command.add_pagination_options(parser, 'requests')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list(PATH, 'pending', {
            'state': parsed_args.state, 'project_id': parsed_args.project},
            parsed_args.limit, parsed_args.marker)
        return HEADINGS, command.list_rows(items, COLUMNS)


class ShowRequest(command.ShowOne):
    """Show a pending request."""

    api_name = API_NAME

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('request_id', metavar='<request-id>',
                            help='ID of the pending request')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.get('%s/%s' % (PATH, rest.path_segment(
            parsed_args.request_id)))['pending'])


class DeleteRequest(command.Command):
    """Withdraw queued pending requests."""

    api_name = API_NAME

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('request_ids', metavar='<request-id>',
                            nargs='+',
                            help='ID of a pending request to withdraw '
                                 '(repeat for several)')
        return parser

    def take_action(self, parsed_args):
        command.delete_each(self.client, PATH + '/%s',
                            parsed_args.request_ids,
                            'pending requests')
