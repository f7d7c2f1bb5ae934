"""Bases of the ``openstack`` commands of Arbiter services.

Plain osc-lib ``Command``, ``ShowOne`` and ``Lister`` with what every
Arbiter command does the same way:

* ``self.client`` is the plugin's :class:`~svc_common.clients.rest.
  RestClient` (``api_name`` names it in OSC's client manager);
* an error answer of the API becomes a ``CommandError`` that reads
  ``<detail> (HTTP <status> <code>, request <request id>)``, plus, for
  a 401 under ``--os-auth-type none``, which variables name the caller;
  a service refines the text in :meth:`ServiceCommand.error_message`;
* a success answer that is not of the API's shape (a web page, JSON
  without what the command reads) says the same, rather than Python's
  words for it;
* an error answer that is not the service's own (another Arbiter
  service's error code, or no Arbiter error at all: a web server's HTML
  page) says that the endpoint is likely the wrong one, and which option
  sets it, since the detail alone ("The resource could not be found.")
  sends people looking for a missing object;
* under ``--os-auth-type none``, a URL where nothing answers (the local
  run not started, a wrong port, ``https`` for an ``http`` service) says
  so and names the option that sets it, instead of urllib3's
  "HTTPConnectionPool(...): Max retries exceeded ...";
* a column whose value is a dict or a list prints, in a table, with
  osc-lib's formatters (``cores='4'``, ``a, b``; see
  :mod:`svc_common.osc.columns`), with ``-f value``, ``-f csv`` and
  ``-f shell`` as one line of JSON (``{"cores": 4}``), never as Python's
  repr; json and yaml output keep the structures.

A command's module then holds only its options and its call::

    class ShowThing(command.ShowOne):
        api_name = 'things'

        def get_parser(self, prog_name):
            parser = super().get_parser(prog_name)
            parser.add_argument('thing_id', metavar='<thing-id>')
            return parser

        def take_action(self, parsed_args):
            thing = self.client.get('/v1/things/%s'
                                    % parsed_args.thing_id)['thing']
            return command.show_columns(thing, COLUMNS)
"""

import argparse
import json
import os
import re

from cliff import columns as cliff_columns
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import noauth
from osc_lib.command import command
from osc_lib import exceptions

from svc_common.clients import rest
from svc_common.osc import columns
from svc_common.osc import plugin

NOAUTH_HINT = ('With --os-auth-type none, name the caller with '
               'ARBITER_NOAUTH_USER, ARBITER_NOAUTH_ROLES and '
               'ARBITER_NOAUTH_SYSTEM_SCOPE or ARBITER_NOAUTH_PROJECT.')
# A refusal for the scope of the caller's token (code <namespace>.wrong_
# scope): the other scope is the one the command takes.  The local run
# prints a system administrator's variables, which project-scoped
# commands (openstack preemptible request create) refuse.
NOAUTH_PROJECT_SCOPE_HINT = (
    'This command takes a project-scoped caller: with --os-auth-type none, '
    'unset ARBITER_NOAUTH_SYSTEM_SCOPE and set ARBITER_NOAUTH_PROJECT to '
    'the project\'s ID.')
NOAUTH_SYSTEM_SCOPE_HINT = (
    'This command takes a system-scoped caller: with --os-auth-type none, '
    'set ARBITER_NOAUTH_SYSTEM_SCOPE=all and unset ARBITER_NOAUTH_PROJECT.')
# A refusal of a caller with neither scope: after "unset
# ARBITER_NOAUTH_SYSTEM_SCOPE" without a project, "Policy does not allow
# image_family:family:list." did not say that the caller had no scope.
NOAUTH_NO_SCOPE_HINT = (
    'The caller has no scope: with --os-auth-type none, set '
    'ARBITER_NOAUTH_PROJECT to a project\'s ID (a project\'s member) or '
    'ARBITER_NOAUTH_SYSTEM_SCOPE=all (a cloud operator).')

# Statuses of a web server that refuses a request for its size before
# the API reads it; they carry no Arbiter error code.
TOO_LARGE = {413: 'body too large', 414: 'URL too long',
             431: 'headers too large'}

# Statuses of a proxy whose backend (the API) cannot be reached.
GATEWAY_ERRORS = (502, 503, 504)

# Output formats whose cells are one line of text each (made from a
# column's machine_readable value).
TEXT_FORMATTERS = ('value', 'csv', 'shell')


def error_message(error):
    """``<detail> (HTTP <status> <code>, request <id>)`` of an ApiError."""
    return '%s %s' % (error.detail or error.title or 'Error',
                      error_origin(error))


def error_origin(error):
    return '(HTTP %s %s, request %s)' % (
        error.status, error.code or 'error', error.request_id or '-')


def wrong_endpoint_message(error, api_name, endpoint):
    """What to read for an error that the ``api_name`` API did not send,
    or None when it did.

    Every Arbiter error code starts with its service's namespace, which
    is the plugin's API name (``limits.not_found``); an answer with
    another namespace came from another Arbiter service, one without a
    code from something that is not an Arbiter API at all.
    """
    dashed = api_name.replace('_', '-')
    where = endpoint or 'The endpoint'
    how = _endpoint_advice(api_name)
    if not error.code and error.status in TOO_LARGE:
        # The web server in front of the API refused the request's size
        # (an ID of 70000 characters is in the URL): the URL is right.
        return ('%s refused the request as too large (HTTP %s: %s): an ID, '
                'a name or another value given is far longer than the %s '
                'API takes.' % (where, error.status, TOO_LARGE[error.status],
                                dashed))
    if not error.code:
        text = ' '.join(str(error.detail or error.title or '').split())
        if len(text) > 120:
            text = text[:117] + '...'
        if error.status in GATEWAY_ERRORS:
            # A proxy or load balancer whose API behind it is down says
            # so: "is it the right URL?" alone sent people to change a
            # URL that was right.
            return ('%s answered HTTP %s, not the %s API itself (its answer '
                    'is not an Arbiter error%s): a proxy in front of the '
                    'API answers so when it cannot reach it. Is the %s '
                    'service running? If so, is it the right URL? %s'
                    % (where, error.status, dashed,
                       ': %s' % text if text else '', dashed, how))
        return ('%s answered HTTP %s, not as the %s API (its answer is not '
                'an Arbiter error%s): is it the right URL? %s'
                % (where, error.status, dashed,
                   ': %s' % text if text else '', how))
    namespace = error.code.partition('.')[0]
    if namespace == api_name:
        return None
    return ('%s %s is the %s service, not the %s API. %s'
            % (error_message(error), where, namespace.replace('_', '-'),
               dashed, how))


def _endpoint_advice(api_name):
    # The override wins over --os-endpoint (svc_common.osc.plugin): "or
    # --os-endpoint" alone sent people whose shell holds the variables
    # the local run prints to an option that was then ignored.
    dashed = api_name.replace('_', '-')
    return ('Set the root URL of the %s API with --os-%s-endpoint-override '
            '(%s); --os-endpoint counts only while neither is set.'
            % (dashed, dashed, plugin.endpoint_override_env(api_name)))


def not_the_api_message(error, api_name, endpoint):
    """What to read when a success answer is not of the ``api_name``
    API's shape: not JSON (a captive portal's or a web server's page), or
    JSON without what the command reads from it.  Python's own words for
    these ("Expecting value: line 1 column 1 (char 0)", "'families'")
    did not say that the URL was likely the wrong one."""
    if isinstance(error, json.JSONDecodeError):
        what = 'it is not JSON'
    elif isinstance(error, KeyError):
        what = 'it has no %s' % error
    else:
        what = str(error)
    return ('The answer of %s is not one of the %s API (%s): is it the '
            'right URL? %s' % (endpoint or 'the endpoint',
                               api_name.replace('_', '-'), what,
                               _endpoint_advice(api_name)))


def unreachable_message(error, api_name, endpoint):
    """What to read when nothing usable answers at ``endpoint``."""
    if isinstance(error, ks_exceptions.SSLError):
        why = ('the TLS handshake failed: is it an http:// URL given as '
               'https://?')
    elif isinstance(error, ks_exceptions.ConnectTimeout):
        why = 'the connection timed out. Is the URL right?'
    elif isinstance(error, ks_exceptions.UnknownConnectionError):
        # keystoneauth1's name for whatever requests refused before any
        # connection (a URL it cannot parse, a header it cannot send):
        # "nothing answers there" sent people to restart a running
        # service.
        why = 'the request could not be sent (%s).' % error
    else:
        why = ('nothing answers there. Is the service running (the local '
               'run, tools/run-local.sh, prints its URLs), and is the URL '
               'right?')
    return 'Cannot reach the %s API at %s: %s %s' % (
        api_name.replace('_', '-'), endpoint or 'its endpoint', why,
        _endpoint_advice(api_name))


def as_text_cell(value):
    """``value`` (a plain value or a formattable column) with dicts and
    lists as JSON, for the one-line-per-cell formats."""
    raw = (value.machine_readable()
           if isinstance(value, cliff_columns.FormattableColumn) else value)
    if isinstance(raw, (dict, list, tuple)):
        return columns.JsonColumn(raw)
    return value


def as_cell(formatter, value):
    """``value`` as the output format ``formatter`` should print it."""
    if formatter in TEXT_FORMATTERS:
        return as_text_cell(value)
    return columns.readable(value)


class ServiceCommand(object):
    """Mixed into the osc-lib command classes below."""

    #: The client manager attribute of the service's plugin (its API_NAME).
    api_name = None
    #: Whether the API serves callers with neither a project nor the
    #: system scope (the federation proxy's people do not need one);
    #: without it, a refusal of such a caller says to give a scope.
    unscoped_callers = False

    @property
    def client(self):
        return getattr(self.app.client_manager, self.api_name)

    def error_message(self, error):
        """What the user reads for an :class:`rest.ApiError`."""
        return error_message(error)

    def endpoint(self):
        """The URL the client sends to, or None if it has none yet."""
        adapter = getattr(self.client, 'adapter', None)
        if adapter is None:
            return None
        return adapter.get_endpoint()

    def _noauth(self):
        session = getattr(self.client, 'session', None)
        return isinstance(getattr(session, 'auth', None), noauth.NoAuth)

    def run(self, parsed_args):
        try:
            return super().run(parsed_args)
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            # What the commands do with an answer that decoded: only an
            # answer of another shape than the API's makes these.
            raise exceptions.CommandError(not_the_api_message(
                error, self.api_name, self.endpoint())) from error
        except ks_exceptions.ConnectionError as error:
            # Only without Keystone is the API's URL the one connection
            # made; with a token, it may be Keystone that did not answer.
            if not self._noauth():
                raise
            raise exceptions.CommandError(unreachable_message(
                error, self.api_name, self.endpoint())) from error
        except rest.ApiError as error:
            wrong = wrong_endpoint_message(error, self.api_name,
                                           self.endpoint())
            if wrong:
                raise exceptions.CommandError(wrong) from error
            message = self.error_message(error)
            if error.status == 401 and self._noauth():
                message = '%s %s' % (message, NOAUTH_HINT)
            elif ((error.code or '').endswith('.wrong_scope') and
                    self._noauth()):
                system = os.environ.get('ARBITER_NOAUTH_SYSTEM_SCOPE')
                message = '%s %s' % (message, NOAUTH_PROJECT_SCOPE_HINT
                                     if system else NOAUTH_SYSTEM_SCOPE_HINT)
            elif (error.status == 403 and self._noauth() and
                    not self.unscoped_callers and
                    not os.environ.get('ARBITER_NOAUTH_SYSTEM_SCOPE') and
                    not os.environ.get('ARBITER_NOAUTH_PROJECT')):
                message = '%s %s' % (message, NOAUTH_NO_SCOPE_HINT)
            raise exceptions.CommandError(message) from error


class Command(ServiceCommand, command.Command):
    """A command that prints nothing on success."""


class ShowOne(ServiceCommand, command.ShowOne):
    """One object: ``take_action`` returns ``(columns, values)``."""

    def produce_output(self, parsed_args, column_names, data):
        data = [as_cell(parsed_args.formatter, value) for value in data]
        return super().produce_output(parsed_args, column_names, data)


class Lister(ServiceCommand, command.Lister):
    """Rows: ``take_action`` returns ``(headings, rows)``."""

    def produce_output(self, parsed_args, column_names, data):
        # A list, not a generator: cliff's --sort-column sorts what it is
        # given and, on a column it cannot order (a dict cell, such as an
        # allocation's resources), warns and goes on with the same object;
        # a generator was used up by then, and the command printed no row
        # and exited 0.
        data = [[as_cell(parsed_args.formatter, value) for value in row]
                for row in data]
        return super().produce_output(parsed_args, column_names, data)


def show_columns(item, names, formatters=None):
    """``(names, values)`` of one API object for a ShowOne command;
    ``formatters`` maps a name to the column class of its value."""
    formatters = formatters or {}
    return names, tuple(
        formatters[name](item.get(name)) if name in formatters
        else item.get(name) for name in names)


def list_rows(items, names, formatters=None):
    """The rows of API objects for a Lister command (see show_columns)."""
    return [show_columns(item, names, formatters)[1] for item in items]


# Python's int() also takes the digits of other scripts ('\u0663', an
# Arabic-Indic 3, is 3), '+', '_' between digits and surrounding spaces.
_INTEGER = re.compile('-?[0-9]+')


def integer(value):
    """argparse type: an integer written with ASCII digits, after an
    optional ``-``; the other options that take an integer check it with
    this, then their range."""
    if not _INTEGER.fullmatch(value):
        raise argparse.ArgumentTypeError('%r is not an integer' % value)
    try:
        return int(value)
    except ValueError:
        # Python converts at most 4300 digits; its ValueError reached
        # argparse as "invalid positive_int value: '<every digit>'".
        raise argparse.ArgumentTypeError(
            '%r... (%d digits) is larger than any option takes'
            % (value[:20], len(value)))


def positive_int(value):
    """argparse type: an integer of 1 or more."""
    number = integer(value)
    if number < 1:
        raise argparse.ArgumentTypeError('%r is not 1 or more' % value)
    return number


def add_pagination_options(parser, what):
    """``--limit`` (one page) and ``--marker`` of a list command."""
    parser.add_argument(
        '--limit', metavar='<num>', type=positive_int,
        help='Show at most <num> %s (one page; the service may cap it). '
             'Without it, every page is fetched' % what)
    parser.add_argument(
        '--marker', metavar='<id>',
        help='Start after this one (the last ID of the previous page)')


def set_object(client, path, body, log_body=True):
    """What an ``openstack ... set`` command sends; the object's answer.

    ``PATCH path`` with ``body``; with nothing to change (``body``
    empty), ``GET path`` instead, as OSC's own ``set`` commands
    (``openstack server set``, ``openstack project set`` with no option)
    do: the object is looked up, so that one that does not exist (or
    that the caller may not see) is the usual error, and with it there
    the command succeeds without a message and changes nothing.  A
    command that shows the object after a change shows it unchanged.
    ``log_body=False`` keeps a body that holds a secret out of the
    ``--debug`` output (:meth:`svc_common.clients.rest.RestClient.request`).
    """
    if body:
        if not log_body:
            return client.patch(path, json=body, log_body=False)
        return client.patch(path, json=body)
    return client.get(path)


def delete_each(client, path_template, ids, what, message=error_message,
                verb='delete'):
    """DELETE every one of ``ids``; one error at the end for all failures.

    As other ``openstack ... delete`` commands do, every name is tried even
    when an earlier one failed.  ``verb`` is the command's action in that
    error (``Failed to remove 1 of 2 images``).
    """
    failures = []
    for one in ids:
        try:
            path = path_template % rest.path_segment(one)
        except ValueError as error:
            failures.append('%s: %s' % (one, error))
            continue
        try:
            client.delete(path)
        except rest.ApiError as error:
            failures.append('%s: %s' % (one, message(error)))
    if failures:
        raise exceptions.CommandError(
            'Failed to %s %d of %d %s:\n%s'
            % (verb, len(failures), len(ids), what, '\n'.join(failures)))
