"""``openstack quota check``: would this allocation fit? (a dry run)

The same decision as ``openstack quota allocation set``, written nowhere.
The command exits 1 when the allocation would be refused, after printing
the levels of the tree that block it, so scripts can test it directly.
"""

from limits_svc.osc.v1 import columns
from limits_svc.osc.v1 import command
from limits_svc.osc.v1 import options

COLUMNS = ('allowed', 'project_id', 'consumer_id', 'deltas', 'blocking')

REFUSED_EXIT_CODE = 1


class CheckQuota(command.ShowOne):
    """Check whether an allocation would fit every limit it touches."""

    refused = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('project_id', metavar='<project-id>',
                            help='Project the allocation would be made in')
        options.add_resource_option(
            parser, 'Amount of a resource to check, e.g. cores=4')
        parser.add_argument('--consumer', metavar='<consumer-id>',
                            help='Consumer whose current allocation the '
                                 'amounts would replace (a resize)')
        return parser

    def take_action(self, parsed_args):
        answer = self.client.post('/v1/enforce', json=command.given(
            project_id=parsed_args.project_id,
            resources=options.resources_dict(parsed_args.resources),
            consumer_id=parsed_args.consumer))
        self.refused = not answer['allowed']
        if self.refused:
            self.app.stderr.write(
                'Refused: %d limit(s) would be exceeded.\n'
                % len(answer['blocking']))
        return COLUMNS, (answer['allowed'], parsed_args.project_id,
                         parsed_args.consumer,
                         columns.ResourcesColumn(answer['deltas']),
                         columns.BlockingColumn(answer['blocking']))

    def run(self, parsed_args):
        result = super().run(parsed_args)
        return REFUSED_EXIT_CODE if self.refused else result
