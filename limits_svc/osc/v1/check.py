"""``openstack quota check``: would this allocation fit? (a dry run)

The same decision as ``openstack quota allocation set``, written nowhere.
The command exits 1 when the allocation would be refused, after printing
the levels of the tree that block it, so scripts can test it directly.
"""

from osc_lib.command import command

from limits_svc.osc.v1 import columns
from limits_svc.osc.v1 import resource_commands as rc

COLUMNS = ('allowed', 'project_id', 'consumer_id', 'deltas', 'blocking')

REFUSED_EXIT_CODE = 1


class CheckQuota(rc.FieldsCommand, command.ShowOne):
    """Check whether an allocation would fit every limit it touches."""

    refused = False
    fields = (
        rc.Field('project_id', 'project_id', metavar='<project-id>',
                 help='Project the allocation would be made in'),
        rc.ResourcesField('Amount of a resource to check, e.g. cores=4'),
        rc.Field('--consumer', 'consumer_id', metavar='<consumer-id>',
                 help='Consumer whose current allocation the '
                      'amounts would replace (a resize)'),
    )

    def take_action(self, parsed_args):
        answer = self.call('POST', '/v1/enforce',
                           json=rc.given(parsed_args, self.fields))
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
