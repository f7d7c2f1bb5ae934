"""``openstack quota allocation ...``: what each consumer holds.

``set`` is the atomic ``PUT /v1/allocations/{consumer}``: it replaces the
consumer's allocation if every limit it touches allows it, and changes
nothing otherwise.
"""

from osc_lib.command import command

from limits_svc.osc.v1 import columns
from limits_svc.osc.v1 import options
from limits_svc.osc.v1 import resource_commands as rc

PATH = '/v1/allocations'
COLUMNS = ('consumer_id', 'project_id', 'resources', 'expires_at')
HEADINGS = ('Consumer ID', 'Project ID', 'Resources', 'Expires At')
CONSUMER_HELP = 'Consumer (e.g. an instance UUID)'


def _row(allocation):
    return (allocation['consumer_id'], allocation['project_id'],
            columns.ResourcesColumn(allocation['resources']),
            allocation.get('expires_at'))


RESOURCE = rc.Resource(PATH, 'allocation', 'allocations', 'consumer_id',
                       '<consumer-id>', COLUMNS, HEADINGS, row=_row)


class ListAllocation(rc.ListCommand):
    """List allocations by consumer."""

    resource = RESOURCE
    fields = (rc.Field('--project', 'project_id', metavar='<project-id>',
                       help='Only allocations in this project'),)


class ShowAllocation(rc.ShowCommand):
    """Show the allocation of a consumer."""

    resource = RESOURCE
    id_help = CONSUMER_HELP


class SetAllocation(rc.MemberCommand, command.ShowOne):
    """Allocate, replace or confirm the allocation of a consumer.

    Every limit the change touches is checked at once -- the project's own
    and the subtree limit of every ancestor -- and either all of it is
    written or nothing.  Repeating the call is harmless; calling it without
    --expires-in confirms a reservation.
    """

    resource = RESOURCE
    id_help = CONSUMER_HELP
    fields = (
        rc.Field('--project', 'project_id', metavar='<project-id>',
                 required=True, help='Project the consumer belongs to'),
        rc.ResourcesField(
            'Amount of a resource the consumer holds, e.g. cores=4'),
        rc.Field('--expires-in', 'expires_in', metavar='<seconds>',
                 type=options.positive_int,
                 help='Make it a reservation that frees itself '
                      'after <seconds> unless confirmed'),
    )

    def take_action(self, parsed_args):
        answer = self.call_member(parsed_args, 'PUT',
                                  json=rc.given(parsed_args, self.fields))
        return self.resource.show(answer[self.resource.member])


class DeleteAllocation(rc.DeleteCommand):
    """Free the allocations of consumers."""

    resource = RESOURCE
    ids_help = 'Consumer(s) to free'
