"""``openstack federation audit list``: who changed what, and when, in
the VOs and registries (system readers; a VO's managers with ``--vo``)."""

from federation_proxy.osc.v1 import common
from svc_common.osc import command

COLUMNS = ('id', 'at', 'actor', 'vo_id', 'action', 'object_type',
           'object_id', 'detail')
HEADINGS = ('ID', 'At', 'Actor', 'VO ID', 'Action', 'Object Type',
            'Object ID', 'Detail')


class ListAudit(common.Lister):
    """List audit records, oldest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--vo', metavar='<vo>',
                            help='Only the records of this VO (name or ID)')
        command.add_pagination_options(parser, 'records')
        return parser

    def take_action(self, parsed_args):
        vo_id = (common.find_vo(self.client, parsed_args.vo)['id']
                 if parsed_args.vo else None)
        items = self.client.list('/v1/audit', 'audit', {'vo_id': vo_id},
                                 parsed_args.limit, parsed_args.marker)
        return HEADINGS, command.list_rows(items, COLUMNS)
