"""The documentation and release notes build cleanly (warnings are errors).

Runs the same ``sphinx-build -W`` as ``tox -e docs`` and
``tox -e releasenotes``, so a page that falls out of the toctree, a broken
cross-reference or an option or policy that no longer renders fails here.
"""

import os
import subprocess
import sys

import fixtures
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class TestDocsBuild(testtools.TestCase):

    def build(self, source):
        out = self.useFixture(fixtures.TempDir()).path
        result = subprocess.run(
            [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q',
             '-b', 'html', os.path.join(REPO, source), out],
            capture_output=True, text=True, timeout=300, cwd=REPO)
        self.assertEqual(0, result.returncode,
                         result.stdout[-3000:] + result.stderr[-3000:])
        return out

    def test_docs(self):
        out = self.build(os.path.join('doc', 'source'))
        for page in ('admin/limits.html', 'api-ref/index.html',
                     'cli/limits.html', 'admin/notification-routing.html'):
            self.assertTrue(os.path.exists(os.path.join(out, page)), page)

    def test_release_notes(self):
        out = self.build(os.path.join('releasenotes', 'source'))
        with open(os.path.join(out, 'unreleased.html')) as f:
            self.assertIn('limits', f.read())
