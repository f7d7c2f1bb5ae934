"""Migration 0012 (a server recorded for each image it uses) on a
database that holds servers' rows and counts of the release before:
they become the rows of the images the servers run from, the counts
stay, and the notifications and the reconciliation go on from them.
Downgrading keeps one row per server."""

import datetime
import threading
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
import testtools

from image_family_svc.db import families
from image_family_svc.db import members
from image_family_svc.db import reconcile
from image_family_svc.db import usage
from image_family_svc import lifecycle as lc
from image_family_svc import service
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends

T0 = datetime.datetime(2030, 1, 1, 12, 0, 0)


class _Seeded(object):
    """A database at 0011 with rows and counts of the release before."""

    def setUp(self):
        super().setUp()
        self.url = self.database_url()
        self.ctx = context.admin_context()
        migration.upgrade(service.SPEC, self.url, '0011')
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)
        db = backends.database_at(self, self.url)
        families.create_family(db, self.ctx, 'fam', None, 'public', {})
        for image in ('img-1', 'img-2'):
            members.join(db, self.ctx, 'fam', image, image[-1], {},
                         state=lc.ACTIVE)
        db.dispose()
        # The rows of the release before: one per server.
        with self.engine.begin() as conn:
            for server, image, event_at in (('vm-1', 'img-1', T0),
                                            ('vm-2', 'img-1', None),
                                            ('vm-3', 'img-2', None)):
                conn.execute(sa.text(
                    'INSERT INTO image_servers (server_id, image_id, '
                    'created_at, event_at) VALUES (:s, :i, :c, :e)'),
                    {'s': server, 'i': image, 'c': T0, 'e': event_at})
            for image, servers in (('img-1', 2), ('img-2', 1)):
                conn.execute(sa.text(
                    'INSERT INTO image_usage (image_id, servers, '
                    'updated_at) VALUES (:i, :n, :u)'),
                    {'i': image, 'n': servers, 'u': T0})

    def rows(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT server_id, image_id, source, event_at IS NOT NULL '
                'FROM image_servers ORDER BY server_id, image_id')).all()


class _Upgrade(_Seeded):

    def test_rows_become_those_of_the_images_servers_run_from(self):
        migration.upgrade(service.SPEC, self.url)
        self.assertEqual([('vm-1', 'img-1', 'nova', True),
                          ('vm-2', 'img-1', 'nova', False),
                          ('vm-3', 'img-2', 'nova', False)], self.rows())
        db = backends.database_at(self, self.url)
        self.assertEqual((2, 1), (usage.servers_of(db, self.ctx, 'img-1')[0],
                                  usage.servers_of(db, self.ctx, 'img-2')[0]))
        # A stale rebuild is still told by the row's time...
        usage.server_rebuilt(db, self.ctx, 'vm-1', 'img-2',
                             sent_at=T0 - datetime.timedelta(seconds=1))
        self.assertEqual(2, usage.servers_of(db, self.ctx, 'img-1')[0])
        # ... and a server runs from one image.
        with testtools.ExpectedException(sa_exc.IntegrityError):
            with self.engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO image_servers (server_id, image_id, "
                    "source, created_at) VALUES ('vm-1', 'img-2', 'nova', "
                    ":c)"), {'c': T0})
        # vm-3 also holds a volume made from img-1, and one from img-2:
        # counted once for each.
        reconcile.set_servers(db, self.ctx, 'img-1', {'vm-1', 'vm-2'},
                              T0, from_volumes={'vm-3'})
        reconcile.set_servers(db, self.ctx, 'img-2', {'vm-3'}, T0,
                              from_volumes={'vm-3'})
        self.assertEqual((3, 1), (usage.servers_of(db, self.ctx, 'img-1')[0],
                                  usage.servers_of(db, self.ctx, 'img-2')[0]))
        db.dispose()
        # Downgraded: one row per server, the image it runs from first.
        migration.downgrade(service.SPEC, self.url, '0011')
        with self.engine.connect() as conn:
            self.assertEqual([('vm-1', 'img-1'), ('vm-2', 'img-1'),
                              ('vm-3', 'img-2')], conn.execute(sa.text(
                                  'SELECT server_id, image_id FROM '
                                  'image_servers ORDER BY server_id')).all())

    def test_downgrade_keeps_the_first_image_of_volumes(self):
        migration.upgrade(service.SPEC, self.url)
        db = backends.database_at(self, self.url)
        # vm-4 boots from volumes made from img-1 and img-2.
        for image in ('img-2', 'img-1'):
            reconcile.set_servers(db, self.ctx, image, set(), T0,
                                  from_volumes={'vm-4'})
        db.dispose()
        migration.downgrade(service.SPEC, self.url, '0011')
        with self.engine.connect() as conn:
            self.assertEqual([('vm-4', 'img-1')], conn.execute(sa.text(
                "SELECT server_id, image_id FROM image_servers WHERE "
                "server_id = 'vm-4'")).all())


class TestUpgradeOnSQLite(backends.OnSQLite, _Upgrade, testtools.TestCase):
    pass


class TestUpgradeOnPostgreSQL(backends.OnPostgreSQL, _Upgrade,
                              testtools.TestCase):
    pass


class TestUpgradeRacingOnPostgreSQL(backends.OnPostgreSQL, _Seeded,
                                    testtools.TestCase):
    """An engine of the release before still writes while the schema is
    upgraded (review of 5850e6a)."""

    def _waiting_on_the_table(self, conn):
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND "
            "relation = 'image_servers'::regclass")).scalar()

    def test_a_row_written_during_the_upgrade_is_kept(self):
        writer = self.engine.connect()
        self.addCleanup(writer.close)
        transaction = writer.begin()
        writer.execute(sa.text(
            "INSERT INTO image_servers (server_id, image_id, created_at) "
            "VALUES ('vm-9', 'img-2', :c)"), {'c': T0})
        failures = []

        def upgrade():
            try:
                migration.upgrade(service.SPEC, self.url)
            except Exception as exc:  # reported below
                failures.append(exc)

        thread = threading.Thread(target=upgrade, daemon=True)
        thread.start()
        with self.engine.connect() as conn:
            for _ in range(600):
                if self._waiting_on_the_table(conn) or not thread.is_alive():
                    break
                time.sleep(0.1)
            self.assertTrue(self._waiting_on_the_table(conn),
                            'the upgrade never waited for the writer')
        transaction.commit()
        thread.join(120)
        self.assertFalse(thread.is_alive())
        self.assertEqual([], failures)
        # vm-9's row is among those of the new table: it counts for
        # img-2.
        self.assertIn(('vm-9', 'img-2', 'nova', False), self.rows())
