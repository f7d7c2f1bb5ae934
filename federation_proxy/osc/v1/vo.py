"""``openstack vo ...``: virtual organisations, their members, the
requests to join them and the invitations to them."""

from osc_lib import exceptions

from federation_proxy.osc.v1 import common
from svc_common.clients import rest
from svc_common.osc import command

VO_COLUMNS = ('id', 'name', 'description', 'created_at')
VO_HEADINGS = ('ID', 'Name', 'Description', 'Created At')
MEMBER_COLUMNS = ('id', 'user_id', 'group_id', 'role', 'status',
                  'expires_at')
MEMBER_HEADINGS = ('ID', 'User ID', 'Group ID', 'Role', 'Status',
                   'Expires At')
REQUEST_COLUMNS = ('id', 'user_id', 'group_id', 'role', 'reason', 'status',
                   'decided_by')
REQUEST_HEADINGS = ('ID', 'User ID', 'Group ID', 'Role', 'Reason',
                    'Status', 'Decided By')
REQUEST_SHOW_COLUMNS = ('id', 'vo_id', 'user_id', 'group_id', 'role',
                        'reason', 'status', 'decided_by', 'decided_at',
                        'created_at')
# A person's own requests (GET /v1/users/{user_id}/requests) say when
# they were decided, not who decided: of several VOs, so with the VO.
OWN_REQUEST_COLUMNS = ('vo_id', 'id', 'user_id', 'group_id', 'role',
                       'reason', 'status', 'decided_at')
OWN_REQUEST_HEADINGS = ('VO ID', 'ID', 'User ID', 'Group ID', 'Role',
                        'Reason', 'Status', 'Decided At')
OWN_REQUEST_SHOW_COLUMNS = tuple(name for name in REQUEST_SHOW_COLUMNS
                                 if name != 'decided_by')
INVITATION_COLUMNS = ('id', 'email', 'group_id', 'role', 'status',
                      'expires_at', 'created_by', 'inviting_manager',
                      'accepted_by')
INVITATION_HEADINGS = ('ID', 'Email', 'Group ID', 'Role', 'Status',
                       'Expires At', 'Created By', 'Inviting Manager',
                       'Accepted By')
STATUSES = ('pending', 'active', 'suspended', 'expired')


# -- VOs ---------------------------------------------------------------------

class CreateVO(common.ShowOne):
    """Create a VO and name its first managers (system admins)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<name>', help='Name of the VO')
        parser.add_argument('--description', metavar='<description>',
                            help='What the VO is for')
        parser.add_argument('--manager', metavar='<user-id>',
                            action='append', default=[], dest='managers',
                            help='A first manager of the VO (repeat for '
                                 'several)')
        return parser

    def take_action(self, parsed_args):
        vo = self.client.post('/v1/vos', json=common.given(
            name=parsed_args.name, description=parsed_args.description,
            managers=parsed_args.managers))['vo']
        return command.show_columns(vo, VO_COLUMNS)


class ListVO(common.Lister):
    """List the VOs you can see (all of them for system readers)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        command.add_pagination_options(parser, 'VOs')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list('/v1/vos', 'vos', None, parsed_args.limit,
                                 parsed_args.marker)
        return VO_HEADINGS, command.list_rows(items, VO_COLUMNS)


class ShowVO(common.ShowOne):
    """Show a VO."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_vo_argument(parser)
        return parser

    def take_action(self, parsed_args):
        return command.show_columns(
            common.find_vo(self.client, parsed_args.vo), VO_COLUMNS)


class DeleteVO(common.Command):
    """Delete VOs and everything in them (system admins)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('vos', metavar='<vo>', nargs='+',
                            help='VO(s) to delete (name or ID)')
        return parser

    def take_action(self, parsed_args):
        # A name, as "vo show" takes, is looked up ("openstack vo delete
        # astro" answered "No vo astro."); one that no VO has is passed
        # on, for the service's 404.
        ids = []
        for name in parsed_args.vos:
            try:
                ids.append(common.find_vo(self.client, name)['id'])
            except exceptions.CommandError:
                ids.append(name)
        command.delete_each(self.client, '/v1/vos/%s', ids, 'VOs')


# -- members -----------------------------------------------------------------

class AddMember(common.ShowOne):
    """Add a person to a VO (its managers and system admins)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_vo_argument(parser)
        parser.add_argument('user_id', metavar='<user-id>',
                            help='The person (their proxy user ID)')
        parser.add_argument('--role', metavar='<role>', default='member',
                            help='Role in the VO (default: member)')
        common.add_group_option(parser, '--group', 'its root group')
        parser.add_argument('--lifetime-days', metavar='<days>',
                            type=command.positive_int,
                            help='Days until the membership expires '
                                 '(default: the service\'s)')
        return parser

    def take_action(self, parsed_args):
        vo = common.find_vo(self.client, parsed_args.vo)
        member = self.client.post(
            '/v1/vos/%s/memberships' % vo['id'],
            json=common.given(user_id=parsed_args.user_id,
                              role=parsed_args.role,
                              group_id=common.group_id(
                                  self.client, vo, parsed_args.group),
                              lifetime_days=parsed_args.lifetime_days))[
                                  'membership']
        return command.show_columns(member, MEMBER_COLUMNS)


MEMBERSHIP_ID_HINT = (
    ' These commands take a membership\'s ID, not a person\'s: "openstack '
    'vo member list <vo> --user <user-id>" shows the memberships of a '
    'person.')


def membership_error_message(error):
    """The error of a membership command; "No membership bob." alone
    did not say that ``bob`` should have been a membership's ID."""
    message = command.error_message(error)
    if error.code == 'federation.membership_not_found':
        message += MEMBERSHIP_ID_HINT
    return message


class RemoveMember(common.DeleteFromVO):
    """Remove memberships from a VO."""

    collection = 'memberships'
    metavar = '<membership-id>'
    help_text = 'Membership(s) to remove'
    verb = 'remove'

    def error_message(self, error):
        return membership_error_message(error)


class ListMember(common.ListOfVO):
    """List the memberships of a VO."""

    collection = 'memberships'
    columns, headings = MEMBER_COLUMNS, MEMBER_HEADINGS
    paginated = True

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--user', metavar='<user-id>',
                            help='Only the memberships of this person')
        return parser

    def filters(self, parsed_args):
        return {'user_id': parsed_args.user}


class SetMember(common.ShowOne):
    """Suspend, reactivate or renew a membership."""

    def error_message(self, error):
        return membership_error_message(error)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_vo_argument(parser)
        parser.add_argument('membership', metavar='<membership-id>',
                            help='Membership to change')
        parser.add_argument('--status', metavar='<status>',
                            choices=STATUSES,
                            help='New status (%s)' % ', '.join(STATUSES))
        parser.add_argument('--renew-days', metavar='<days>',
                            type=command.positive_int,
                            help='Make it expire this many days from now '
                                 '(an expired membership becomes active)')
        return parser

    def take_action(self, parsed_args):
        body = common.given(status=parsed_args.status,
                            renew_days=parsed_args.renew_days)
        path = common.vo_path(self.client, parsed_args.vo, 'memberships',
                              parsed_args.membership)
        member = command.set_object(self.client, path, body)['membership']
        return command.show_columns(member, MEMBER_COLUMNS)


# -- requests ----------------------------------------------------------------

class CreateRequest(common.ShowOne):
    """Ask to join a VO (for yourself)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('vo', metavar='<vo-id>', help='VO to join (ID)')
        parser.add_argument('--reason', metavar='<reason>',
                            help='Why you ask (one line)')
        parser.add_argument('--role', metavar='<role>',
                            help='Role you ask for (default: member)')
        parser.add_argument('--group', metavar='<group-id>',
                            help='Group you ask to join (default: the VO)')
        return parser

    def take_action(self, parsed_args):
        request = self.client.post(
            '/v1/vos/%s/requests' % rest.path_segment(parsed_args.vo),
            json=common.given(
                reason=parsed_args.reason, role=parsed_args.role,
                group_id=parsed_args.group))['request']
        return command.show_columns(request, REQUEST_COLUMNS)

    def error_message(self, error):
        message = super().error_message(error)
        if error.code == 'federation.vo_not_found':
            # A person who is not yet a member cannot see the VO, so the
            # command cannot look a name up: "No vo astro." alone sent
            # people looking for a VO that exists.
            message += (' This command takes the VO\'s ID, not its name '
                        '(until you are a member you cannot see the VO): '
                        'ask its managers for the ID.')
        return message


class ListRequest(common.ListOfVO):
    """List the requests to join a VO, or with --mine your own requests
    to join VOs (every VO's, or those of the VO given by name or ID)."""

    collection = 'requests'
    columns, headings = REQUEST_COLUMNS, REQUEST_HEADINGS
    paginated = True

    def get_parser(self, prog_name):
        # Not ListOfVO's parser: with --mine the VO is optional.
        parser = super(common.ListOfVO, self).get_parser(prog_name)
        parser.add_argument('vo', metavar='<vo>', nargs='?',
                            help='VO (name or ID); with --mine, only your '
                                 'requests to this VO (its ID, or its '
                                 'name once you can see the VO)')
        command.add_pagination_options(parser, self.collection)
        parser.add_argument('--mine', action='store_true',
                            help='Your own requests, pending and decided, '
                                 'to join any VO (or the VO given)')
        parser.add_argument('--user', metavar='<user-id>',
                            help='Only with --mine: the requests of this '
                                 'person instead of yours (system '
                                 'readers)')
        parser.add_argument('--status', metavar='<status>',
                            choices=('pending', 'approved', 'rejected',
                                     'withdrawn'),
                            help='Only requests in this status')
        return parser

    def filters(self, parsed_args):
        return {'status': parsed_args.status}

    def items(self, parsed_args):
        if not parsed_args.mine:
            if parsed_args.user is not None:
                # The VO's list has no filter by person: --user was
                # ignored, and the whole VO's list read as theirs.
                raise exceptions.CommandError(
                    '--user is only for --mine (the requests a person '
                    'made); a VO\'s list of requests is not filtered by '
                    'person.')
            if parsed_args.vo is None:
                raise exceptions.CommandError(
                    'Name the VO whose requests to list, or give --mine '
                    'for your own requests.')
            return super().items(parsed_args)
        user = parsed_args.user or common.caller_id(self.client)
        path = '/v1/users/%s/requests' % rest.path_segment(user)
        return self.client.list(
            path, 'requests', dict(self.filters(parsed_args),
                                   vo_id=self._own_vo_id(path, user,
                                                         parsed_args.vo)),
            parsed_args.limit, parsed_args.marker)

    def _own_vo_id(self, path, user, vo):
        """The ID of the VO ``vo`` (a name or an ID) for the person's
        requests at ``path``: an ID that their requests have (a person
        cannot see a VO before their request is approved), else the VO
        of that ID or name that the caller can see (as the other vo
        commands find it).  A name was sent as an ID and listed nothing,
        which read as "you have no requests": a VO found neither way is
        an error."""
        if vo is None:
            return None
        try:
            if list(self.client.list(path, 'requests', {'vo_id': vo}, 1)):
                return vo
        except rest.ApiError as error:
            if error.status != 400:
                raise
            # Not an ID (a name with a space, say): perhaps a name.
        try:
            return common.find_vo(self.client, vo)['id']
        except exceptions.CommandError:
            raise exceptions.CommandError(
                'No request of %s to a VO with ID %s, and no VO with that '
                'name or ID that you can see. Give the VO\'s ID: the VO ID '
                'column of "openstack vo request list --mine" shows those '
                'of the VOs asked to join.' % (user, vo))

    def take_action(self, parsed_args):
        if not parsed_args.mine:
            return super().take_action(parsed_args)
        # Your own requests are of several VOs: say which; they do not
        # say who decided them.
        return OWN_REQUEST_HEADINGS, command.list_rows(
            self.items(parsed_args), OWN_REQUEST_COLUMNS)


class ShowRequest(common.ShowOne):
    """Show a request to join a VO: one of your own, or with --vo one
    of the VO's (its managers and system readers)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('request', metavar='<request-id>',
                            help='Request (ID)')
        parser.add_argument('--vo', metavar='<vo>',
                            help='VO the request is to (name or ID): '
                                 'for the VO\'s managers')
        parser.add_argument('--user', metavar='<user-id>',
                            help='Person who made the request (default: '
                                 'you; system readers)')
        return parser

    def take_action(self, parsed_args):
        if parsed_args.vo:
            path = common.vo_path(self.client, parsed_args.vo, 'requests',
                                  parsed_args.request)
            columns = REQUEST_SHOW_COLUMNS
        else:
            path = '/v1/users/%s/requests/%s' % (
                rest.path_segment(parsed_args.user or
                                  common.caller_id(self.client)),
                rest.path_segment(parsed_args.request))
            # A person's own request does not say who decided it.
            columns = OWN_REQUEST_SHOW_COLUMNS
        request = self.client.get(path)['request']
        return command.show_columns(request, columns)


class _DecideRequest(common.ShowOne):
    decision = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_vo_argument(parser)
        parser.add_argument('request', metavar='<request-id>',
                            help='Pending request')
        return parser

    def take_action(self, parsed_args):
        request = self.client.patch(
            common.vo_path(self.client, parsed_args.vo, 'requests',
                           parsed_args.request),
            json={'status': self.decision})['request']
        return command.show_columns(request, REQUEST_COLUMNS)


class ApproveRequest(_DecideRequest):
    """Approve a request: the person becomes an active member."""
    decision = 'approved'


class RejectRequest(_DecideRequest):
    """Reject a request."""
    decision = 'rejected'


class WithdrawRequest(common.Command):
    """Withdraw your own pending requests to join a VO.

    A withdrawn request stays in the VO's list of requests, with the
    status withdrawn; you may then ask again. Withdrawing a request that
    is withdrawn already succeeds again and changes nothing; one that a
    manager has approved or rejected cannot be withdrawn.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('vo', metavar='<vo-id>',
                            help='VO you asked to join (ID)')
        parser.add_argument('request', metavar='<request-id>', nargs='+',
                            help='Your pending request(s) to withdraw')
        return parser

    def take_action(self, parsed_args):
        command.delete_each(
            self.client,
            '/v1/vos/%s/requests/%%s' % rest.path_segment(parsed_args.vo),
            parsed_args.request, 'requests', message=self.error_message,
            verb='withdraw')


# -- invitations -------------------------------------------------------------

class CreateInvitation(common.ShowOne):
    """Invite an e-mail address to a VO; the answer holds the token, once:
    send it to the person."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_vo_argument(parser)
        parser.add_argument('email', metavar='<email>',
                            help='Address of the person invited')
        parser.add_argument('--role', metavar='<role>',
                            help='Role offered (default: member)')
        common.add_group_option(parser, '--group', 'the VO')
        return parser

    def take_action(self, parsed_args):
        vo = common.find_vo(self.client, parsed_args.vo)
        invitation = self.client.post(
            '/v1/vos/%s/invitations' % vo['id'],
            json=common.given(email=parsed_args.email,
                              role=parsed_args.role,
                              group_id=common.group_id(
                                  self.client, vo,
                                  parsed_args.group)))['invitation']
        return command.show_columns(invitation,
                                    INVITATION_COLUMNS + ('token',))


class ListInvitation(common.ListOfVO):
    """List the invitations of a VO."""

    collection = 'invitations'
    columns, headings = INVITATION_COLUMNS, INVITATION_HEADINGS
    paginated = True


class DeleteInvitation(common.DeleteFromVO):
    """Withdraw invitations."""

    collection = 'invitations'
    metavar = '<invitation-id>'
    help_text = 'Invitation(s) to withdraw'


class AcceptInvitation(common.ShowOne):
    """Accept an invitation with its token (for yourself)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('token', metavar='<token>',
                            help='The token the invitation gave')
        return parser

    def take_action(self, parsed_args):
        member = self.client.post('/v1/invitation_acceptances', json={
            'token': parsed_args.token})['membership']
        return command.show_columns(member, ('vo_id',) + MEMBER_COLUMNS)
