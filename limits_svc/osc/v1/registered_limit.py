"""``openstack quota registered limit ...``: per-resource defaults.

Named after Keystone's ``openstack registered limit ...`` (same options),
under ``quota`` so that both can be installed side by side.
"""

from limits_svc.osc.v1 import options
from limits_svc.osc.v1 import resource_commands as rc

PATH = '/v1/registered_limits'
COLUMNS = ('id', 'service_id', 'resource_name', 'default_limit',
           'description', 'region_id')
HEADINGS = ('ID', 'Service ID', 'Resource Name', 'Default Limit',
            'Description', 'Region ID')
RESOURCE = rc.Resource(PATH, 'registered_limit', 'registered_limits',
                       'limit_id', '<registered-limit-id>', COLUMNS,
                       HEADINGS)


class CreateRegisteredLimit(rc.CreateCommand):
    """Create a registered (default) limit (local mode)."""

    resource = RESOURCE
    fields = (
        rc.LIMIT_RESOURCE_NAME,
        rc.LIMIT_SERVICE,
        rc.Field('--default-limit', 'default_limit', metavar='<limit>',
                 type=options.limit_value, required=True,
                 help="Each project's own limit when it has no "
                      "project-scope override (-1: unlimited)"),
        rc.LIMIT_REGION,
        rc.LIMIT_DESCRIPTION,
    )


class ListRegisteredLimit(rc.ListCommand):
    """List registered limits."""

    resource = RESOURCE
    fields = rc.LIMIT_FILTERS


class ShowRegisteredLimit(rc.ShowCommand):
    """Show a registered limit."""

    resource = RESOURCE
    id_help = 'Registered limit to show'


class SetRegisteredLimit(rc.SetCommand):
    """Change a registered limit (local mode)."""

    resource = RESOURCE
    id_help = 'Registered limit to change'
    fields = (
        rc.Field('--default-limit', 'default_limit', metavar='<limit>',
                 type=options.limit_value,
                 help='New default limit (-1: unlimited)'),
        rc.LIMIT_NEW_DESCRIPTION,
    )


class DeleteRegisteredLimit(rc.DeleteCommand):
    """Delete registered limits (local mode)."""

    resource = RESOURCE
    ids_help = 'Registered limit(s) to delete'
