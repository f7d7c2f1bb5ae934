"""``openstack vo group ...`` and ``openstack vo role ...``: the nested
groups of a VO (``vo``, ``vo:group``, ``vo:group:sub``) and its custom
roles (its managers and system admins)."""

from federation_proxy.osc.v1 import common
from svc_common.clients import rest
from svc_common.osc import command

GROUP_COLUMNS = ('id', 'path', 'parent_id', 'description', 'created_at')
GROUP_HEADINGS = ('ID', 'Path', 'Parent ID', 'Description', 'Created At')
ROLE_COLUMNS = ('id', 'name', 'builtin', 'description')
ROLE_HEADINGS = ('ID', 'Name', 'Built In', 'Description')


def _add_create_arguments(parser, what):
    common.add_vo_argument(parser)
    parser.add_argument('name', metavar='<name>',
                        help='Name of the %s' % what)
    parser.add_argument('--description', metavar='<description>',
                        help='What the %s is for' % what)


class CreateGroup(common.ShowOne):
    """Create a group of a VO, under its root group or under
    --parent."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_create_arguments(parser, 'group')
        common.add_group_option(parser, '--parent', 'the VO itself')
        return parser

    def take_action(self, parsed_args):
        vo = common.find_vo(self.client, parsed_args.vo)
        group = self.client.post(
            '/v1/vos/%s/groups' % vo['id'],
            json=common.given(name=parsed_args.name,
                              parent_id=common.group_id(
                                  self.client, vo, parsed_args.parent),
                              description=parsed_args.description))['group']
        return command.show_columns(group, GROUP_COLUMNS)


class ListGroup(common.ListOfVO):
    """List the groups of a VO (its root group first)."""

    collection = 'groups'
    columns, headings = GROUP_COLUMNS, GROUP_HEADINGS
    paginated = True


class ShowGroup(common.ShowOne):
    """Show a group of a VO."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_vo_argument(parser)
        parser.add_argument('group', metavar='<group>',
                            help='Group to show: %s' % common.GROUP_HELP)
        return parser

    def take_action(self, parsed_args):
        vo = common.find_vo(self.client, parsed_args.vo)
        group_id = common.group_id(self.client, vo, parsed_args.group)
        group = self.client.get('/v1/vos/%s/groups/%s' % (
            vo['id'], rest.path_segment(group_id)))
        return command.show_columns(group['group'], GROUP_COLUMNS)


class DeleteGroup(common.DeleteFromVO):
    """Delete empty groups of a VO (no subgroups, members, requests or
    invitations)."""

    collection = 'groups'
    name_key = 'path'
    metavar = '<group>'
    help_text = 'Group(s) to delete, by ID or path (astro:radio)'


class CreateRole(common.ShowOne):
    """Create a custom role of a VO (besides member and manager)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_create_arguments(parser, 'role')
        return parser

    def take_action(self, parsed_args):
        role = self.client.post(
            common.vo_path(self.client, parsed_args.vo, 'roles'),
            json=common.given(name=parsed_args.name,
                              description=parsed_args.description))['role']
        return command.show_columns(role, ROLE_COLUMNS)


class ListRole(common.ListOfVO):
    """List the roles of a VO, built in and custom."""

    collection = 'roles'
    columns, headings = ROLE_COLUMNS, ROLE_HEADINGS
    paginated = True


class DeleteRole(common.DeleteFromVO):
    """Delete custom roles of a VO that nobody holds."""

    collection = 'roles'
    name_key = 'name'
    metavar = '<role>'
    help_text = 'Role(s) to delete, by ID or name'
