"""``openstack image family ...`` and ``openstack image state|successor``.
"""

import argparse
import json

from osc_lib import exceptions

from svc_common.clients import rest
from svc_common.osc import columns
from svc_common.osc import command

API_NAME = 'image_family'
PATH = '/v1/families'
FAMILY_COLUMNS = ('name', 'project_id', 'visibility', 'latest_id',
                  'keep_superseded', 'description')
FAMILY_HEADINGS = ('Name', 'Project ID', 'Visibility', 'Latest ID',
                   'Keep Superseded', 'Description')
FAMILY_SHOW = FAMILY_COLUMNS + ('properties_schema', 'created_at',
                                'updated_at')
# A JSON schema reads best as the JSON it is written in.
FAMILY_FORMATTERS = {'properties_schema': columns.IndentedJsonColumn}
IMAGE_COLUMNS = ('image_id', 'family', 'version', 'state', 'may_boot',
                 'successor_id', 'latest_id')
IMAGE_HEADINGS = ('Image ID', 'Family', 'Version', 'State', 'May Boot',
                  'Successor ID', 'Latest ID')
IMAGE_SHOW = IMAGE_COLUMNS + ('joined_at', 'state_changed_at', 'scheduled',
                              'usage')
FAMILY_HELP = 'Name of the family (e.g. centos-7)'
IMAGE_HELP = 'Glance image ID'


def _given(**values):
    return {k: v for k, v in values.items() if v is not None}


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs):
    """json object_pairs_hook: an object, refusing a key given twice
    (Python's json keeps the last one silently; the API refuses such a
    body, this option sent what was left of it)."""
    seen = set()
    for key, _value in pairs:
        if key in seen:
            raise _DuplicateKey('key %s appears twice in one object'
                                % json.dumps(key))
        seen.add(key)
    return dict(pairs)


def _json_object(text):
    """argparse type: a JSON object, without a key twice in one of its
    objects."""
    try:
        value = json.loads(text,
                           object_pairs_hook=_object_without_duplicates)
    except _DuplicateKey as exc:
        raise argparse.ArgumentTypeError(str(exc))
    except ValueError as exc:
        raise argparse.ArgumentTypeError('not JSON: %s' % exc)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('not a JSON object: %.60s' % text)
    return value


def _key_value(text):
    """argparse type: ``key=value`` (the value may be empty or hold
    ``=``), as a pair."""
    key, sep, value = text.partition('=')
    if not key or not sep:
        raise argparse.ArgumentTypeError('%r is not <key>=<value>' % text)
    return key, value


def _is_family(client, name):
    """Whether ``name`` is the name of a family the caller can see."""
    try:
        client.get('%s/%s' % (PATH, rest.path_segment(name)))
    except (rest.ApiError, ValueError):
        return False
    return True


def argument_hint(client, error, parsed_args):
    """What to add to an error when the command was likely given a
    family's name for an image ID, or its two arguments the wrong way
    round ("No image rocky-9 in any image family." alone sent people
    looking for an image).  Asks the API only on those errors."""
    image = getattr(parsed_args, 'image_id', None)
    if image is None:
        images = getattr(parsed_args, 'image_ids', None) or ()
        image = images[0] if images else None
    family_name = getattr(parsed_args, 'name', None)
    if (error.code == 'image_family.family_not_found' and image and
            family_name and _is_family(client, image)):
        return (' %s is a family: the family\'s name comes first, then '
                'the Glance image ID.' % image)
    if (error.code == 'image_family.image_not_found' and image and
            _is_family(client, image)):
        return (' %s is an image family; this command takes a Glance '
                'image ID ("openstack image family image list %s" lists '
                'the family\'s images, "openstack image family latest %s" '
                'its latest).' % (image, image, image))
    return ''


class FamilyCommand(object):
    """The family commands: their API, and hints for the arguments
    people give the wrong way (see argument_hint)."""

    api_name = API_NAME
    parsed_args = None

    def run(self, parsed_args):
        self.parsed_args = parsed_args
        return super().run(parsed_args)

    def error_message(self, error):
        return command.error_message(error) + argument_hint(
            self.client, error, self.parsed_args)


class _Show(FamilyCommand, command.ShowOne):
    pass


class _List(FamilyCommand, command.Lister):
    pass


class _Command(FamilyCommand, command.Command):
    pass


def _family_options(parser):
    parser.add_argument('--description', metavar='<text>',
                        help='What the family is for')
    parser.add_argument('--keep-superseded', metavar='<n>',
                        type=command.integer,
                        help='Keep only the last <n> superseded images '
                             'bootable; older ones become obsolete')
    parser.add_argument('--properties-schema', metavar='<json>',
                        type=_json_object,
                        help='JSON schema that the properties of every '
                             'image joining the family must satisfy')
    vis = parser.add_mutually_exclusive_group()
    vis.add_argument('--public', dest='visibility', action='store_const',
                     const='public', help='Every reader sees the family')
    vis.add_argument('--private', dest='visibility', action='store_const',
                     const='private',
                     help='Only the owning project sees the family')


class CreateFamily(_Show):
    """Create an image family."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<name>',
                            help='Name of the family (e.g. centos-7)')
        parser.add_argument('--project', metavar='<project-id>',
                            help='Owning project (default: the caller\'s '
                                 'project; none for a system-scoped '
                                 'caller: a public system family)')
        _family_options(parser)
        return parser

    def take_action(self, parsed_args):
        body = _given(name=parsed_args.name,
                      project_id=parsed_args.project,
                      visibility=parsed_args.visibility,
                      description=parsed_args.description,
                      keep_superseded=parsed_args.keep_superseded,
                      properties_schema=parsed_args.properties_schema)
        family = self.client.post(PATH, json=body)['family']
        return command.show_columns(family, FAMILY_SHOW,
                                    FAMILY_FORMATTERS)


class ListFamily(_List):
    """List the image families you can see."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        command.add_pagination_options(parser, 'families')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list(PATH, 'families', {}, parsed_args.limit,
                                 parsed_args.marker)
        return FAMILY_HEADINGS, command.list_rows(items, FAMILY_COLUMNS)


class ShowFamily(_Show):
    """Show an image family."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<family>', help=FAMILY_HELP)
        return parser

    def take_action(self, parsed_args):
        family = self.client.get('%s/%s' % (PATH, rest.path_segment(
            parsed_args.name)))['family']
        return command.show_columns(family, FAMILY_SHOW,
                                    FAMILY_FORMATTERS)


class SetFamily(_Command):
    """Change an image family."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<family>', help=FAMILY_HELP)
        _family_options(parser)
        return parser

    def take_action(self, parsed_args):
        body = _given(visibility=parsed_args.visibility,
                      description=parsed_args.description,
                      keep_superseded=parsed_args.keep_superseded,
                      properties_schema=parsed_args.properties_schema)
        command.set_object(self.client, '%s/%s' % (
            PATH, rest.path_segment(parsed_args.name)), body)


class DeleteFamily(_Command):
    """Delete image families that have no image left."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('names', metavar='<family>', nargs='+',
                            help='Name of a family to delete (repeat for '
                                 'several)')
        return parser

    def take_action(self, parsed_args):
        command.delete_each(self.client, PATH + '/%s',
                            parsed_args.names,
                            'image families')


class ShowLatest(_Show):
    """Show the latest image of a family."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<family>', help=FAMILY_HELP)
        parser.add_argument('--beta', action='store_true',
                            help='The beta channel: a beta image newer '
                                 'than every active one is offered')
        return parser

    def take_action(self, parsed_args):
        query = '?channel=beta' if parsed_args.beta else ''
        answer = self.client.get('%s/%s/latest%s' % (
            PATH, rest.path_segment(parsed_args.name), query))
        if answer['image'] is None:
            # An error, not a table of None: a script that boots what
            # this prints must not boot "None".
            raise exceptions.CommandError(
                'Image family %s has no latest image%s yet: none of its '
                'images is %s. "openstack image family image list %s" '
                'lists them, "openstack image state set <image> active" '
                'makes one active.'
                % (parsed_args.name,
                   ' on the beta channel' if parsed_args.beta else '',
                   'beta or active' if parsed_args.beta else 'active',
                   parsed_args.name))
        return command.show_columns(answer['image'], IMAGE_SHOW)


class AddFamilyImage(_Show):
    """Add an image to a family."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<family>', help=FAMILY_HELP)
        parser.add_argument('image_id', metavar='<image>', help=IMAGE_HELP)
        # Not --version: openstack takes that one itself, wherever it
        # is, prints its own version and exits 0 without the command.
        parser.add_argument('--image-version', metavar='<version>',
                            dest='version',
                            help='Version of the image in the family '
                                 '(default: its os_version property); '
                                 'also its os_version property when '
                                 '--property does not give one')
        parser.add_argument('--property', metavar='<key=value>',
                            action='append', default=[], type=_key_value,
                            help='A property the image carries '
                                 '(repeat for several)')
        parser.add_argument('--state', metavar='<state>',
                            choices=['testing', 'beta', 'active'],
                            help='State to join in (default: testing)')
        return parser

    def take_action(self, parsed_args):
        properties = dict(parsed_args.property)
        if len(properties) != len(parsed_args.property):
            # The last one was sent, silently.
            twice = sorted({key for key, _ in parsed_args.property
                            if [k for k, _ in parsed_args.property].count(
                                key) > 1})
            raise exceptions.CommandError(
                '--property %s is given more than once; give each '
                'property once.' % ', '.join(twice))
        body = _given(image_id=parsed_args.image_id,
                      version=parsed_args.version, state=parsed_args.state,
                      properties=properties)
        image = self.client.post('%s/%s/images' % (
            PATH, rest.path_segment(parsed_args.name)), json=body)['image']
        return command.show_columns(image, IMAGE_SHOW)


class RemoveFamilyImage(_Command):
    """Remove images from a family (the images stay in Glance)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<family>', help=FAMILY_HELP)
        parser.add_argument('image_ids', metavar='<image>', nargs='+',
                            help='Glance image ID of an image to remove '
                                 '(repeat for several)')
        return parser

    def take_action(self, parsed_args):
        try:
            family = rest.path_segment(parsed_args.name)
        except ValueError as error:
            raise exceptions.CommandError(str(error))
        # delete_each encodes each image ID; the family's name is
        # encoded here, and a '%' in it must not be read as a format.
        command.delete_each(self.client,
                            '%s/%s/images/%%s' % (PATH,
                                                  family.replace('%', '%%')),
                            parsed_args.image_ids, 'images', verb='remove')


class ListFamilyImage(_List):
    """List the images of a family, oldest first, with their states."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='<family>', help=FAMILY_HELP)
        command.add_pagination_options(parser, 'images')
        return parser

    def take_action(self, parsed_args):
        items = self.client.list('%s/%s/images' % (
            PATH, rest.path_segment(parsed_args.name)), 'images', {},
            parsed_args.limit, parsed_args.marker)
        return IMAGE_HEADINGS, command.list_rows(items, IMAGE_COLUMNS)


class SetImageState(_Show):
    """Move an image to another state, now or at a given time."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('image_id', metavar='<image>', help=IMAGE_HELP)
        parser.add_argument('state', metavar='<state>',
                            choices=['testing', 'beta', 'active',
                                     'deprecated', 'obsolete', 'deleted'],
                            help='The state to move to: testing, beta, '
                                 'active, deprecated, obsolete or deleted '
                                 '(deleted: at once if no server uses the '
                                 'image, else pending_delete until none '
                                 'does)')
        parser.add_argument('--at', metavar='<time>',
                            help='ISO 8601 time at which it happens '
                                 '(default: now)')
        parser.add_argument('--reason', metavar='<text>',
                            help='Why (kept in the history)')
        return parser

    def take_action(self, parsed_args):
        body = _given(to=parsed_args.state, at=parsed_args.at,
                      reason=parsed_args.reason)
        answer = self.client.post(
            '/v1/images/%s/transitions' % rest.path_segment(
                parsed_args.image_id), json=body)
        return command.show_columns(answer['image'], IMAGE_SHOW)


class ShowSuccessor(_Show):
    """Show an image's successor and its family's latest image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('image_id', metavar='<image>', help=IMAGE_HELP)
        return parser

    def take_action(self, parsed_args):
        image = self.client.get('/v1/images/%s' % rest.path_segment(
            parsed_args.image_id))['image']
        return command.show_columns(image, ('image_id', 'family', 'state',
                                            'successor_id', 'latest_id'))
