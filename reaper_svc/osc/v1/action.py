"""``openstack preemptible action list|show``."""

from svc_common.clients import rest
from svc_common.osc import command

API_NAME = 'preemption'
PATH = '/v1/actions'
COLUMNS = ('id', 'state', 'trigger', 'trigger_id', 'project_id',
           'victim_count', 'created_at')
HEADINGS = ('ID', 'State', 'Trigger', 'Trigger ID', 'Project ID', 'Victims',
            'Created At')
SHOW = ('id', 'state', 'trigger', 'trigger_id', 'project_id', 'strategy',
        'request', 'victims', 'wasted', 'reason', 'created_at', 'updated_at',
        'noticed_at', 'delete_after', 'finished_at')
STATES = ('planned', 'noticed', 'deleting', 'done', 'failed', 'cancelled')


def with_victim_count(action):
    return dict(action, victim_count=len(action['victims']))


class ListAction(command.Lister):
    """List preemption actions (yours: those that touched your project)."""

    api_name = API_NAME

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--state', metavar='<state>', choices=STATES,
                            help='Only actions in this state (%s)'
                                 % ', '.join(STATES))
        parser.add_argument('--trigger', metavar='<trigger>',
                            help='Only actions of this kind of trigger '
                                 '(e.g. scheduling_failure)')
        parser.add_argument('--project', metavar='<project-id>',
                            help='Only actions that touched this project '
                                 '(operators)')
        command.add_pagination_options(parser, 'actions')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list(PATH, 'actions', {
            'state': parsed_args.state, 'trigger': parsed_args.trigger,
            'project_id': parsed_args.project}, parsed_args.limit,
            parsed_args.marker)
        return HEADINGS, command.list_rows(
            (with_victim_count(a) for a in items), COLUMNS)


class ShowAction(command.ShowOne):
    """Show a preemption action: trigger, request, victims, states."""

    api_name = API_NAME

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('action_id', metavar='<action-id>',
                            help='ID of the action (see "openstack '
                                 'preemptible action list")')
        return parser

    def take_action(self, parsed_args):
        action = self.client.get('%s/%s' % (PATH, rest.path_segment(
            parsed_args.action_id)))['action']
        return command.show_columns(action, SHOW)
