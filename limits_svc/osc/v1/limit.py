"""``openstack quota limit ...``: per-project overrides, with a scope.

Named after Keystone's ``openstack limit ...`` (same options, plus
``--scope``), under ``quota`` so that both can be installed side by side.
"""

from limits_svc.osc.v1 import options
from limits_svc.osc.v1 import resource_commands as rc

PATH = '/v1/limits'
SCOPES = ('project', 'subtree')
COLUMNS = ('id', 'project_id', 'service_id', 'resource_name',
           'resource_limit', 'scope', 'description', 'region_id')
HEADINGS = ('ID', 'Project ID', 'Service ID', 'Resource Name',
            'Resource Limit', 'Scope', 'Description', 'Region ID')
SHOW_COLUMNS = COLUMNS + ('domain_id',)
RESOURCE = rc.Resource(PATH, 'limit', 'limits', 'limit_id', '<limit-id>',
                       COLUMNS, HEADINGS, show_columns=SHOW_COLUMNS)


class CreateLimit(rc.CreateCommand):
    """Create a project limit (local mode)."""

    resource = RESOURCE
    fields = (
        rc.LIMIT_RESOURCE_NAME,
        rc.Field('--project', 'project_id', metavar='<project-id>',
                 required=True, help='Project of the limit'),
        rc.LIMIT_SERVICE,
        rc.Field('--resource-limit', 'resource_limit', metavar='<limit>',
                 type=options.limit_value, required=True,
                 help='The limit (-1: unlimited)'),
        rc.Field('--scope', 'scope', choices=SCOPES, default='project',
                 help="project: caps the project's own usage "
                      "(default); subtree: caps the sum over the "
                      "project and all its descendants"),
        rc.LIMIT_REGION,
        rc.LIMIT_DESCRIPTION,
    )


class ListLimit(rc.ListCommand):
    """List project limits."""

    resource = RESOURCE
    fields = (
        (rc.Field('--project', 'project_id', metavar='<project-id>',
                  help='Only limits of this project'),) +
        rc.LIMIT_FILTERS +
        (rc.Field('--scope', 'scope', choices=SCOPES,
                  help='Only limits of this scope'),))


class ShowLimit(rc.ShowCommand):
    """Show a project limit."""

    resource = RESOURCE
    id_help = 'Limit to show'


class SetLimit(rc.SetCommand):
    """Change a project limit (local mode).

    Lowering a limit below the current usage refuses nothing retroactively:
    only allocations that grow a resource are refused until usage is back
    within the limit.
    """

    resource = RESOURCE
    id_help = 'Limit to change'
    fields = (
        rc.Field('--resource-limit', 'resource_limit', metavar='<limit>',
                 type=options.limit_value, help='New limit (-1: unlimited)'),
        rc.LIMIT_NEW_DESCRIPTION,
    )


class DeleteLimit(rc.DeleteCommand):
    """Delete project limits (local mode)."""

    resource = RESOURCE
    ids_help = 'Limit(s) to delete'
