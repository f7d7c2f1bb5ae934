"""Migration 0004 (one action per trigger) on a database that already
holds several actions of one trigger, as the multi-create bug wrote them."""

import datetime

import sqlalchemy as sa
import testtools

from reaper_svc import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends


class _Upgrade(object):

    def _action(self, conn, action_id, trigger_id, minute):
        at = datetime.datetime(2026, 11, 1, 12, minute)
        conn.execute(sa.text(
            "INSERT INTO actions (id, state, trigger, trigger_id, "
            "project_id, strategy, request, wasted, created_at, updated_at) "
            "VALUES (:id, 'done', 'novalidhost', :trigger_id, 'p1', "
            "'best_fit', '{}', 0.0, :at, :at)"),
            {'id': action_id, 'trigger_id': trigger_id, 'at': at})
        conn.execute(sa.text(
            "INSERT INTO action_victims (action_id, server_id, host, "
            "resources, state) "
            "VALUES (:id, :server, 'h1', '{}', 'deleted')"),
            {'id': action_id, 'server': 'vm-' + action_id})

    def test_duplicates_kept_apart_and_index_built(self):
        url = self.database_url()
        migration.upgrade(service.SPEC, url, '0003')
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            # Three actions of one boot (written later first), one of
            # another boot, one with no trigger id.
            self._action(conn, 'a3', 'boot-1', 3)
            self._action(conn, 'a1', 'boot-1', 1)
            self._action(conn, 'a2', 'boot-1', 2)
            self._action(conn, 'b1', 'boot-2', 4)
            self._action(conn, 'c1', None, 5)
        migration.upgrade(service.SPEC, url)
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text(
                'SELECT id, trigger_id FROM actions')).all())
            victims = conn.execute(sa.text(
                'SELECT count(*) FROM action_victims')).scalar()
        # Nothing deleted; the earliest keeps the trigger id.
        self.assertEqual({'a1': 'boot-1', 'a2': 'boot-1#a2',
                          'a3': 'boot-1#a3', 'b1': 'boot-2', 'c1': None},
                         rows)
        self.assertEqual(5, victims)
        # The index now refuses a second action of boot-1.
        with engine.connect() as conn:
            self.assertRaises(sa.exc.IntegrityError, self._action, conn,
                              'a4', 'boot-1', 6)


class TestUpgradeOnSQLite(backends.OnSQLite, _Upgrade, testtools.TestCase):
    pass


class TestUpgradeOnPostgreSQL(backends.OnPostgreSQL, _Upgrade,
                              testtools.TestCase):
    pass
