"""Migration 0008 (one pending request per person and VO) on a database
that already holds several pending requests of one person to one VO, as
the API let them in before."""

import datetime
import json

import sqlalchemy as sa
import testtools

from federation_proxy import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends


class _Upgrade(object):

    def _request(self, conn, request_id, user_id, minute, vo_id='vo-1',
                 status='pending'):
        conn.execute(sa.text(
            "INSERT INTO requests (id, vo_id, group_id, user_id, role, "
            "status, created_at) VALUES (:id, :vo, :group, :user, "
            "'member', :status, :at)"),
            {'id': request_id, 'vo': vo_id, 'group': 'g-' + vo_id,
             'user': user_id, 'status': status,
             'at': datetime.datetime(2026, 11, 1, 12, minute)})

    def test_later_duplicates_rejected_and_index_built(self):
        url = self.database_url()
        migration.upgrade(service.SPEC, url, '0007')
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            for user_id in ('bob', 'carol'):
                conn.execute(sa.text(
                    "INSERT INTO users (id) VALUES (:id)"), {'id': user_id})
            for vo_id in ('vo-1', 'vo-2'):
                conn.execute(sa.text(
                    "INSERT INTO vos (id, name) VALUES (:id, :id)"),
                    {'id': vo_id})
                conn.execute(sa.text(
                    "INSERT INTO groups (id, vo_id, path) "
                    "VALUES (:g, :id, :id)"), {'g': 'g-' + vo_id,
                                               'id': vo_id})
            # Bob asked three times (written later first), and once was
            # rejected; Carol once; Bob once to another VO.
            self._request(conn, 'b3', 'bob', 3)
            self._request(conn, 'b1', 'bob', 1)
            self._request(conn, 'b2', 'bob', 2)
            self._request(conn, 'b0', 'bob', 0, status='rejected')
            self._request(conn, 'c1', 'carol', 4)
            self._request(conn, 'o1', 'bob', 5, vo_id='vo-2')
        migration.upgrade(service.SPEC, url)
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text(
                'SELECT id, status FROM requests')).all())
            trail = conn.execute(sa.text(
                "SELECT object_id, action, vo_id, detail FROM audit "
                "ORDER BY object_id")).all()
        self.assertEqual({'b0': 'rejected', 'b1': 'pending',
                          'b2': 'rejected', 'b3': 'rejected',
                          'c1': 'pending', 'o1': 'pending'}, rows)
        self.assertEqual(
            [('b2', 'rejected', 'vo-1'), ('b3', 'rejected', 'vo-1')],
            [tuple(r[:3]) for r in trail])
        self.assertEqual({'reason': 'duplicate pending request',
                          'kept': 'b1'}, json.loads(trail[0].detail))
        # The index now refuses a second pending request of Bob to vo-1,
        # and takes one more decided one.
        with engine.connect() as conn:
            self._request(conn, 'b4', 'bob', 6, status='approved')
            self.assertRaises(sa.exc.IntegrityError, self._request, conn,
                              'b5', 'bob', 7)


class TestUpgradeOnSQLite(backends.OnSQLite, _Upgrade, testtools.TestCase):
    pass


class TestUpgradeOnPostgreSQL(backends.OnPostgreSQL, _Upgrade,
                              testtools.TestCase):
    pass
