"""Timestamps are answered in UTC whatever the PostgreSQL server's time
zone.

The API answers ``created_at`` and ``updated_at`` as UTC (``...Z``) from
columns without a time zone; ``now()`` wrote them in the session's
``TimeZone``, the server's own, so a server configured for New York
answered a project made at 16:00 UTC as made at 11:00 UTC.
"""

import datetime

import sqlalchemy as sa

from limits_svc.db import keystone
from limits_svc import keystone_sync
from limits_svc.tests.functional import base
from svc_common import context
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import backends
from svc_common.tests.fixtures import postgresql

# Five hours behind UTC (four in summer): far from it either way.
TIME_ZONE = 'America/New_York'


class TestTimestampsInUTC(base.LimitsApiTestCase):

    def setUp(self):
        database = self.useFixture(postgresql.Database())
        admin = sa.create_engine(postgresql.shared_server().admin_url,
                                 isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text('ALTER DATABASE "%s" SET timezone = '
                                 "'%s'" % (database.name, TIME_ZONE)))
        admin.dispose()
        self.url = database.url
        self.OVERRIDES = {('database', 'connection'): database.url}
        super().setUp()
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def utc_now(self):
        """The database server's clock, in UTC, as the API shows it (in
        whole seconds)."""
        with self.engine.connect() as conn:
            zone, now = conn.execute(sa.text(
                "SELECT current_setting('TimeZone'), "
                "timezone('UTC', clock_timestamp())")).one()
        self.assertEqual(TIME_ZONE, zone)
        return now.replace(microsecond=0)

    @staticmethod
    def shown(timestamp):
        # isoformat() leaves out a fraction of 0 microseconds.
        return datetime.datetime.fromisoformat(timestamp.rstrip('Z'))

    def test_a_project_made_and_changed_through_the_api(self):
        before = self.utc_now()
        made = self.project('root')
        after = self.utc_now()
        self.assertTrue(before <= self.shown(made['created_at']) <= after,
                        (before, made['created_at'], after))
        before = self.utc_now()
        changed = self.app.patch_json('/v1/projects/root', {'name': 'x'},
                                      headers=af.SYSTEM_ADMIN).json['project']
        after = self.utc_now()
        self.assertTrue(before <= self.shown(changed['updated_at']) <= after,
                        (before, changed['updated_at'], after))

    def test_a_project_synced_from_keystone(self):
        db = backends.database_at(self, self.url)
        before = self.utc_now()
        keystone.replace_from_keystone(
            db, context.admin_context(), keystone_sync.snapshot(
                [{'id': 'top', 'name': 'top', 'parent_id': 'default',
                  'domain_id': 'default'}], [], []))
        after = self.utc_now()
        shown = self.app.get('/v1/projects/top',
                             headers=af.SYSTEM_READER).json['project']
        self.assertTrue(before <= self.shown(shown['created_at']) <= after,
                        (before, shown['created_at'], after))
