"""Command-line options shared by the limits commands."""

import argparse

from svc_common.osc import command as osc_command


#: An integer of 1 or more (``--expires-in``).
positive_int = osc_command.positive_int


def generation(value):
    """An allocation's generation (``--if-match``): an integer of 0 or
    more (0 is that of an allocation made before generations existed and
    not written since)."""
    try:
        number = osc_command.integer(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            '%r is not a generation (an integer, as "openstack quota '
            'allocation show" prints it)' % value)
    if number < 0:
        raise argparse.ArgumentTypeError(
            '%r: a generation is 0 or more' % value)
    return number


def limit_value(value):
    """A limit: an integer of -1 (unlimited) or more."""
    number = osc_command.integer(value)
    if number < -1:
        raise argparse.ArgumentTypeError(
            '%r: a limit is -1 (unlimited) or more' % value)
    return number


def resource_amount(value):
    """``name=N`` as ``(name, N)``, N an integer of 0 or more."""
    name, sep, amount = value.partition('=')
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(
            '%r is not <resource>=<amount>' % value)
    try:
        number = osc_command.integer(amount)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            '%r: the amount of %s must be an integer' % (value, name))
    if number < 0:
        raise argparse.ArgumentTypeError(
            '%r: the amount of %s must be 0 or more' % (value, name))
    return name.strip(), number


def add_resource_option(parser, help_text):
    """Repeatable ``--resource <name>=<amount>``, required."""
    parser.add_argument(
        '--resource', metavar='<name>=<amount>', dest='resources',
        type=resource_amount, action='append', required=True,
        help=help_text + ' (repeat for each resource)')


def resources_dict(pairs):
    """``{name: amount}`` from ``--resource`` values; the last one wins."""
    return dict(pairs or ())
