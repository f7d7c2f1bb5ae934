"""``<prog>-manage db sync --revision``, given a revision it cannot
reach.

A revision the history does not have ended the command with alembic's
traceback; one the database was already past did nothing and printed
"Database at 0006" with exit code 0, as a successful sync does.
"""

import os

import fixtures
import testtools

from limits_svc import service
from svc_common.db import migration
from svc_common.tests.functional import test_commands


class _SyncCase(testtools.TestCase):
    """limits-manage db sync on a new SQLite file of its own."""

    SPEC = service.SPEC

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.conf_file = os.path.join(tmp, 'limits.conf')
        self.db_path = os.path.join(tmp, 'limits.sqlite')
        with open(self.conf_file, 'w') as conf:
            conf.write('[database]\nconnection = sqlite:///%s\n'
                       % self.db_path)
        self.revisions = migration.revisions(self.SPEC)

    def sync(self, *args):
        return test_commands.run(
            [test_commands.command('limits-manage'), '--config-file',
             self.conf_file, 'db', 'sync'] + list(args))


class TestSyncToRevision(_SyncCase):

    def test_unknown_revision_is_one_line(self):
        result = self.sync('--revision', 'nonsense')
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(
            "limits-manage: Can't locate revision identified by "
            "'nonsense'. The revisions of limits are %s to %s (or head)."
            % (self.revisions[0], self.revisions[-1]),
            result.stderr.splitlines()[-1])

    def test_unknown_revision_leaves_no_database(self):
        """Refused before anything is written: an SQLite file with alembic's
        version table was left behind."""
        result = self.sync('--revision', 'nonsense')
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertFalse(os.path.exists(self.db_path))

    def test_relative_revision_still_works(self):
        self.assertEqual(0, self.sync('--revision',
                                      self.revisions[0]).returncode)
        result = self.sync('--revision', '+1')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('Database at %s\n' % self.revisions[1],
                         result.stdout)

    def test_older_revision_than_the_database_is_refused(self):
        self.assertEqual(0, self.sync().returncode)
        result = self.sync('--revision', self.revisions[0])
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertEqual('Database at %s\n' % self.revisions[-1],
                         result.stdout)
        self.assertIn('limits-manage: the database is already past '
                      'revision %s; db sync only upgrades, so nothing was '
                      'done.' % self.revisions[0], result.stderr)

    def test_revisions_up_to_head_still_work(self):
        first = self.sync('--revision', self.revisions[1])
        self.assertEqual(0, first.returncode, first.stderr)
        self.assertEqual('Database at %s\n' % self.revisions[1],
                         first.stdout)
        again = self.sync('--revision', self.revisions[1])
        self.assertEqual(0, again.returncode, again.stderr)
        head = self.sync()
        self.assertEqual(0, head.returncode, head.stderr)
        self.assertEqual('Database at %s\n' % self.revisions[-1],
                         head.stdout)


class TestUnreachableRevisions(_SyncCase):
    """An empty revision and one past the head ended in alembic's
    AssertionError traceback."""

    def assertRefused(self, revision, detail):
        result = self.sync('--revision', revision)
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(
            'limits-manage: %s. The revisions of limits are %s to %s (or '
            'head).' % (detail, self.revisions[0], self.revisions[-1]),
            result.stderr.splitlines()[-1])
        return result

    def test_empty_revision(self):
        self.assertRefused('', 'An empty revision is no revision')
        self.assertFalse(os.path.exists(self.db_path))

    def test_past_the_head(self):
        self.assertRefused('head+1',
                           "Revision 'head+1' is past the latest one")
        self.assertFalse(os.path.exists(self.db_path))

    def test_unknown_base_of_a_relative_revision(self):
        self.assertRefused('nonsense+1', "Can't locate revision identified "
                                         "by 'nonsense'")

    def test_relative_revision_beyond_the_head(self):
        self.assertEqual(0, self.sync('--revision',
                                      self.revisions[-2]).returncode)
        # alembic's own words.
        self.assertRefused('+5', "Relative revision +5 didn't produce 5 "
                                 "migrations")
        self.assertEqual(self.revisions[-2], migration.current_revision(
            self.SPEC, 'sqlite:///%s' % self.db_path))
