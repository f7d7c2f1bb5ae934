"""What the federation commands share: their API name and how a VO is
named on the command line (its ID or its name), and the bases of the
commands on one collection of a VO."""

from osc_lib import exceptions

from svc_common.clients import rest
from svc_common.osc import command

API_NAME = 'federation'


class FederationCommand(object):
    api_name = API_NAME
    # People (VO managers and members) call the proxy with no scope.
    unscoped_callers = True


class Command(FederationCommand, command.Command):
    pass


class ShowOne(FederationCommand, command.ShowOne):
    pass


class Lister(FederationCommand, command.Lister):
    pass


def caller_id(client):
    """The user ID ``client``'s requests carry: the Keystone user of its
    token (the proxy's person of the same ID), or without Keystone the
    ``X-User-Id`` that ``ARBITER_NOAUTH_USER`` sets."""
    headers = getattr(client.adapter, 'additional_headers', None) or {}
    user_id = headers.get('X-User-Id') or client.session.get_user_id()
    if not user_id:
        raise exceptions.CommandError(
            'Cannot tell who you are: authenticate with Keystone (or, '
            'without Keystone, set ARBITER_NOAUTH_USER), or name the '
            'person with --user.')
    return user_id


def add_vo_argument(parser):
    parser.add_argument('vo', metavar='<vo>', help='VO (name or ID)')


def find_vo(client, name_or_id):
    """The VO whose ID, or else whose name, is ``name_or_id`` (a VO's
    name may hold any character but ``:`` and control characters)."""
    try:
        return client.get('/v1/vos/%s' % rest.path_segment(name_or_id))[
            'vo']
    except ValueError:
        pass  # '.' or '..': no ID, perhaps a name
    except rest.ApiError as error:
        if error.status != 404:
            raise
    try:
        found = [vo for vo in client.list('/v1/vos', 'vos')
                 if vo['name'] == name_or_id]
    except rest.ApiError as error:
        if error.status != 403:
            raise
        # "Policy does not allow vo:list" told a person who asked for
        # one VO nothing they could act on.
        raise exceptions.CommandError(
            'No VO with ID %s that you can see, and you may not list VOs '
            'to find one by that name: give the VO\'s ID (its managers '
            'know it). %s' % (name_or_id, command.error_origin(error)))
    if not found:
        raise exceptions.CommandError('No VO with name or ID %s that you '
                                      'can see.' % name_or_id)
    return found[0]


GROUP_HELP = ('a group of the VO, by ID or by the path that "openstack vo '
              'group list" shows (astro:radio)')


def add_group_option(parser, option, default):
    """``option`` (``--group``, ``--parent``): a group of the VO named
    by ID or path; ``default`` says what leaving it out means."""
    parser.add_argument(option, metavar='<group>',
                        help='%s%s (default: %s)'
                        % (GROUP_HELP[0].upper(), GROUP_HELP[1:], default))


def group_id(client, vo, group):
    """The ID of the group ``group`` of ``vo`` (a VO's dict): ``group``
    is an ID, or a path such as ``astro:radio`` (what people see in
    ``vo group list`` and in their entitlements; a path was sent as an
    ID and answered "No group astro:radio.").  None stays None."""
    if group is None or (':' not in group and group != vo['name']):
        return group
    for found in client.list('/v1/vos/%s/groups' % vo['id'], 'groups'):
        if found.get('path') == group:
            return found['id']
    raise exceptions.CommandError(
        'No group with the path %s in VO %s ("openstack vo group list %s" '
        'shows its groups).' % (group, vo['name'], vo['name']))


def ids_of(client, vo, collection, names, key):
    """The IDs of objects of ``collection`` (``groups``, ``roles``) of
    ``vo`` (a VO's dict) named on the command line by ID or by ``key``
    (a group's ``path``, a role's ``name``), in their order.  A name that
    no object has is passed on as it is, for the service to answer its
    404 ("No group astro:x.")."""
    listed = list(client.list('/v1/vos/%s/%s' % (vo['id'], collection),
                              collection))
    by_key = {item.get(key): item['id'] for item in listed}
    known = {item['id'] for item in listed}
    return [name if name in known else by_key.get(name, name)
            for name in names]


def vo_path(client, name_or_id, *parts):
    """``/v1/vos/<id>[/<part>...]`` of the VO named ``name_or_id``."""
    return '/'.join(['/v1/vos', find_vo(client, name_or_id)['id']] +
                    [rest.path_segment(part) for part in parts])


def given(**values):
    """The members of a request body that the user gave (not None)."""
    return {name: value for name, value in values.items()
            if value is not None}


# -- what the VO's collections share ----------------------------------------

class ListOfVO(Lister):
    """List one collection of a VO (``collection``), as ``columns``
    under ``headings``.  A ``paginated`` collection is read page after
    page (``--limit``, ``--marker``), with the query :meth:`filters`."""

    collection = None
    columns = headings = ()
    paginated = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_vo_argument(parser)
        if self.paginated:
            command.add_pagination_options(parser, self.collection)
        return parser

    def filters(self, parsed_args):
        """The query parameters of the list (None ones are left out)."""
        return {}

    def items(self, parsed_args):
        path = vo_path(self.client, parsed_args.vo, self.collection)
        if not self.paginated:
            return self.client.get(path)[self.collection]
        return self.client.list(path, self.collection,
                                self.filters(parsed_args),
                                parsed_args.limit, parsed_args.marker)

    def take_action(self, parsed_args):
        return self.headings, command.list_rows(self.items(parsed_args),
                                                self.columns)


class DeleteFromVO(Command):
    """Delete objects of one collection of a VO (``collection``), named
    by ID on the command line (``metavar``, ``help_text``), or by the
    member ``name_key`` of the objects (a group's path, a role's name)
    when the class gives one."""

    collection = metavar = help_text = None
    name_key = None
    #: The command's action, in its error ("Failed to remove 1 of 2 ...").
    verb = 'delete'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_vo_argument(parser)
        parser.add_argument(self.collection, metavar=self.metavar,
                            nargs='+', help=self.help_text)
        return parser

    def take_action(self, parsed_args):
        vo = find_vo(self.client, parsed_args.vo)
        names = getattr(parsed_args, self.collection)
        if self.name_key:
            names = ids_of(self.client, vo, self.collection, names,
                           self.name_key)
        command.delete_each(self.client,
                            '/v1/vos/%s/%s/%%s' % (vo['id'], self.collection),
                            names, self.collection,
                            message=self.error_message, verb=self.verb)
