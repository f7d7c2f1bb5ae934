"""A client's deletion finds the client's refresh tokens through an index,
whatever the number of other clients' tokens in the table (migration
0014).

``refresh_tokens`` keeps every client's used tokens for 30 days; the
deletion of one client reads and deletes its own by ``client_id`` while
it holds the client's row locked.  The plans the databases choose (with
statistics, ``ANALYZE``) must read that client's rows through the index,
not scan the table.
"""

import datetime

import sqlalchemy as sa
import testtools

from federation_proxy.db import models
from federation_proxy import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends

#: Clients, and refresh tokens of each.
CLIENTS = 40
PER_CLIENT = 500


def _seed(url):
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    start = datetime.datetime(2026, 1, 1)
    try:
        with engine.begin() as conn:
            conn.execute(models.RefreshToken.__table__.insert(), [
                {'token_hash': 'h-%02d-%04d' % (c, n),
                 'client_id': 'client-%02d' % c, 'user_id': 'u%04d' % n,
                 'scope': 'openid', 'revoked': n % 2 == 0,
                 'expires_at': start + datetime.timedelta(days=30),
                 'created_at': start + datetime.timedelta(minutes=n)}
                for c in range(CLIENTS) for n in range(PER_CLIENT)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _Plans(backends.Seeded):

    seed = staticmethod(_seed)

    def _check(self, statement):
        plan = self.plan(statement)
        why = '%s\n%s' % (statement, plan)
        self.assertIn('ix_refresh_tokens_client_id', plan, why)
        for bad in self.UNWANTED:
            self.assertNotIn(bad, plan, why)

    def test_deleting_a_clients_tokens_reads_them_by_index(self):
        table = models.RefreshToken
        self._check(sa.delete(table).where(
            table.client_id == 'client-07'))

    def test_finding_a_clients_recent_tokens_reads_them_by_index(self):
        # The access tokens to revoke: those of the tokens made in the
        # last access-token lifetime (or before migration 0013).
        table = models.RefreshToken
        since = datetime.datetime(2026, 1, 1, 8)
        self._check(sa.select(table.token_hash).where(
            table.client_id == 'client-07',
            sa.or_(table.created_at.is_(None), table.created_at > since)))


class TestPlansOnSQLite(backends.OnSQLite, _Plans, testtools.TestCase):
    UNWANTED = ('SCAN refresh_tokens',)


class TestPlansOnPostgreSQL(backends.OnPostgreSQL, _Plans,
                            testtools.TestCase):
    # (The filter on created_at reads the client's rows only.)
    UNWANTED = ('Seq Scan',)
