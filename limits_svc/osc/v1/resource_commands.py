"""The shapes of the limits commands, written once.

Most ``openstack quota <resource> ...`` commands are one of five shapes
over one collection of the API: create (``POST``), list (paged ``GET``),
show (``GET``), set (``PATCH``) and delete (``DELETE`` of each ID).  A
resource module declares what differs -- the :class:`Resource` (path,
JSON keys, columns), the :class:`Field` of each option and the help
texts -- and the base classes here do the rest::

    class ShowLimit(resource_commands.ShowCommand):
        \"\"\"Show a project limit.\"\"\"

        resource = RESOURCE
        id_help = 'Limit to show'

A :class:`Field` is one command-line argument together with the member of
the request (body or query) its value goes to, so that one declaration
gives both the option and the request.
"""

from osc_lib.command import command

from limits_svc.osc.v1 import options
from limits_svc.osc.v1 import rest


class Field(object):
    """One command-line argument and the request member it fills.

    ``name`` and ``kwargs`` are what :meth:`argparse.ArgumentParser.
    add_argument` takes; ``key`` is the member of the request body or query
    the value goes to (``None``: the argument fills none).
    """

    def __init__(self, name, key=None, **kwargs):
        self.name = name
        self.key = key
        self.kwargs = kwargs

    @property
    def dest(self):
        """The attribute of the parsed arguments, as argparse names it."""
        return (self.kwargs.get('dest') or
                self.name.lstrip('-').replace('-', '_'))

    def add_to(self, parser):
        parser.add_argument(self.name, **self.kwargs)

    def value(self, parsed_args):
        return getattr(parsed_args, self.dest)


class ResourcesField(Field):
    """The required, repeatable ``--resource <name>=<amount>``, as a dict."""

    def __init__(self, help_text):
        super().__init__('--resource', key='resources', dest='resources')
        self.help_text = help_text

    def add_to(self, parser):
        options.add_resource_option(parser, self.help_text)

    def value(self, parsed_args):
        return options.resources_dict(parsed_args.resources)


def given(parsed_args, fields):
    """``{key: value}`` of the fields the user gave (not None), in order."""
    values = ((field.key, field.value(parsed_args)) for field in fields)
    return {key: value for key, value in values if value is not None}


def every(parsed_args, fields):
    """``{key: value}`` of all the fields, None for those not given."""
    return {field.key: field.value(parsed_args) for field in fields}


# The options the two kinds of limit, registered and project, share.

LIMIT_RESOURCE_NAME = Field(
    'resource_name', 'resource_name', metavar='<resource-name>',
    help='Resource the limit applies to, e.g. cores')
LIMIT_SERVICE = Field(
    '--service', 'service_id', metavar='<service-id>', required=True,
    help='Service the resource belongs to (ID)')
LIMIT_REGION = Field(
    '--region', 'region_id', metavar='<region-id>',
    help='Region the limit applies to')
LIMIT_DESCRIPTION = Field(
    '--description', 'description', metavar='<description>',
    help='Description of the limit')
LIMIT_NEW_DESCRIPTION = Field(
    '--description', 'description', metavar='<description>',
    help='New description')
LIMIT_FILTERS = (
    Field('--service', 'service_id', metavar='<service-id>',
          help='Only limits of this service'),
    Field('--region', 'region_id', metavar='<region-id>',
          help='Only limits of this region'),
    Field('--resource-name', 'resource_name', metavar='<resource-name>',
          help='Only limits of this resource'),
)


def _get_each(item, names):
    return tuple(item.get(name) for name in names)


class Resource(object):
    """A collection of the API, as its commands need to know it.

    :param path: the collection, e.g. ``/v1/limits``; a member is at
        ``path/<id>``.
    :param member: the key of one member in an answer (``limit``).
    :param collection: the key of the members in a list answer
        (``limits``); with ``_`` read as a space, also what the help and
        error messages call them.
    :param id_name: the name of the ID argument (``limit_id``; the
        delete command's, of several, gets an ``s``).
    :param id_metavar: how the help shows an ID (``<limit-id>``).
    :param columns: the members' fields a list shows, under ``headings``.
    :param show_columns: the fields a show shows (default: ``columns``).
    :param row: a function of one member giving its values in list and
        show alike (default: the ``columns`` and ``show_columns`` fields
        as they are).
    """

    def __init__(self, path, member, collection, id_name, id_metavar,
                 columns, headings, show_columns=None, row=None):
        self.path = path
        self.member = member
        self.collection = collection
        self.plural = collection.replace('_', ' ')
        self.id_name = id_name
        self.id_metavar = id_metavar
        self.columns = columns
        self.headings = headings
        self.show_columns = show_columns or columns
        self._row = row

    def member_path(self, member_id):
        return '%s/%s' % (self.path, member_id)

    def list_row(self, item):
        if self._row is not None:
            return self._row(item)
        return _get_each(item, self.columns)

    def show(self, item):
        """What a ShowOne command returns for one member."""
        if self._row is not None:
            return self.show_columns, self._row(item)
        return self.show_columns, _get_each(item, self.show_columns)

    def id_field(self, help_text):
        return Field(self.id_name, metavar=self.id_metavar, help=help_text)

    def ids_field(self, help_text):
        return Field(self.id_name + 's', metavar=self.id_metavar,
                     nargs='+', help=help_text)


class FieldsCommand(object):
    """Mixed into a command class: its arguments are :attr:`fields`."""

    resource = None
    fields = ()

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        for field in self.arguments():
            field.add_to(parser)
        return parser

    def arguments(self):
        return self.fields

    def call(self, method, path, **kwargs):
        return rest.call(self.app.client_manager.limits, method, path,
                         **kwargs)


class MemberCommand(FieldsCommand):
    """A command on one member, named by the first argument.

    ``id_help`` is the help of that argument; :attr:`fields` follow it.
    """

    id_help = None

    def arguments(self):
        return (self.resource.id_field(self.id_help),) + tuple(self.fields)

    def call_member(self, parsed_args, method, **kwargs):
        member_id = getattr(parsed_args, self.resource.id_name)
        return self.call(method, self.resource.member_path(member_id),
                         **kwargs)


class CreateCommand(FieldsCommand, command.ShowOne):
    """``POST`` the fields given; show the member created."""

    def take_action(self, parsed_args):
        answer = self.call('POST', self.resource.path,
                           json=given(parsed_args, self.fields))
        return self.resource.show(answer[self.resource.member])


class ListCommand(FieldsCommand, command.Lister):
    """List the members; the fields are filters, paging is added."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        options.add_pagination_options(parser, self.resource.plural)
        return parser

    def take_action(self, parsed_args):
        items = rest.list_all(
            self.app.client_manager.limits, self.resource.path,
            self.resource.collection, every(parsed_args, self.fields),
            parsed_args.limit, parsed_args.marker)
        return self.resource.headings, [self.resource.list_row(item)
                                        for item in items]


class ShowCommand(MemberCommand, command.ShowOne):
    """Show one member."""

    def take_action(self, parsed_args):
        answer = self.call_member(parsed_args, 'GET')
        return self.resource.show(answer[self.resource.member])


class SetCommand(MemberCommand, command.Command):
    """``PATCH`` one member with :meth:`changes`; nothing when empty."""

    def changes(self, parsed_args):
        return given(parsed_args, self.fields)

    def take_action(self, parsed_args):
        body = self.changes(parsed_args)
        if not body:
            return
        self.call_member(parsed_args, 'PATCH', json=body)


class DeleteCommand(FieldsCommand, command.Command):
    """``DELETE`` each member named; one error at the end for failures."""

    ids_help = None

    def arguments(self):
        return (self.resource.ids_field(self.ids_help),)

    def take_action(self, parsed_args):
        rest.delete_each(self.app.client_manager.limits,
                         self.resource.path + '/%s',
                         getattr(parsed_args, self.resource.id_name + 's'),
                         self.resource.plural)
