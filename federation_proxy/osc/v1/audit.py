"""``openstack federation audit list``: who changed what, and when, in
the VOs and registries (system readers; a VO's managers with ``--vo``)."""

from osc_lib import exceptions

from federation_proxy.osc.v1 import common
from svc_common.osc import command

COLUMNS = ('id', 'at', 'actor', 'vo_id', 'action', 'object_type',
           'object_id', 'detail')
HEADINGS = ('ID', 'At', 'Actor', 'VO ID', 'Action', 'Object Type',
            'Object ID', 'Detail')


def _vo_id(client, name_or_id):
    """The ID of the VO ``name_or_id``; an ID of a VO that is gone is
    passed on as it is (system readers still read its records)."""
    if not name_or_id:
        return None
    try:
        return common.find_vo(client, name_or_id)['id']
    except exceptions.CommandError:
        return name_or_id


VO_OPTION_HINT = (' Every record is for system readers; a VO\'s managers '
                  'read their VO\'s with --vo <vo>.')


class ListAudit(common.Lister):
    """List audit records, oldest first."""

    vo_given = False

    def run(self, parsed_args):
        self.vo_given = bool(parsed_args.vo)
        return super().run(parsed_args)

    def error_message(self, error):
        # "Policy does not allow audit:list." did not tell a VO's
        # manager that the command takes --vo.
        message = super().error_message(error)
        if error.status == 403 and not self.vo_given:
            message += VO_OPTION_HINT
        return message

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--vo', metavar='<vo>',
                            help='Only the records of this VO (name or ID; '
                                 'the ID of a deleted VO)')
        command.add_pagination_options(parser, 'records')
        return parser

    def take_action(self, parsed_args):
        vo_id = _vo_id(self.client, parsed_args.vo)
        items = self.client.list('/v1/audit', 'audit', {'vo_id': vo_id},
                                 parsed_args.limit, parsed_args.marker)
        return HEADINGS, command.list_rows(items, COLUMNS)
