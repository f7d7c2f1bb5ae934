"""``openstack quota project ...``: the project tree of local mode.

In ``keystone`` mode the tree comes from Keystone and the service refuses
changes (409 ``limits.managed_by_keystone``); list and show still work.
"""

from limits_svc.osc.v1 import resource_commands as rc

PATH = '/v1/projects'
COLUMNS = ('id', 'name', 'parent_id', 'domain_id')
HEADINGS = ('ID', 'Name', 'Parent ID', 'Domain ID')
SHOW_COLUMNS = COLUMNS + ('created_at', 'updated_at')
RESOURCE = rc.Resource(PATH, 'project', 'projects', 'project_id',
                       '<project-id>', COLUMNS, HEADINGS,
                       show_columns=SHOW_COLUMNS)


class CreateProject(rc.CreateCommand):
    """Add a project to the tree (local mode)."""

    resource = RESOURCE
    fields = (
        rc.Field('project_id', 'id', metavar='<project-id>',
                 help='ID of the new project'),
        rc.Field('--name', 'name', metavar='<name>',
                 help='Name of the project'),
        rc.Field('--parent', 'parent_id', metavar='<project-id>',
                 help='Parent project (default: a root project)'),
        rc.Field('--domain', 'domain_id', metavar='<domain-id>',
                 help='Domain of the project (default: default)'),
    )


class ListProject(rc.ListCommand):
    """List projects of the tree."""

    resource = RESOURCE
    fields = (rc.Field('--parent', 'parent_id', metavar='<project-id>',
                       help='Only the children of this project'),)


class ShowProject(rc.ShowCommand):
    """Show a project of the tree."""

    resource = RESOURCE
    id_help = 'Project to show'


class SetProject(rc.SetCommand):
    """Rename a project or move it in the tree (local mode).

    A move is not checked against limits retroactively; the next
    allocation sees the new tree.
    """

    resource = RESOURCE
    id_help = 'Project to change'
    fields = (rc.Field('--name', 'name', metavar='<name>', help='New name'),)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parent = parser.add_mutually_exclusive_group()
        parent.add_argument('--parent', metavar='<project-id>',
                            help='Move the project under this one')
        parent.add_argument('--no-parent', action='store_true',
                            help='Make the project a root project')
        return parser

    def changes(self, parsed_args):
        body = super().changes(parsed_args)
        if parsed_args.parent is not None:
            body['parent_id'] = parsed_args.parent
        elif parsed_args.no_parent:
            body['parent_id'] = None
        return body


class DeleteProject(rc.DeleteCommand):
    """Remove projects without children or allocations (local mode)."""

    resource = RESOURCE
    ids_help = 'Project(s) to delete'
