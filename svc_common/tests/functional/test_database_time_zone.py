"""Every service's PostgreSQL connections keep time in UTC.

The services store times in columns without a time zone and answer them
as UTC (``...Z``).  A ``created_at`` filled by its ``server_default``
(``now()``) holds the time in the session's ``TimeZone``, which is the
server's own unless the client sets one: on a server configured for New
York, a row made at 16:00 UTC was answered as made at 11:00 UTC.
:class:`svc_common.db.database.Database` sets UTC on each new connection.
"""

import datetime

import sqlalchemy as sa
import testtools

from federation_proxy.tests.functional import base as federation_base
from svc_common import context
from svc_common.tests.fixtures import backends
from svc_common.tests.fixtures import postgresql

# Five hours behind UTC (four in summer): far from it either way.
TIME_ZONE = 'America/New_York'


def database_in(test, time_zone):
    """A new PostgreSQL database whose sessions default to ``time_zone``,
    and a plain engine of it that keeps that default."""
    database = test.useFixture(postgresql.Database())
    admin = sa.create_engine(postgresql.shared_server().admin_url,
                             isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text('ALTER DATABASE "%s" SET timezone = \'%s\''
                             % (database.name, time_zone)))
    admin.dispose()
    plain = sa.create_engine(database.url)
    test.addCleanup(plain.dispose)
    return database.url, plain


def utc_now(plain, test):
    """The server's clock in UTC, read on a connection still in the
    database's own time zone (which this checks)."""
    with plain.connect() as conn:
        zone, now = conn.execute(sa.text(
            "SELECT current_setting('TimeZone'), "
            "timezone('UTC', clock_timestamp())")).one()
    test.assertEqual(TIME_ZONE, zone)
    return now


class TestConnectionTimeZone(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.url, self.plain = database_in(self, TIME_ZONE)
        self.db = backends.database_at(self, self.url)

    def test_writer_and_reader_sessions_are_in_utc(self):
        ctxt = context.RequestContext()
        for scope in (self.db.writer, self.db.reader):
            with scope.using(ctxt) as session:
                self.assertEqual('UTC', session.execute(sa.text(
                    "SELECT current_setting('TimeZone')")).scalar())

    def test_a_rolled_back_first_transaction_keeps_utc(self):
        ctxt = context.RequestContext()
        self.assertRaises(ZeroDivisionError, self._fail_in_writer, ctxt)
        with self.db.writer.using(ctxt) as session:
            self.assertEqual('UTC', session.execute(sa.text(
                "SELECT current_setting('TimeZone')")).scalar())

    def _fail_in_writer(self, ctxt):
        with self.db.writer.using(ctxt) as session:
            session.execute(sa.text('SELECT 1'))
            1 / 0

    def test_a_server_default_now_is_utc(self):
        with self.plain.begin() as conn:
            conn.execute(sa.text(
                'CREATE TABLE made (id int PRIMARY KEY, '
                'created_at timestamp NOT NULL DEFAULT now())'))
        before = utc_now(self.plain, self)
        with self.db.writer.using(context.RequestContext()) as session:
            session.execute(sa.text('INSERT INTO made (id) VALUES (1)'))
        after = utc_now(self.plain, self)
        with self.plain.connect() as conn:
            made = conn.execute(sa.text(
                'SELECT created_at FROM made')).scalar()
        self.assertTrue(before <= made <= after, (before, made, after))


class TestFederationCreatedAt(federation_base.FederationTestCase):
    """What a user sees: federation_proxy's ``created_at`` columns are
    filled by ``now()``; a VO made through the API shows the UTC time."""

    def setUp(self):
        self.url, self.plain = database_in(self, TIME_ZONE)
        self.OVERRIDES = {('database', 'connection'): self.url}
        super().setUp()

    def test_a_user_made_through_the_api_shows_utc(self):
        before = utc_now(self.plain, self)
        self.add_person('alice')
        after = utc_now(self.plain, self)
        shown = self.app.get('/v1/users/alice',
                             headers=federation_base.ADMIN).json['user']
        made = datetime.datetime.fromisoformat(
            shown['created_at'].rstrip('Z'))
        # The API shows whole seconds or microseconds as the row holds.
        self.assertTrue(before.replace(microsecond=0) <= made <= after,
                        (before, shown['created_at'], after))
