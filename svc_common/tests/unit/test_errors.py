"""svc_common.errors.JsonErrorMiddleware: what an exception that leaves
the application is answered with."""

import sqlite3

import fixtures
from oslo_db import exception as db_exc
import sqlalchemy.exc
import testtools
import webtest

from svc_common.db import failures
from svc_common import errors


def _refused_connection():
    # What SQLAlchemy raises when the pool cannot even connect: no
    # statement was being run.
    return sqlalchemy.exc.OperationalError(
        None, None, Exception('connection refused'))


def _app_raising(exc):
    def application(environ, start_response):
        raise exc
    return webtest.TestApp(errors.JsonErrorMiddleware(application,
                                                      'things'))


class TestUnexpectedExceptions(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger())

    def test_a_database_that_cannot_be_reached_is_a_503(self):
        """Down, restarting, failing over: a 503 that says to try again,
        logged as one warning line (it was a 500 with a traceback)."""
        dropped = sqlalchemy.exc.OperationalError(
            'SELECT 1', {}, Exception('terminating connection'),
            connection_invalidated=True)
        for exc in (db_exc.DBConnectionError(Exception('gone')),
                    _refused_connection(), dropped,
                    db_exc.DBError(_refused_connection())):
            resp = _app_raising(exc).get('/things', status=503)
            error = resp.json['errors'][0]
            self.assertEqual(('things.service_unavailable', 503),
                             (error['code'], error['status']), exc)
            self.assertIn('database', error['detail'])
        self.assertIn('Database unreachable answering GET /things',
                      self.log.output)
        self.assertNotIn('Traceback', self.log.output)

    def test_a_statement_the_database_refused_is_still_a_500(self):
        """A missing table (a schema never migrated) or any other bug is
        not something to try again."""
        missing_table = sqlalchemy.exc.OperationalError(
            'SELECT * FROM things', {}, Exception('no such table: things'))
        for exc in (missing_table, ValueError('a bug')):
            resp = _app_raising(exc).get('/things', status=500)
            self.assertEqual('things.internal_error',
                             resp.json['errors'][0]['code'])
        self.assertIn('Traceback', self.log.output)

    def test_a_sqlite_file_locked_past_the_busy_timeout_is_a_503(self):
        """"database is locked": another writer held the file; the same
        request succeeds once it is done."""
        locked = sqlite3.OperationalError('database is locked')
        busy = sqlalchemy.exc.OperationalError('BEGIN IMMEDIATE', (), locked)
        resp = _app_raising(busy).post('/things', status=503)
        self.assertEqual('things.service_unavailable',
                         resp.json['errors'][0]['code'])
        self.assertIn('Database busy answering POST /things',
                      self.log.output)
        self.assertNotIn('Traceback', self.log.output)

    def test_a_long_path_is_logged_shortened(self):
        """A log line of this layer shows the request's path percent
        encoded and at most 200 characters of it: it logged the path
        whole, as long as the WSGI server takes."""
        path = '/things/a%0Ab' + 'x' * 5000
        for exc, status in ((_refused_connection(), 503),
                            (ValueError('a bug'), 500)):
            _app_raising(exc).get(path, status=status)
        shown = '/things/a%0Ab' + 'x' * 187 + '...'
        self.assertIn('Database unreachable answering GET %s: ' % shown,
                      self.log.output)
        self.assertIn('Unexpected error answering GET %s\n' % shown,
                      self.log.output)
        self.assertNotIn('x' * 188, self.log.output)

    def test_other_sqlite_errors_are_still_500(self):
        readonly = sqlite3.OperationalError(
            'attempt to write a readonly database')
        exc = sqlalchemy.exc.OperationalError('INSERT', (), readonly)
        self.assertFalse(failures.busy(exc))
        _app_raising(exc).post('/things', status=500)


class TestQuotedId(testtools.TestCase):
    """errors.quoted_id: a client's ID as a message shows it."""

    def test_an_ordinary_id_is_a_json_string(self):
        self.assertEqual('"p1"', errors.quoted_id('p1'))
        self.assertEqual('"caf\\u00e9"', errors.quoted_id('caf\u00e9'))

    def test_control_characters_are_escaped(self):
        shown = errors.quoted_id('a\nb\r\x1b[31m\x7f\u2028')
        self.assertEqual('"a\\nb\\r\\u001b[31m\\u007f\\u2028"', shown)
        self.assertTrue(shown.isprintable() and shown.isascii(), shown)

    def test_a_long_id_is_cut_after_a_whole_character(self):
        shown = errors.quoted_id('a\n' + 'x' * 4998)
        self.assertEqual(80, len(shown))
        self.assertEqual('"a\\n' + 'x' * 72 + '"...', shown)
        # Six characters per escape: none is cut in two.
        self.assertEqual('"%s"...' % ('\\u00e9' * 12),
                         errors.quoted_id('\u00e9' * 100))
        self.assertEqual('"%s"' % ('x' * 78), errors.quoted_id('x' * 78))

    def test_a_huge_id_is_not_spelt_whole(self):
        """Only what may be shown is spelt in JSON: a path part of
        megabytes was spelt whole to be cut to 80 characters."""
        spelt = []
        dumps = errors.json.dumps

        def counting(text, *args, **kwargs):
            spelt.append(len(text))
            return dumps(text, *args, **kwargs)

        self.useFixture(fixtures.MockPatch('svc_common.errors.json.dumps',
                                           counting))
        self.assertEqual('"%s"...' % ('x' * 75),
                         errors.quoted_id('x' * 1000000))
        self.assertLessEqual(max(spelt), 80)
        self.assertEqual('"%s"' % ('x' * 78), errors.quoted_id('x' * 78))
        self.assertEqual('"%s"...' % ('x' * 75), errors.quoted_id('x' * 79))
        self.assertEqual('"%s"...' % ('\\n' * 37),
                         errors.quoted_id('\n' * 80))
