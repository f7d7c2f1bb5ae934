"""``<prog>-manage``: database and maintenance commands of one service.

``db sync [--revision REV]`` brings the schema up to date (it is safe to
run again); ``db version`` prints the revision the database is at.
A service adds its own commands through ``ServiceSpec.manage_commands``:
each is a callable ``add(subparsers)`` that adds an oslo.config sub-command
parser whose ``func`` default is called as ``func(spec, conf)``.

Both ``db`` commands first say, on standard error, which database they
use and where that choice came from, since without a configuration file
``[database] connection`` quietly defaults to an SQLite file under
``/var/lib/arbiter``.  The service's own commands run only on a database
at the latest revision (:func:`schema_problem`).
"""

import re
import sys

import alembic.script
import alembic.util
from keystoneauth1 import exceptions as ks_exceptions
from oslo_config import cfg
from sqlalchemy import engine

from svc_common.cmd import database_problems
from svc_common import config
from svc_common.db import migration


def database_origin(spec, conf):
    """One line for people: the database (password hidden) and where the
    ``[database] connection`` setting came from."""
    url = engine.make_url(conf.database.connection)
    shown = url.render_as_string(hide_password=True)
    location = conf.get_location('connection', 'database')
    if location.location == cfg.Locations.user:
        origin = '[database] connection in %s' % location.detail
    elif location.location == cfg.Locations.environment:
        origin = 'from the environment variable %s' % location.detail
    elif location.location == cfg.Locations.command_line:
        origin = 'from the command line'
    elif location.location == cfg.Locations.set_override:
        origin = 'set by the program'
    elif conf.config_file:
        origin = ('the default under state_path: %s sets no [database] '
                  'connection' % ', '.join(conf.config_file))
    else:
        origin = ('the default under state_path: no configuration file was '
                  'found; use --config-file or /etc/arbiter/%s.conf'
                  % spec.prog)
    return '%s database: %s (%s)' % (spec.prog, shown, origin)


def _db_sync(spec, conf):
    """Upgrade to ``--revision``; exit 1, with one line that says why,
    for a revision the history does not have (alembic's traceback) or
    one the database is already past (nothing was done, and "Database
    at 0006" alone read as a success)."""
    print(database_origin(spec, conf), file=sys.stderr, flush=True)
    database_problems.check_url(conf.database.connection)
    revision = conf.command.revision
    try:
        _check_revision(spec, revision)
        migration.upgrade(spec, conf.database.connection, revision)
    except alembic.util.CommandError as exc:
        known = migration.revisions(spec)
        print('%s-manage: %s. The revisions of %s are %s to %s (or head).'
              % (spec.prog, str(exc).rstrip('.'), spec.prog, known[0],
                 known[-1]), file=sys.stderr, flush=True)
        return 1
    current = migration.current_revision(spec, conf.database.connection)
    print('Database at %s' % current)
    known = migration.revisions(spec)
    if (revision in known and current in known and
            known.index(current) > known.index(revision)):
        print('%s-manage: the database is already past revision %s; db '
              'sync only upgrades, so nothing was done.'
              % (spec.prog, revision), file=sys.stderr, flush=True)
        return 1
    return 0


def _check_revision(spec, revision):
    """Refuse, before the database is touched, a revision that the
    service's history does not have: alembic found out only after it
    had made the version table, and left an SQLite file of an empty
    schema behind.  Revisions relative to the database's (``+1``,
    ``0002+1``) are left to alembic, which alone knows where it is.

    An empty revision, and one past the head (``head+1``), are refused
    here too: alembic ended both with an ``AssertionError``.

    :raises alembic.util.CommandError: naming the revision.
    """
    if not revision.strip():
        raise alembic.util.CommandError('An empty revision is no revision')
    relative = re.fullmatch(r'(.*?)([+-])([0-9]+)', revision)
    if relative:
        base, sign, steps = relative.groups()
        if base in ('head', 'heads') and sign == '+' and int(steps):
            raise alembic.util.CommandError(
                'Revision %r is past the latest one' % revision)
        if base:
            _check_revision(spec, base)
        return
    script = alembic.script.ScriptDirectory.from_config(
        migration.alembic_config(spec, 'sqlite://'))
    script.get_revisions(revision)


def _db_version(spec, conf):
    print(database_origin(spec, conf), file=sys.stderr, flush=True)
    database_problems.check_url(conf.database.connection)
    revision = None
    if not database_problems.missing_sqlite_file(conf.database.connection):
        revision = migration.current_revision(spec, conf.database.connection)
    print(revision or
          'None (empty database: run "%s-manage db sync")' % spec.prog)
    return 0


def schema_problem(spec, conf):
    """Why the database cannot serve a command other than ``db``, or
    None; a sentence without its full stop.

    A service's own commands (``limits-manage sync``, ``usage audit``,
    ``federation-manage keys list|rotate``) read the latest schema: on a
    database that ``db sync`` had not made they ended with oslo.db's
    traceback (``no such table``), and left an empty SQLite file behind.
    """
    database_problems.check_url(conf.database.connection)
    current = None
    if not database_problems.missing_sqlite_file(conf.database.connection):
        current = migration.current_revision(spec, conf.database.connection)
    latest = migration.head_revision(spec)
    if current == latest:
        return None
    if current is None:
        state = 'is empty'
    elif current in migration.revisions(spec):
        state = 'is at revision %s' % current
    else:
        # A newer release's schema: db sync cannot help.
        return ('the database is at revision %s, which this release of %s '
                'does not know (its latest is %s): run the release that made '
                'it' % (current, spec.prog, latest))
    return ('the database %s and this command needs revision %s: run '
            '"%s-manage db sync" first' % (state, latest, spec.prog))


def _add_db_commands(subparsers):
    db = subparsers.add_parser('db', help='Database schema commands.')
    # The metavar, not the dest, names what is missing in argparse's
    # error: it said "the following arguments are required: db_action".
    db_sub = db.add_subparsers(dest='db_action', metavar='{sync,version}')
    db_sub.required = True
    sync = db_sub.add_parser('sync', help='Upgrade the schema to the latest '
                                          '(or a given) revision.')
    sync.add_argument('--revision', default='head',
                      help='Revision to upgrade to (default: head).')
    sync.set_defaults(func=_db_sync)
    version = db_sub.add_parser('version',
                                help='Print the current schema revision.')
    version.set_defaults(func=_db_version)


def command_opt(spec):
    def add_parsers(subparsers):
        _add_db_commands(subparsers)
        for add in spec.manage_commands:
            add(subparsers)
    return cfg.SubCommandOpt('command', title='Commands',
                             help='Available commands',
                             handler=add_parsers)


def main(spec, argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = config.build_conf(
        spec, args=argv, cli_opts=[command_opt(spec)],
        command='%s-manage' % spec.prog,
        description='Database and maintenance commands of the %s service.'
                    % spec.prog)
    try:
        if conf.command.name != 'db':
            problem = schema_problem(spec, conf)
            if problem is not None:
                print(database_origin(spec, conf), file=sys.stderr)
                print('%s-manage: %s. Nothing was done.'
                      % (spec.prog, problem), file=sys.stderr, flush=True)
                return 1
        return conf.command.func(spec, conf)
    except database_problems.ERRORS as exc:
        problem = database_problems.describe(exc)
        if problem is None:
            raise
        print('%s-manage: %s' % (spec.prog, problem), file=sys.stderr,
              flush=True)
        return 1
    except ks_exceptions.ClientException as exc:
        # A command that calls another service (limits-manage sync calls
        # Keystone) ended with keystoneauth1's traceback when that
        # service did not answer or its credentials were not set.
        print('%s-manage: %s' % (spec.prog, peer_problem(exc)),
              file=sys.stderr, flush=True)
        return 1


def peer_problem(exc):
    """One line for a failed call to another service (keystoneauth1)."""
    if isinstance(exc, ks_exceptions.ConnectionError):
        why = 'nothing answers at its URL, or it cannot be reached from here'
    elif isinstance(exc, (ks_exceptions.MissingAuthPlugin,
                          ks_exceptions.AuthorizationFailure,
                          ks_exceptions.Unauthorized)):
        why = ('the credentials of the command\'s client options (for '
               'limits-manage sync, [keystone]) are missing or refused')
    else:
        why = None
    return 'a call to another service failed: %s: %s%s.' % (
        type(exc).__name__, ' '.join(str(exc).split()).rstrip('.'),
        ' (%s)' % why if why else '')
