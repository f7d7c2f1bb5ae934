"""tools/run-local.sh called from another directory than the
repository's.

It ran arbiter-all-in-one from the repository's root, so the relative
paths a person gave it were looked for there: ``run-local.sh
--config-dir etc`` from a directory holding ``etc`` was refused with
"--config-dir etc is not a directory", and ``--data-dir`` went into the
repository.  The script runs here with stand-ins for tools/setup-venv.sh
and .venv/bin/arbiter-all-in-one that record where they ran.
"""

import os
import shutil
import subprocess

import fixtures
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _script(path, text):
    with open(path, 'w') as f:
        f.write('#!/bin/bash\n' + text)
    os.chmod(path, 0o755)


class TestRunLocalFromElsewhere(testtools.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.repo = os.path.join(tmp, 'arbiter')
        os.makedirs(os.path.join(self.repo, 'tools'))
        os.makedirs(os.path.join(self.repo, '.venv', 'bin'))
        shutil.copy(os.path.join(REPO, 'tools', 'run-local.sh'),
                    os.path.join(self.repo, 'tools'))
        _script(os.path.join(self.repo, 'tools', 'setup-venv.sh'),
                'pwd > "$OUT/setup-cwd"\n')
        _script(os.path.join(self.repo, '.venv', 'bin',
                             'arbiter-all-in-one'),
                'pwd > "$OUT/run-cwd"\necho "$@" > "$OUT/run-args"\n')
        self.work = os.path.join(tmp, 'work')
        os.makedirs(os.path.join(self.work, 'etc'))
        self.out = os.path.join(tmp, 'out')
        os.mkdir(self.out)

    def read(self, name):
        with open(os.path.join(self.out, name)) as f:
            return f.read().strip()

    def test_services_run_in_the_callers_directory(self):
        result = subprocess.run(
            ['bash', os.path.join(self.repo, 'tools', 'run-local.sh'),
             '--config-dir', 'etc', '--port-base', '9970'],
            cwd=self.work, env=dict(os.environ, OUT=self.out),
            capture_output=True, text=True, timeout=60)
        self.assertEqual(0, result.returncode, result.stderr)
        # The virtualenv is the repository's ...
        self.assertEqual(self.repo, self.read('setup-cwd'))
        # ... the services' directory the caller's.
        self.assertEqual(self.work, self.read('run-cwd'))
        self.assertEqual('--config-dir etc --port-base 9970',
                         self.read('run-args'))

    def test_a_failed_setup_runs_nothing(self):
        _script(os.path.join(self.repo, 'tools', 'setup-venv.sh'), 'exit 1\n')
        result = subprocess.run(
            ['bash', os.path.join(self.repo, 'tools', 'run-local.sh')],
            cwd=self.work, env=dict(os.environ, OUT=self.out),
            capture_output=True, text=True, timeout=60)
        self.assertEqual(1, result.returncode)
        self.assertFalse(os.path.exists(os.path.join(self.out, 'run-cwd')))
