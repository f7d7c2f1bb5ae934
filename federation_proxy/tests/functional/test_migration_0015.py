"""Migration 0015 (the manager on whose authority an invitation was made)
on a database that holds invitations made before it, which do not say
whether a manager or an operator made them."""

import datetime

import sqlalchemy as sa
import testtools

from federation_proxy import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends


class _Upgrade(object):

    def test_pending_invitations_of_current_managers_become_theirs(self):
        url = self.database_url()
        migration.upgrade(service.SPEC, url, '0014')
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        later = datetime.datetime.utcnow() + datetime.timedelta(days=7)
        earlier = datetime.datetime.utcnow() - datetime.timedelta(days=1)
        with engine.begin() as conn:
            for user_id in ('bob', 'dan', 'erin'):
                conn.execute(sa.text(
                    "INSERT INTO users (id) VALUES (:id)"), {'id': user_id})
            conn.execute(sa.text(
                "INSERT INTO vos (id, name) VALUES ('vo-1', 'vo-1')"))
            conn.execute(sa.text(
                "INSERT INTO groups (id, vo_id, path) "
                "VALUES ('g-1', 'vo-1', 'vo-1')"))
            # bob manages vo-1; dan's manager role is suspended, erin's
            # expired; 'admin' (an operator) holds none.
            for m_id, user_id, status, expires in (
                    ('m-bob', 'bob', 'active', None),
                    ('m-dan', 'dan', 'suspended', None),
                    ('m-erin', 'erin', 'active', earlier)):
                conn.execute(sa.text(
                    "INSERT INTO memberships (id, vo_id, group_id, "
                    "user_id, role, status, expires_at) VALUES (:id, "
                    "'vo-1', 'g-1', :user, 'manager', :status, :exp)"),
                    {'id': m_id, 'user': user_id, 'status': status,
                     'exp': expires})
            for i_id, creator, status in (
                    ('i-bob', 'bob', 'pending'),
                    ('i-bob-used', 'bob', 'accepted'),
                    ('i-dan', 'dan', 'pending'),
                    ('i-erin', 'erin', 'pending'),
                    ('i-admin', 'admin', 'pending')):
                conn.execute(sa.text(
                    "INSERT INTO invitations (id, vo_id, group_id, role, "
                    "email, token_hash, status, expires_at, created_by) "
                    "VALUES (:id, 'vo-1', 'g-1', 'member', "
                    "'x@example.org', :id, :status, :exp, :creator)"),
                    {'id': i_id, 'status': status, 'exp': later,
                     'creator': creator})
        migration.upgrade(service.SPEC, url)
        with engine.connect() as conn:
            found = dict(conn.execute(sa.text(
                'SELECT id, inviting_manager FROM invitations')).all())
        self.assertEqual({'i-bob': 'bob', 'i-bob-used': None,
                          'i-dan': None, 'i-erin': None,
                          'i-admin': None}, found)


class TestUpgradeOnSQLite(backends.OnSQLite, _Upgrade, testtools.TestCase):
    pass


class TestUpgradeOnPostgreSQL(backends.OnPostgreSQL, _Upgrade,
                              testtools.TestCase):
    pass
