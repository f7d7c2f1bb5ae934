"""Config bootstrap: one ``ConfigOpts`` per service instance.

Library code never reads a global ``CONF``; whoever starts a service (the
WSGI module, a console script, a test, the local run) calls
:func:`build_conf` and passes the object on.
"""

import re
import sys

from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging
import oslo_messaging.opts
from oslo_policy import opts as policy_opts

from svc_common.conf import api as api_conf
from svc_common.conf import coordination as coordination_conf
from svc_common.conf import paths as paths_conf

PROJECT = 'arbiter'


def register_opts(conf, spec):
    """Register every option group a service reads on ``conf``."""
    paths_conf.register_opts(conf)
    api_conf.register_opts(conf, spec.default_port)
    if spec.engine:
        coordination_conf.register_opts(conf)
    db_options.set_defaults(
        conf, connection='sqlite:///$state_path/%s.sqlite' % spec.prog)
    for group, opts in (auth_token.list_opts() +
                        oslo_messaging.opts.list_opts()):
        conf.register_opts(opts, group=group)
    # Scope checks and the new persona-based defaults are always on.
    policy_opts.set_defaults(conf, enforce_scope=True,
                             enforce_new_defaults=True)
    spec.module('conf').register_opts(conf)
    logging.register_options(conf)


def build_conf(spec, args=None, default_config_files=None,
               overrides=None, cli_opts=(), command=None, description=None):
    """Create, register and parse the ``ConfigOpts`` of one service.

    :param args: command-line arguments (without the program name); ``[]``
        when not given, so that importing code never parses ``sys.argv``.
    :param default_config_files: config files to read; by default
        oslo.config looks for ``/etc/arbiter/<prog>.conf`` and friends.
    :param overrides: ``{(group, name): value}`` applied after parsing.
    :param cli_opts: command-line options of the calling command.
    :param command: the console script's name (``limits-api``), for its
        ``--help``; the files read stay the service's (``limits.conf``,
        not ``limits-api.conf``).  Without it, the usage line named the
        prog (``usage: limits``), which is no command.
    :param description: what the command does, for its ``--help``.
    :raises SystemExit: with ``command``, for a configuration file that
        cannot be found or parsed, or that gives an option a value it
        cannot take (``port = 99999``; see :func:`check_values`), after
        one line on standard error, as argparse does for a usage error (a
        console script printed a traceback).
    """
    conf = cfg.ConfigOpts()
    register_opts(conf, spec)
    conf.register_cli_opts(cli_opts)
    default_config_dirs = None
    if command:
        # oslo.config derives the files from ``prog``; name them from the
        # service's prog so that the command's name changes only --help.
        if default_config_files is None:
            default_config_files = cfg.find_config_files(
                project=PROJECT, prog=spec.prog)
        default_config_dirs = cfg.find_config_dirs(project=PROJECT,
                                                   prog=spec.prog)
    try:
        conf(args or [], project=PROJECT, prog=command or spec.prog,
             default_config_files=default_config_files,
             default_config_dirs=default_config_dirs,
             description=description)
        if command:
            check_values(conf)
    except (cfg.ConfigFilesNotFoundError, cfg.ConfigFileParseError,
            cfg.ConfigFileValueError) as exc:
        if not command:
            raise
        exit_for_config_error(command, exc)
    for (group, name), value in (overrides or {}).items():
        conf.set_override(name, value, group=group)
    return conf


def check_values(conf):
    """Read every registered option of ``conf`` once.

    oslo.config converts a value when it is first read: an option given
    a value it cannot take (``[api] port = 99999``, ``purge_interval =
    abc``) was found only when the code reached it, as a traceback of
    the running command.

    :raises oslo_config.cfg.ConfigFileValueError: naming the option and
        the file.
    """
    for name in list(conf):
        value = _checked_value(conf, name, None)
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for member in list(value):
                _checked_value(conf, member, name)


def _checked_value(conf, name, group):
    """The value of one option; oslo.config's error about it reworded
    as ``[group] name in <file>: <why>`` (it named the file as
    ``LocationInfo(location=<Locations.user: (4, True)>, ...)``)."""
    try:
        return conf[group][name] if group else conf[name]
    except (cfg.NoSuchOptError, cfg.TemplateSubstitutionError) as exc:
        # A value naming another option, $nowhere, that does not exist.
        raise cfg.ConfigFileValueError(
            '[%s] %s is not valid: it refers to an option that does not '
            'exist (%s)' % (group or 'DEFAULT', name, exc))
    except cfg.ConfigFileValueError as exc:
        # get_location() converts the value too, so the file is taken
        # from the error's text; without it, the files read are named.
        text = str(exc)
        found = re.search(r"detail='([^']*)'", text)
        where = (found.group(1) if found else
                 ', '.join(conf.config_file or ()) or 'the configuration')
        why = text.rpartition('is not valid: ')[2] or text
        raise cfg.ConfigFileValueError(
            '[%s] %s in %s is not valid: %s'
            % (group or 'DEFAULT', name, where, why))


def exit_for_config_error(command, error):
    """End a console script whose configuration files cannot be read:
    one line on standard error, exit code 2."""
    print('%s: cannot read the configuration: %s' % (command, error),
          file=sys.stderr, flush=True)
    raise SystemExit(2)


def common_list_opts(spec):
    """The option groups of :func:`register_opts` that svc_common owns,
    for a service's ``list_opts()`` (the config generator); a service
    with an engine gets ``[coordination]`` (its engines' leader
    election)."""
    engine = coordination_conf.list_opts() if spec.engine else []
    return (paths_conf.list_opts() + api_conf.list_opts(spec.default_port)
            + engine)
