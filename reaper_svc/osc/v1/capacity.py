"""``openstack preemptible capacity show``."""

from svc_common.osc import command

API_NAME = 'preemption'
HEADINGS = ('Aggregate', 'Hosts', 'Resource Class', 'Total', 'Used',
            'Preemptible', 'Free')


def capacity_rows(aggregates):
    """One row per aggregate and resource class, in name order."""
    return [(item['aggregate'], item['hosts'], rc, figures['total'],
             figures['used'], figures['preemptible'], figures['free'])
            for item in aggregates
            for rc, figures in sorted(item['resources'].items())]


class ShowCapacity(command.Lister):
    """Show capacity per aggregate: total, used, used by preemptible
    servers, free."""

    api_name = API_NAME

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--aggregate', metavar='<aggregate>',
                            help='Only this aggregate')
        return parser

    def take_action(self, parsed_args):
        params = ({'aggregate': parsed_args.aggregate}
                  if parsed_args.aggregate else None)
        answer = self.client.get('/v1/capacity', params=params)
        return HEADINGS, capacity_rows(answer['capacity'])
