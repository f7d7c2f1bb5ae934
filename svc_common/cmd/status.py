"""``<prog>-status upgrade check``: is this deployment ready to run?

The base checks every service shares; a service subclasses
:class:`UpgradeChecks` and appends its own checks to ``_upgrade_checks``.
"""

import sys

from oslo_config import cfg
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck
import sqlalchemy

from svc_common.cmd import database_problems
from svc_common import config
from svc_common.db import migration


class UpgradeChecks(upgradecheck.UpgradeCommands):

    def __init__(self, spec, conf):
        self.spec = spec
        self.conf = conf

    def check(self):
        """Run the checks, for ``upgrade check`` only.

        oslo.upgradecheck's parser takes any word after ``upgrade``:
        ``limits-status upgrade chek`` (a typo), or ``upgrade list``,
        ran every check as if it were ``upgrade check``.  Anything else
        is a usage error here (exit code 2), as argparse says one.
        """
        action = self.conf.command.check
        if action != 'check':
            command = '%s-status upgrade' % self.spec.prog
            print('usage: %s [-h] [--json] check\n%s: error: argument '
                  'check: invalid choice: %r (choose from \'check\')'
                  % (command, command, action), file=sys.stderr, flush=True)
            return 2
        return super().check()

    def _check_schema_at_head(self):
        url = self.conf.database.connection
        head = migration.head_revision(self.spec)
        try:
            # The database a service refuses (MySQL, postgres://) is
            # named as <prog>-manage names it: a MySQL URL was "No module
            # named 'pymysql'", as if installing the driver would help.
            database_problems.check_url(url)
            missing = database_problems.missing_sqlite_file(url)
            current = (None if missing else
                       migration.current_revision(self.spec, url))
        except Exception as exc:  # any driver error means "cannot connect"
            problem = None
            if isinstance(exc, database_problems.ERRORS):
                problem = database_problems.describe(exc)
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                problem or 'Cannot read the database at [database] '
                           'connection: %s' % exc)
        if missing:
            # Reading it made an empty file that db sync had not made.
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                'The database file %s does not exist (no schema yet); '
                'this release needs %s: run "%s-manage db sync".'
                % (sqlalchemy.engine.make_url(url).database, head,
                   self.spec.prog))
        if current is None:
            # "The schema is at None" was all an empty database got.
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                'The database is empty (no schema yet); this release '
                'needs %s: run "%s-manage db sync".'
                % (head, self.spec.prog))
        if current != head:
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                'The schema is at %s but this release needs %s: run '
                '"%s-manage db sync".' % (current, head, self.spec.prog))
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    def _check_policy_file(self):
        return common_checks.check_policy_json(self, self.conf)

    def _check_option_values(self):
        """Every option's value can be read: the service reads one only
        when it reaches it, so a bad value passed every other check and
        then stopped the service (``[api] max_limit = -5``)."""
        try:
            config.check_values(self.conf)
        except cfg.ConfigFileValueError as exc:
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                '%s. The service and its commands refuse to start with it.'
                % exc)
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    _upgrade_checks = (
        ('Configuration option values', _check_option_values),
        ('Database schema at the latest revision', _check_schema_at_head),
        ('Policy file format', _check_policy_file),
    )


def main(spec, checks_class=UpgradeChecks, argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = cfg.ConfigOpts()
    config.register_opts(conf, spec)
    try:
        return upgradecheck.main(conf, project=config.PROJECT,
                                 upgrade_command=checks_class(spec, conf),
                                 argv=argv,
                                 default_config_files=cfg.find_config_files(
                                     project=config.PROJECT, prog=spec.prog))
    except (cfg.ConfigFilesNotFoundError, cfg.ConfigFileParseError) as exc:
        config.exit_for_config_error('%s-status' % spec.prog, exc)
