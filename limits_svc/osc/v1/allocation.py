"""``openstack quota allocation ...``: what each consumer holds.

``set`` is the atomic ``PUT /v1/allocations/{consumer}``: it replaces the
consumer's allocation if every limit it touches allows it, and changes
nothing otherwise.  Every command that prints an allocation prints its
``generation`` (the API's ETag), which ``set --if-match`` and ``delete
--if-match`` take back: read, then write that allocation only.
"""

from osc_lib import exceptions

from limits_svc.osc.v1 import columns
from limits_svc.osc.v1 import command
from limits_svc.osc.v1 import options
from svc_common.clients import rest
from svc_common.osc import command as osc_command

PATH = '/v1/allocations'
COLUMNS = ('consumer_id', 'project_id', 'resources', 'expires_at',
           'generation')
HEADINGS = ('Consumer ID', 'Project ID', 'Resources', 'Expires At',
            'Generation')
FORMATTERS = {'resources': columns.ResourcesColumn}
CONSUMER_HELP = 'Consumer (e.g. an instance UUID)'


def _add_if_match_option(parser, action):
    parser.add_argument(
        '--if-match', metavar='<generation>', type=options.generation,
        help='%s only the allocation of this generation (as "show" or '
             '"list" printed it): if it was written or freed since, '
             'change nothing and fail (HTTP 412 '
             'limits.allocation_changed)' % action)


def _if_match_headers(generation):
    """The request headers of ``--if-match`` (none without it)."""
    if generation is None:
        return {}
    return {'headers': {'If-Match': '"%d"' % generation}}


def _show(answer):
    return osc_command.show_columns(answer['allocation'], COLUMNS,
                                    FORMATTERS)


class ListAllocation(command.Lister):
    """List allocations by consumer."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--project', metavar='<project-id>',
                            help='Only allocations in this project')
        osc_command.add_pagination_options(parser, 'allocations')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list(PATH, 'allocations',
                                 {'project_id': parsed_args.project},
                                 parsed_args.limit, parsed_args.marker)
        return HEADINGS, osc_command.list_rows(items, COLUMNS, FORMATTERS)


class ShowAllocation(command.ShowOne):
    """Show the allocation of a consumer."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('consumer_id', metavar='<consumer-id>',
                            help=CONSUMER_HELP)
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.get('%s/%s' % (
            PATH, rest.path_segment(parsed_args.consumer_id))))


class SetAllocation(command.ShowOne):
    """Allocate, replace or confirm the allocation of a consumer.

    Every limit the change touches is checked at once -- the project's own
    and the subtree limit of every ancestor -- and either all of it is
    written or nothing.  Repeating the call is harmless; calling it without
    --expires-in confirms a reservation.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('consumer_id', metavar='<consumer-id>',
                            help=CONSUMER_HELP)
        parser.add_argument('--project', metavar='<project-id>',
                            required=True,
                            help='Project the consumer belongs to')
        options.add_resource_option(
            parser, 'Amount of a resource the consumer holds, e.g. cores=4')
        parser.add_argument('--expires-in', metavar='<seconds>',
                            type=options.positive_int,
                            help='Make it a reservation that frees itself '
                                 'after <seconds> unless confirmed')
        _add_if_match_option(parser, 'Replace')
        return parser

    def take_action(self, parsed_args):
        body = command.given(
            project_id=parsed_args.project,
            resources=options.resources_dict(parsed_args.resources),
            expires_in=parsed_args.expires_in)
        return _show(self.client.put('%s/%s' % (
            PATH, rest.path_segment(parsed_args.consumer_id)),
            json=body, **_if_match_headers(parsed_args.if_match)))


class DeleteAllocation(command.Command):
    """Free the allocations of consumers."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('consumer_ids', metavar='<consumer-id>',
                            nargs='+', help='Consumer(s) to free')
        _add_if_match_option(parser, 'Free (one consumer)')
        return parser

    def take_action(self, parsed_args):
        if parsed_args.if_match is None:
            command.delete_each(self.client, PATH + '/%s',
                                parsed_args.consumer_ids, 'allocations')
            return
        # A generation is that of one consumer's allocation: the frees
        # of the others could only fail (412).
        if len(parsed_args.consumer_ids) != 1:
            raise exceptions.CommandError(
                '--if-match takes the generation of one allocation: give '
                'one consumer.')
        self.client.delete('%s/%s' % (
            PATH, rest.path_segment(parsed_args.consumer_ids[0])),
            **_if_match_headers(parsed_args.if_match))
