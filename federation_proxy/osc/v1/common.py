"""What the federation commands share: their API name and how a VO is
named on the command line (its ID or its name)."""

from osc_lib import exceptions

from svc_common.clients import rest
from svc_common.osc import command

API_NAME = 'federation'


class FederationCommand(object):
    api_name = API_NAME


class Command(FederationCommand, command.Command):
    pass


class ShowOne(FederationCommand, command.ShowOne):
    pass


class Lister(FederationCommand, command.Lister):
    pass


def add_vo_argument(parser):
    parser.add_argument('vo', metavar='<vo>', help='VO (name or ID)')


def find_vo(client, name_or_id):
    """The VO whose ID, or else whose name, is ``name_or_id``."""
    try:
        return client.get('/v1/vos/%s' % name_or_id)['vo']
    except rest.ApiError as error:
        if error.status != 404:
            raise
    found = [vo for vo in client.list('/v1/vos', 'vos')
             if vo['name'] == name_or_id]
    if not found:
        raise exceptions.CommandError('No VO with name or ID %s that you '
                                      'can see.' % name_or_id)
    return found[0]


def vo_path(client, name_or_id, *parts):
    """``/v1/vos/<id>[/<part>...]`` of the VO named ``name_or_id``."""
    return '/'.join(['/v1/vos', find_vo(client, name_or_id)['id']] +
                    list(parts))


def given(**values):
    """The members of a request body that the user gave (not None)."""
    return {name: value for name, value in values.items()
            if value is not None}
