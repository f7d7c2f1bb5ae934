"""``openstack quota tree show``: limits and usage over a project's subtree.

One row per project, indented by depth, and one column per resource.  A
cell reads ``used/limit`` (the project's own usage against its own limit)
followed, where the project carries a subtree limit, by
``subtree used/limit`` (the usage of the project and every descendant
against that limit).  ``unlimited`` stands for -1.
"""

from limits_svc.osc.v1 import columns
from limits_svc.osc.v1 import command
from svc_common.clients import rest


class ShowQuotaTree(command.Lister):
    """Show limits and usage of each project of a subtree."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('project_id', metavar='<project-id>',
                            help='Root of the subtree to show')
        parser.add_argument('--resource', metavar='<name>',
                            dest='resource_names', action='append',
                            help='Only this resource (repeat for more; '
                                 'default: every limited or used resource)')
        return parser

    def take_action(self, parsed_args):
        # Every page of the report, in its order.
        levels = list(self.client.list(
            '/v1/projects/%s/usage' % rest.path_segment(
                parsed_args.project_id), 'projects', {'subtree': 'true'}))
        names = parsed_args.resource_names or sorted(
            {name for level in levels for name in level['resources']})
        rows = [(columns.TreeProjectColumn((level['depth'],
                                            level['project_id'])),) +
                tuple(columns.UsageCellColumn(level['resources'].get(name))
                      for name in names)
                for level in levels]
        return ('Project',) + tuple(names), rows
