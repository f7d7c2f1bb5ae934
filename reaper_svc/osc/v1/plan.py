"""``openstack preemptible plan create``: a dry run."""

from reaper_svc.osc.v1 import options
from svc_common.osc import command

API_NAME = 'preemption'
SHOW = ('outcome', 'strategy', 'victims', 'hosts', 'wasted', 'request')


def victim_ids(plan):
    return dict(plan, victims=[v['server_id'] for v in plan['victims']])


class CreatePlan(command.ShowOne):
    """Show which preemptible servers would be stopped to make room for a
    request; nothing is stopped."""

    api_name = API_NAME

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument('--flavor', metavar='<flavor>',
                          help='Room for servers of this flavor')
        what.add_argument('--resource', metavar='<class>=<amount>',
                          dest='resources', action='append',
                          type=options.resource_amount,
                          help='Room for servers that each need this much '
                               'of a resource class (repeat for several)')
        parser.add_argument('--count', metavar='<count>', default=1,
                            type=command.positive_int,
                            help='How many servers: room for all or none '
                                 '(default: 1)')
        parser.add_argument('--aggregate', metavar='<aggregate>',
                            dest='aggregates', action='append',
                            help='Only hosts of this aggregate count '
                                 '(repeat for several)')
        parser.add_argument('--availability-zone', metavar='<zone>',
                            help='Only hosts of this availability zone count')
        parser.add_argument('--required-trait', metavar='<trait>',
                            dest='traits', action='append',
                            help='Only hosts with this trait count '
                                 '(repeat for several)')
        return parser

    def take_action(self, parsed_args):
        body = {'count': parsed_args.count}
        if parsed_args.flavor:
            body['flavor'] = parsed_args.flavor
        else:
            body['resources'] = dict(parsed_args.resources)
        if parsed_args.aggregates:
            body['aggregates'] = sorted(set(parsed_args.aggregates))
        if parsed_args.availability_zone:
            body['availability_zone'] = parsed_args.availability_zone
        if parsed_args.traits:
            body['required_traits'] = sorted(set(parsed_args.traits))
        plan = self.client.post('/v1/plans', json=body)['plan']
        return command.show_columns(victim_ids(plan), SHOW)
