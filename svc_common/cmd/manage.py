"""``<prog>-manage``: database and maintenance commands of one service.

``db sync [--revision REV]`` brings the schema up to date (it is safe to
run again); ``db version`` prints the revision the database is at.
A service adds its own commands through ``ServiceSpec.manage_commands``:
each is a callable ``add(subparsers)`` that adds an oslo.config sub-command
parser whose ``func`` default is called as ``func(spec, conf)``.
"""

import sys

from oslo_config import cfg

from svc_common import config
from svc_common.db import migration


def _db_sync(spec, conf):
    revision = conf.command.revision
    migration.upgrade(spec, conf.database.connection, revision)
    print('Database at %s' % migration.current_revision(
        spec, conf.database.connection))
    return 0


def _db_version(spec, conf):
    print(migration.current_revision(spec, conf.database.connection) or
          'None (empty database: run "%s-manage db sync")' % spec.prog)
    return 0


def _add_db_commands(subparsers):
    db = subparsers.add_parser('db', help='Database schema commands.')
    db_sub = db.add_subparsers(dest='db_action')
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
    conf = config.build_conf(spec, args=argv, cli_opts=[command_opt(spec)])
    return conf.command.func(spec, conf)
