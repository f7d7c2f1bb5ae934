"""Option types of the ``openstack preemptible`` commands."""

import argparse
import datetime

from svc_common.osc import command


def resource_amount(value):
    """argparse type of ``--resource <class>=<amount>``: a pair."""
    name, sep, amount = value.partition('=')
    try:
        number = command.integer(amount)
    except argparse.ArgumentTypeError:
        number = None
    if not sep or not name or number is None or number < 0:
        raise argparse.ArgumentTypeError(
            '%r is not <resource class>=<amount> (e.g. VCPU=4)' % value)
    return name, number


def duration(value):
    """argparse type of a duration: seconds, or a number followed by
    ``s``, ``m``, ``h`` or ``d`` (``8h``); the number of seconds."""
    units = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}
    number, unit = (value[:-1], value[-1]) if value[-1:] in units else (
        value, 's')
    try:
        seconds = command.integer(number) * units[unit]
    except argparse.ArgumentTypeError:
        seconds = None
    if seconds is None or seconds < 1:
        raise argparse.ArgumentTypeError(
            '%r is not a duration (e.g. 3600, 90m, 8h, 2d)' % value)
    return seconds


def deadline(value, now=None):
    """argparse type of ``--deadline``: an ISO 8601 time (UTC when no
    offset is given) or a duration from now (``+12h``); ISO 8601 with Z.

    A time that is not between the years 1 and 9999 once in UTC (e.g.
    ``9999-12-31T23:59:59-14:00``), or a duration that goes past them, is
    refused here as a usage error naming the option rather than left to
    overflow in :mod:`datetime` (a traceback); the API refuses it too.
    """
    try:
        if value.startswith('+'):
            now = now or datetime.datetime.now(datetime.timezone.utc)
            when = now + datetime.timedelta(seconds=duration(value[1:]))
        else:
            try:
                when = datetime.datetime.fromisoformat(
                    value.replace('Z', '+00:00'))
            except ValueError:
                raise argparse.ArgumentTypeError(
                    '%r is neither an ISO 8601 time nor +<duration>'
                    % value)
        if when.tzinfo is not None:
            when = when.astimezone(datetime.timezone.utc).replace(
                tzinfo=None)
    except OverflowError:
        raise argparse.ArgumentTypeError(
            '%r is not a time between the years 1 and 9999 in UTC' % value)
    return when.replace(microsecond=0).isoformat() + 'Z'
