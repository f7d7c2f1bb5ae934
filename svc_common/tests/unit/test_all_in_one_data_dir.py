"""``arbiter-all-in-one --data-dir`` naming something that cannot be the
data directory: a file, or a path under a file.  Both ended the command
with a FileExistsError or NotADirectoryError traceback."""

import os

import fixtures
import testtools

from svc_common.cmd import all_in_one


class TestDataDirThatCannotBe(testtools.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.file = os.path.join(tmp, 'notes.txt')
        with open(self.file, 'w') as f:
            f.write('x')

    def test_a_file(self):
        error = self.assertRaises(all_in_one.StartError,
                                  all_in_one.lock_data_dir, self.file, [])
        self.assertEqual(
            'cannot use %s as the data directory: it is a file, not a '
            'directory. Give a directory this user can write with '
            '--data-dir DIR. Nothing was started.' % self.file, str(error))

    def test_a_path_under_a_file(self):
        path = os.path.join(self.file, 'data')
        error = self.assertRaises(all_in_one.StartError,
                                  all_in_one.lock_data_dir, path, [])
        self.assertIn('cannot use %s as the data directory: Not a '
                      'directory.' % path, str(error))

    def test_a_directory_is_locked(self):
        path = os.path.join(os.path.dirname(self.file), 'data')
        lock = all_in_one.lock_data_dir(path, ['http://127.0.0.1:1/'])
        self.addCleanup(lock.close)
        self.assertTrue(os.path.isdir(path))
