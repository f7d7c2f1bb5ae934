"""tools/setup-venv.sh's arguments.

It read only ``--with-tests`` and ignored anything else: ``setup-venv.sh
--help`` (or a mistyped ``--with-test``) went on to create .venv and
install from PyPI, for minutes, without a word about the argument.  The
script runs here on a copy of the repository's files in a temporary
directory, so nothing is installed whatever it does.
"""

import os
import shutil
import subprocess

import fixtures
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class TestSetupVenvArguments(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.repo = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(self.repo, 'tools'))
        shutil.copy(os.path.join(REPO, 'tools', 'setup-venv.sh'),
                    os.path.join(self.repo, 'tools'))
        for name in ('requirements.txt', 'setup.cfg',
                     'test-requirements.txt'):
            shutil.copy(os.path.join(REPO, name), self.repo)

    def run_script(self, *args):
        return subprocess.run(
            ['bash', os.path.join(self.repo, 'tools', 'setup-venv.sh')]
            + list(args), capture_output=True, text=True, timeout=60)

    def test_help_prints_the_usage_and_installs_nothing(self):
        for flag in ('--help', '-h'):
            done = self.run_script(flag)
            self.assertEqual(0, done.returncode, done.stderr)
            self.assertIn('Usage: tools/setup-venv.sh [--with-tests]',
                          done.stdout)
            self.assertFalse(os.path.exists(os.path.join(self.repo,
                                                         '.venv')))

    def test_an_unknown_argument_is_refused_before_anything(self):
        done = self.run_script('--with-test')
        self.assertEqual(2, done.returncode)
        self.assertIn("unknown argument '--with-test'", done.stderr)
        self.assertIn('Usage:', done.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.repo, '.venv')))
