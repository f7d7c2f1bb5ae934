"""A start of the API under an https issuer, long after the sessions of
plain-named cookies were ended, reads the index of those sessions (now
empty but for a few expired ones), not the sessions table.

Each API process looks for such sessions whenever it starts (every
worker, every host, every restart).  The table holds the live sessions
of every person; the plans the databases choose (with statistics,
``ANALYZE``) must read ``sessions_unprefixed_idx`` (migration 0020)
alone: no scan of the table, nor of the live sessions by their expiry,
nor of the primary key.
"""

import datetime

import sqlalchemy as sa
import testtools

from federation_proxy.db import models
from federation_proxy.db import oidc as oidc_db
from federation_proxy import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends

#: Live sessions of __Host- cookies, made since the upgrade.
LIVE = 20000
#: Expired sessions of plain-named cookies, not yet purged.
EXPIRED = 30
NOW = datetime.datetime(2026, 6, 1, 12, 0)


def _seed(url):
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    later = NOW + datetime.timedelta(hours=1)
    earlier = NOW - datetime.timedelta(hours=1)
    try:
        with engine.begin() as conn:
            conn.execute(models.Session.__table__.insert(), [
                {'id': 's%06d' % n, 'user_id': 'u%05d' % (n % 5000),
                 'expires_at': later, 'host_prefixed': True}
                for n in range(LIVE)])
            conn.execute(models.Session.__table__.insert(), [
                {'id': 'old%04d' % n, 'user_id': 'u%05d' % n,
                 'expires_at': earlier, 'host_prefixed': False}
                for n in range(EXPIRED)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _Plan(backends.Seeded):

    seed = staticmethod(_seed)

    def test_the_start_reads_the_index_of_plain_named_sessions(self):
        plan = self.plan(oidc_db.unprefixed_batch_query(NOW))
        why = plan
        self.assertIn('sessions_unprefixed_idx', plan, why)
        for bad in self.UNWANTED:
            self.assertNotIn(bad, plan, why)

    def test_it_finds_the_live_ones_to_end(self):
        # The index serves the start's query: it answers what the table
        # holds (the live plain-named sessions, lowest IDs first).
        later = NOW + datetime.timedelta(hours=2)
        with self.engine.begin() as conn:
            conn.execute(models.Session.__table__.insert(), [
                {'id': 'plain%d' % n, 'user_id': 'p', 'expires_at': later,
                 'host_prefixed': False} for n in (2, 1)])
        with self.engine.connect() as conn:
            rows = conn.execute(oidc_db.unprefixed_batch_query(NOW)).all()
        self.assertEqual([('plain1', 'p'), ('plain2', 'p')],
                         [tuple(r) for r in rows])


class TestPlanOnSQLite(backends.OnSQLite, _Plan, testtools.TestCase):
    # Neither the table, nor another index of it, nor a sort.
    UNWANTED = ('ix_sessions', 'autoindex', 'TEMP B-TREE',
                'SCAN sessions\n')


class TestPlanOnPostgreSQL(backends.OnPostgreSQL, _Plan,
                           testtools.TestCase):
    UNWANTED = ('Seq Scan', 'Sort', 'sessions_pkey', 'ix_sessions')
