"""``limits-manage sync`` as an operator meets it in ``local`` mode.

In ``local`` mode there is nothing to copy from Keystone: the command
refuses, on standard error (a refusal on standard output read as the
command's result), with exit status 1; and ``limits-manage sync --help``
(and ``usage audit --help``) says what the command does.  Run in-process
on a migrated SQLite database.
"""

import io
import os

import fixtures
import testtools

from limits_svc import service
from svc_common.cmd import manage
from svc_common.db import migration


class TestSyncInLocalMode(testtools.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        url = 'sqlite:///%s' % os.path.join(tmp, 'limits.sqlite')
        migration.upgrade(service.SPEC, url)
        self.conf_file = os.path.join(tmp, 'limits.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[database]\nconnection = %s\n[limits]\nmode = local\n'
                    % url)
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', self.stdout))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))

    def test_the_refusal_is_an_error(self):
        status = manage.main(service.SPEC,
                             ['--config-file', self.conf_file, 'sync'])
        stdout, stderr = self.stdout.getvalue(), self.stderr.getvalue()
        self.assertEqual(1, status)
        self.assertEqual('', stdout)
        self.assertEqual(
            "limits-manage sync: [limits] mode is 'local': nothing to sync "
            "(set mode = keystone).\n", stderr)

    def test_help_says_what_the_command_does(self):
        for command, description in (
                (['sync'], 'Copy the project tree and the unified limits '
                           'from Keystone'),
                (['usage', 'audit'], 'Recompute every usage counter from '
                                     'the allocation rows')):
            error = self.assertRaises(SystemExit, manage.main, service.SPEC,
                                      ['--config-file', self.conf_file] +
                                      command + ['--help'])
            self.assertEqual(0, error.code)
            self.assertIn(description,
                          ' '.join(self.stdout.getvalue().split()))
            self.stdout.seek(0)
            self.stdout.truncate()
