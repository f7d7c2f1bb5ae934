"""``openstack quota project ...``: the project tree of local mode.

In ``keystone`` mode the tree comes from Keystone and the service refuses
changes (409 ``limits.managed_by_keystone``); list and show still work.
"""

from limits_svc.osc.v1 import command
from svc_common.clients import rest
from svc_common.osc import command as osc_command

PATH = '/v1/projects'
COLUMNS = ('id', 'name', 'parent_id', 'domain_id')
HEADINGS = ('ID', 'Name', 'Parent ID', 'Domain ID')
SHOW_COLUMNS = COLUMNS + ('created_at', 'updated_at')
# Shown only for a project kept after it left Keystone (it still holds
# allocations, which may only shrink or be freed): None for every other.
KEPT_COLUMN = 'left_keystone_at'


def _show(answer):
    project = answer['project']
    names = SHOW_COLUMNS + ((KEPT_COLUMN,) if project.get(KEPT_COLUMN)
                            else ())
    return osc_command.show_columns(project, names)


class CreateProject(command.ShowOne):
    """Add a project to the tree (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('project_id', metavar='<project-id>',
                            help='ID of the new project')
        parser.add_argument('--name', metavar='<name>',
                            help='Name of the project')
        parser.add_argument('--parent', metavar='<project-id>',
                            help='Parent project (default: a root project)')
        parser.add_argument('--domain', metavar='<domain-id>',
                            help='Domain of the project (default: default)')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.post(PATH, json=command.given(
            id=parsed_args.project_id, name=parsed_args.name,
            parent_id=parsed_args.parent, domain_id=parsed_args.domain)))


class ListProject(command.Lister):
    """List projects of the tree."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--parent', metavar='<project-id>',
                            help='Only the children of this project')
        osc_command.add_pagination_options(parser, 'projects')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list(PATH, 'projects',
                                 {'parent_id': parsed_args.parent},
                                 parsed_args.limit, parsed_args.marker)
        return HEADINGS, osc_command.list_rows(items, COLUMNS)


class ShowProject(command.ShowOne):
    """Show a project of the tree."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('project_id', metavar='<project-id>',
                            help='Project to show')
        return parser

    def take_action(self, parsed_args):
        return _show(self.client.get('%s/%s' % (
            PATH, rest.path_segment(parsed_args.project_id))))


class SetProject(command.Command):
    """Rename a project or move it in the tree (local mode).

    A move carries the usage of the project's subtree from the levels it
    leaves to the levels it joins. A move is refused, and nothing
    changes, when the usage it carries would take a level it joins past
    its subtree limit.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('project_id', metavar='<project-id>',
                            help='Project to change')
        parser.add_argument('--name', metavar='<name>', help='New name')
        parent = parser.add_mutually_exclusive_group()
        parent.add_argument('--parent', metavar='<project-id>',
                            help='Move the project under this one')
        parent.add_argument('--no-parent', action='store_true',
                            help='Make the project a root project')
        return parser

    def take_action(self, parsed_args):
        body = command.given(name=parsed_args.name)
        if parsed_args.parent is not None:
            body['parent_id'] = parsed_args.parent
        elif parsed_args.no_parent:
            body['parent_id'] = None
        osc_command.set_object(self.client, '%s/%s' % (
            PATH, rest.path_segment(parsed_args.project_id)), body)


class DeleteProject(command.Command):
    """Remove projects without children or allocations (local mode)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('project_ids', metavar='<project-id>', nargs='+',
                            help='Project(s) to delete')
        return parser

    def take_action(self, parsed_args):
        command.delete_each(self.client, PATH + '/%s',
                            parsed_args.project_ids, 'projects')
