"""Migration 0008 (``submission_seq``) on SQLite and PostgreSQL: the
requests of the previous release are numbered in the order the promoter
served them, by ``(created_at, id)``, and a request submitted after the
upgrade comes after all of them."""

import datetime

import sqlalchemy as sa
import testtools

from reaper_svc.db import pending as pending_db
from reaper_svc import service
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends

AT = datetime.datetime(2026, 11, 1, 12)
#: (id, created_at) of the previous release's requests, in no order.
ROWS = [('c', AT), ('a', AT + datetime.timedelta(seconds=1)), ('b', AT),
        ('d', AT - datetime.timedelta(days=1)),
        # Code point order, as the fair order compares ids: '-' < 'B' <
        # 'a', which a linguistic collation sorts otherwise.
        ('a-x', AT - datetime.timedelta(hours=1)),
        ('B', AT - datetime.timedelta(hours=1)),
        ('ax', AT - datetime.timedelta(hours=1))]


class _Upgrade(object):

    def test_existing_requests_keep_their_order(self):
        url = self.database_url()
        migration.upgrade(service.SPEC, url, '0007')
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            for request_id, created_at in ROWS:
                conn.execute(sa.text(
                    "INSERT INTO pending_requests (id, project_id, servers, "
                    "count, all_or_nothing, state, interruptions, "
                    "created_at, updated_at) VALUES (:id, 'p', '[]', 1, "
                    ":aon, 'queued', 0, :at, :at)"),
                    {'id': request_id, 'at': created_at, 'aon': True})
        migration.upgrade(service.SPEC, url)
        with engine.connect() as conn:
            numbered = conn.execute(sa.text(
                'SELECT id FROM pending_requests '
                'ORDER BY submission_seq')).scalars().all()
        self.assertEqual(['d', 'B', 'a-x', 'ax', 'b', 'c', 'a'], numbered)

        db = backends.database_at(self, url)
        ctx = context.admin_context()
        new = pending_db.create_request(
            db, ctx, 'p', 'u', [{'name': 'n', 'flavor': 'f', 'count': 1}],
            all_or_nothing=True)
        with engine.connect() as conn:
            last = conn.execute(sa.text(
                'SELECT id FROM pending_requests ORDER BY submission_seq '
                'DESC')).scalars().first()
        self.assertEqual(new['id'], last)


class TestUpgradeOnSQLite(backends.OnSQLite, _Upgrade, testtools.TestCase):
    pass


class TestUpgradeOnPostgreSQL(backends.OnPostgreSQL, _Upgrade,
                              testtools.TestCase):

    def test_the_previous_release_still_submits(self):
        """An API of the previous release, still running after the sync,
        inserts requests without a submission_seq: they are numbered
        after the others (they were refused, NOT NULL)."""
        url = self.database_url()
        migration.upgrade(service.SPEC, url)
        db = backends.database_at(self, url)
        first = pending_db.create_request(
            db, context.admin_context(), 'p', 'u',
            [{'name': 'n', 'flavor': 'f', 'count': 1}], all_or_nothing=True)
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO pending_requests (id, project_id, servers, "
                "count, all_or_nothing, state, interruptions, created_at, "
                "updated_at) VALUES ('old', 'p', '[]', 1, true, 'queued', "
                "0, now(), now())"))
        with engine.connect() as conn:
            numbered = conn.execute(sa.text(
                'SELECT id FROM pending_requests '
                'ORDER BY submission_seq')).scalars().all()
        self.assertEqual([first['id'], 'old'], numbered)
