"""The bases of the limits commands: svc_common's, on the limits API.

An over-limit refusal reads as one line per blocking level of the tree::

    Refused by 1 limit(s) (HTTP 409 limits.over_limit, request req-...):
      cores in root: subtree limit 10, usage 9, requested +2
"""

from limits_svc.osc.v1 import columns
from svc_common.osc import command

API_NAME = 'limits'


# "No limit ram." alone, for "openstack quota registered limit show ram",
# sent people looking for a missing limit: these commands take IDs.
LIMIT_ID_HINT = (' Limit commands take a limit\'s ID, not a resource name: '
                 '"openstack quota registered limit list --resource-name '
                 '<name>" and "openstack quota limit list --resource-name '
                 '<name>" show the IDs.')


# What to do after "set --if-match" or "delete --if-match" found another
# allocation than the one of the generation given.
ALLOCATION_CHANGED_HINT = (' "openstack quota allocation show <consumer-id>" '
                           'shows the allocation as it is now, with its '
                           'generation.')


def error_message(error):
    """The error of one answer, for a person: what, HTTP code, request."""
    blocking = error.error.get('blocking') or ()
    if blocking:
        return '\n'.join(
            ['Refused by %d limit(s) %s:' % (len(blocking),
                                             command.error_origin(error))] +
            ['  ' + columns.blocking_line(level) for level in blocking])
    message = command.error_message(error)
    if error.code == 'limits.limit_not_found':
        message += LIMIT_ID_HINT
    elif error.code == 'limits.allocation_changed':
        message += ALLOCATION_CHANGED_HINT
    return message


class LimitsCommand(object):
    api_name = API_NAME

    def error_message(self, error):
        return error_message(error)


class Command(LimitsCommand, command.Command):
    pass


class ShowOne(LimitsCommand, command.ShowOne):
    pass


class Lister(LimitsCommand, command.Lister):
    pass


def delete_each(client, path_template, ids, what):
    command.delete_each(client, path_template, ids, what, error_message)


def limit_filters(parser):
    """The filters of both kinds of limit list."""
    parser.add_argument('--service', metavar='<service-id>',
                        help='Only limits of this service')
    parser.add_argument('--region', metavar='<region-id>',
                        help='Only limits of this region')
    parser.add_argument('--resource-name', metavar='<resource-name>',
                        help='Only limits of this resource')


def limit_filter_values(parsed_args):
    return {'service_id': parsed_args.service,
            'region_id': parsed_args.region,
            'resource_name': parsed_args.resource_name}


def given(**values):
    """The request members the user gave (those not None)."""
    return {key: value for key, value in values.items() if value is not None}
