"""Command-line options whose values are secrets, kept out of ``--debug``.

``openstack --debug`` writes three things that would show such a value:

* osc-lib's ``START with options: ...`` line, the whole command line,
  logged by the ``osc_lib.shell`` logger before any plugin command is
  parsed.  osc-lib masks it with oslo.utils' ``mask_password``, which
  knows ``--password`` and ``--secret`` but not ``--client-secret``;
* osc-lib's ``run(Namespace(...))`` line, the parsed arguments of the
  command, as their ``repr``;
* keystoneauth1's ``REQ: curl ... -d '<body>'`` line, the request body.

A plugin names its secret options when it builds OSC's parser
(:func:`svc_common.osc.plugin.build_option_parser`), which is before the
``START`` line: :class:`SecretArgvFilter` then masks their values in that
line.  A command adds the option with :func:`add_argument`, whose values
are :class:`SecretText` (masked in the ``run(...)`` line), and sends the
request that carries it with ``log_body=False``
(:meth:`svc_common.clients.rest.RestClient.request`).
"""

import logging
import re
import sys

#: What a secret is replaced with in a log record.
MASK = '***'

#: The logger of osc-lib's shell, which logs the command line.
SHELL_LOGGER = 'osc_lib.shell'

# An option and its value in a command line joined with spaces:
# "--name value" or "--name=value".
_OPTION_VALUE = re.compile(r'(?<!\S)(--[A-Za-z0-9][\w-]*)(=|\s+)(\S+)')


class SecretText(str):
    """A value given on the command line that must not be shown: its
    ``repr``, which osc-lib logs with the parsed arguments, is masked.
    It is a ``str`` in every other way (a request body holds it as is).
    """

    def __repr__(self):
        return repr(MASK)


def add_argument(parser, flag, **kwargs):
    """Add the option ``flag`` to ``parser``; its values are
    :class:`SecretText`.  The plugin must name ``flag`` among its secret
    options too (see the module's documentation)."""
    return parser.add_argument(flag, type=SecretText, **kwargs)


def _names_secret(name, flags):
    """Whether the option ``name`` given on the command line is one of
    ``flags`` or an abbreviation of one (argparse takes unambiguous
    prefixes: ``--client-sec``)."""
    return len(name) > 2 and any(flag.startswith(name) for flag in flags)


def argv_secrets(argv, flags):
    """The values that ``argv`` gives to the options ``flags``."""
    found = []
    for index, token in enumerate(argv):
        name, equals, value = token.partition('=')
        if not _names_secret(name, flags):
            continue
        if not equals:
            value = argv[index + 1] if index + 1 < len(argv) else ''
        if value:
            found.append(value)
    return found


def mask(text, flags, argv=()):
    """``text`` without the values of the options ``flags``: those
    ``argv`` gives them (whole, even with blanks in them), then any word
    after one of ``flags`` in ``text`` itself."""
    for value in sorted(argv_secrets(argv, flags), key=len, reverse=True):
        text = text.replace(value, MASK)

    def masked(match):
        if not _names_secret(match.group(1), flags):
            return match.group(0)
        return match.group(1) + match.group(2) + MASK

    return _OPTION_VALUE.sub(masked, text)


class SecretArgvFilter(logging.Filter):
    """Mask the values of the secret options ``flags`` in the records
    of the logger it is added to (the process's ``sys.argv`` names the
    values; see :func:`mask`)."""

    def __init__(self, flags):
        super().__init__()
        self.flags = frozenset(flags)

    def add_flags(self, flags):
        self.flags = self.flags | frozenset(flags)

    def filter(self, record):
        text = record.getMessage()
        hidden = mask(text, self.flags, sys.argv[1:])
        if hidden != text:
            record.msg = hidden
            record.args = ()
        return True


def install(flags, logger_name=SHELL_LOGGER):
    """Mask the values of the options ``flags`` in what the logger
    ``logger_name`` logs; several plugins share one filter."""
    logger = logging.getLogger(logger_name)
    for existing in logger.filters:
        if isinstance(existing, SecretArgvFilter):
            existing.add_flags(flags)
            return existing
    installed = SecretArgvFilter(flags)
    logger.addFilter(installed)
    return installed
