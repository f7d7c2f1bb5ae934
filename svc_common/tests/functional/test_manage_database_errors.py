"""``<prog>-manage`` given a database it cannot use.

Each of these ended the command with a traceback: a URL that does not
parse, ``postgres://`` (SQLAlchemy's spelling is ``postgresql://``), a
MySQL URL read by ``db version`` (only ``db sync`` refused it), a
driver that is not installed, and a PostgreSQL server that does not
answer.  The command now prints one line after the line that names the
database, and exits 1.
"""

import os
import socket

import fixtures
import testtools

from svc_common.tests.functional import test_commands


class TestManageDatabaseErrors(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def manage(self, url, *args, prog='limits'):
        path = os.path.join(self.tmp, 'svc.conf')
        with open(path, 'w') as conf:
            conf.write('[database]\nconnection = %s\n' % url)
        return test_commands.run(
            [test_commands.command('%s-manage' % prog), '--config-file',
             path] + list(args))

    def assertOneLine(self, result, prog, expected):
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        lines = result.stderr.splitlines()
        self.assertEqual('%s-manage: ' % prog, lines[-1][:len(prog) + 9])
        self.assertIn(expected, lines[-1])

    def test_url_that_does_not_parse(self):
        for action in ('sync', 'version'):
            result = self.manage('not a url', 'db', action)
            self.assertOneLine(result, 'limits', '[database] connection is '
                               'not a database URL')

    def test_postgres_spelling(self):
        result = self.manage('postgres://u:p@127.0.0.1/x', 'db', 'version')
        self.assertOneLine(result, 'limits', 'starts with postgres://, '
                           'which SQLAlchemy spells postgresql://')

    def test_db_version_refuses_mysql_as_db_sync_does(self):
        result = self.manage('mysql+pymysql://u:p@127.0.0.1/x',
                             'db', 'version')
        self.assertOneLine(result, 'limits', 'names a mysql database')

    def test_driver_not_installed(self):
        try:
            import pg8000  # noqa: F401
            self.skipTest('pg8000 is installed here')
        except ImportError:
            pass
        result = self.manage('postgresql+pg8000://u:p@127.0.0.1/x',
                             'db', 'sync')
        self.assertOneLine(result, 'limits', 'the database driver pg8000 '
                           'that [database] connection names is not '
                           'installed: pip install pg8000')

    def test_server_that_does_not_answer(self):
        free = socket.socket()
        free.bind(('127.0.0.1', 0))
        port = free.getsockname()[1]
        free.close()
        url = 'postgresql+psycopg2://u:p@127.0.0.1:%d/x' % port
        for prog, args in (('limits', ('db', 'version')),
                           ('limits', ('usage', 'audit')),
                           ('federation', ('keys', 'list'))):
            result = self.manage(url, *args, prog=prog)
            self.assertOneLine(result, prog, 'cannot use the database of '
                               '[database] connection: ')
            self.assertIn('Connection refused', result.stderr)
            self.assertNotIn(':p@', result.stderr)


class TestApiDatabaseErrors(testtools.TestCase):
    """``<prog>-api`` (the development server) logged a CRITICAL
    traceback for the same databases."""

    def test_one_line_each(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'limits.conf')
        for url, expected in (
                ('not a url', 'is not a database URL'),
                ('mysql+pymysql://u:p@127.0.0.1/x', 'names a mysql database'),
                ('postgres://u:p@127.0.0.1/x', 'starts with postgres://')):
            with open(path, 'w') as conf:
                conf.write('[database]\nconnection = %s\n[api]\n'
                           'host = 127.0.0.1\nport = 0\n' % url)
            result = test_commands.run(
                [test_commands.command('limits-api'), '--config-file',
                 path])
            self.assertEqual(1, result.returncode, result.stderr)
            self.assertNotIn('Traceback', result.stderr)
            last = result.stderr.splitlines()[-1]
            self.assertTrue(last.startswith('limits-api: [database] '
                                            'connection '), last)
            self.assertIn(expected, last)


class TestApiWithoutSchema(testtools.TestCase):
    """``<prog>-api`` on a database that ``db sync`` had not made served,
    answering every request with a 500 (no such table), and created the
    SQLite file."""

    def test_refused_before_serving(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'limits.conf')
        database = os.path.join(tmp, 'limits.sqlite')
        with open(path, 'w') as conf:
            conf.write('[database]\nconnection = sqlite:///%s\n[api]\n'
                       'host = 127.0.0.1\nport = 0\n' % database)
        result = test_commands.run(
            [test_commands.command('limits-api'), '--config-file', path])
        self.assertEqual(1, result.returncode, result.stdout)
        self.assertEqual('', result.stdout)
        self.assertIn('limits-api: the database is empty and this command '
                      'needs revision ', result.stderr)
        self.assertIn('run "limits-manage db sync" first. Nothing was '
                      'started.', result.stderr)
        self.assertFalse(os.path.exists(database))


class TestManagePeerErrors(testtools.TestCase):
    """``limits-manage sync`` (keystone mode) with Keystone not answering,
    or without [keystone] credentials, ended with keystoneauth1's
    traceback."""

    def sync(self, keystone):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'limits.conf')
        with open(path, 'w') as conf:
            conf.write('[database]\nconnection = sqlite:///%s/l.sqlite\n'
                       '[limits]\nmode = keystone\n%s' % (tmp, keystone))
        # The schema first: limits-manage sync refuses a database that
        # db sync has not made before it calls Keystone.
        synced = test_commands.run([test_commands.command('limits-manage'),
                                    '--config-file', path, 'db', 'sync'])
        self.assertEqual(0, synced.returncode, synced.stderr)
        return test_commands.run([test_commands.command('limits-manage'),
                                  '--config-file', path, 'sync'])

    def test_keystone_not_answering(self):
        free = socket.socket()
        free.bind(('127.0.0.1', 0))
        port = free.getsockname()[1]
        free.close()
        result = self.sync(
            '[keystone]\nauth_type = password\nauth_url = '
            'http://127.0.0.1:%d/v3\nusername = u\npassword = p\n'
            'user_domain_id = default\nproject_name = service\n'
            'project_domain_id = default\ntimeout = 5\n' % port)
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertIn('limits-manage: a call to another service failed: '
                      'ConnectFailure: ', result.stderr)
        self.assertIn('(nothing answers at its URL, or it cannot be '
                      'reached from here).', result.stderr)

    def test_no_credentials(self):
        result = self.sync('')
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertEqual(
            "limits-manage: a call to another service failed: "
            "MissingAuthPlugin: An auth plugin is required to determine "
            "endpoint URL (the credentials of the command's client options "
            "(for limits-manage sync, [keystone]) are missing or "
            "refused).", result.stderr.splitlines()[-1])
