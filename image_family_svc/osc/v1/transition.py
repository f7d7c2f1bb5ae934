"""``openstack image transition list|delete``: an image's history of
state changes, and the cancelling of a scheduled one.

``openstack image state set --at`` schedules a transition; these commands
show what happened and what is waiting, and withdraw what is waiting (an
image has at most 10 scheduled transitions).
"""

from osc_lib import exceptions

from image_family_svc.osc.v1 import family
from svc_common.clients import rest
from svc_common.osc import command

HISTORY_COLUMNS = ('id', 'from', 'to', 'at', 'user_id', 'reason', 'cause')
SCHEDULED_COLUMNS = ('id', 'to', 'at', 'user_id', 'reason', 'status',
                     'detail')
HISTORY_HEADINGS = ('ID', 'From', 'To', 'At', 'User ID', 'Reason', 'Cause')
SCHEDULED_HEADINGS = ('ID', 'To', 'At', 'User ID', 'Reason', 'Status',
                      'Detail')


def _transitions_path(image_id):
    try:
        return '/v1/images/%s/transitions' % rest.path_segment(image_id)
    except ValueError as error:
        raise exceptions.CommandError(str(error))


class ListTransition(family.FamilyCommand, command.Lister):
    """List an image's past state changes, oldest first, or with
    --scheduled, the changes waiting for their time."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('image_id', metavar='<image>',
                            help=family.IMAGE_HELP)
        parser.add_argument('--scheduled', action='store_true',
                            help='List the scheduled transitions (their '
                                 'IDs are what "openstack image transition '
                                 'delete" cancels) instead of the history')
        command.add_pagination_options(parser, 'transitions of the history')
        return parser

    def take_action(self, parsed_args):
        if parsed_args.scheduled and (parsed_args.limit is not None or
                                      parsed_args.marker is not None):
            # They were ignored: --scheduled --limit 1 printed every
            # scheduled transition.
            raise exceptions.CommandError(
                '--limit and --marker page the history; --scheduled lists '
                'every scheduled transition (an image has at most 10) and '
                'takes neither.')
        path = _transitions_path(parsed_args.image_id)
        if parsed_args.scheduled:
            # Every scheduled transition comes with any page (at most 10).
            answer = self.client.get(path, params={'limit': 1})
            return SCHEDULED_HEADINGS, command.list_rows(
                answer['scheduled'], SCHEDULED_COLUMNS)
        items = self.client.list(path, 'transitions', {}, parsed_args.limit,
                                 parsed_args.marker)
        return HISTORY_HEADINGS, command.list_rows(items, HISTORY_COLUMNS)


class DeleteTransition(family.FamilyCommand, command.Command):
    """Cancel scheduled transitions of an image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('image_id', metavar='<image>',
                            help=family.IMAGE_HELP)
        parser.add_argument('transition_ids', metavar='<transition-id>',
                            nargs='+',
                            help='ID of a scheduled transition (see '
                                 '"openstack image transition list '
                                 '--scheduled"; repeat for several)')
        return parser

    def take_action(self, parsed_args):
        path = _transitions_path(parsed_args.image_id)
        command.delete_each(self.client, path.replace('%', '%%') + '/%s',
                            parsed_args.transition_ids,
                            'scheduled transitions', verb='cancel')
