"""A change in a family of many images builds no object per member.

Every transition, join or leave decides on all the members of the family,
under the family lock.  A family may hold tens of thousands of images:
the decision reads them as plain rows, and only the images that change
are read and written as ORM objects.  These tests count the FamilyImage
objects the ORM builds (its ``load`` event) during a change of a family
of 300 images, and check what the change leaves in the database, on
SQLite and PostgreSQL.
"""

import datetime

import sqlalchemy as sa
import testtools

from image_family_svc.db import families
from image_family_svc.db import members
from image_family_svc.db import models
from image_family_svc.db import reconcile
from image_family_svc.db import usage
from image_family_svc import service
from svc_common import context
from svc_common.tests.fixtures import backends

MEMBERS = 300
LONG_AGO = datetime.datetime(2025, 1, 1)
NEWEST = 'img-%05d' % (MEMBERS - 1)


class _BigFamily(object):

    def setUp(self):
        super().setUp()
        self.db = backends.migrated_database(self, service.SPEC)
        self.ctx = context.admin_context()
        with self.db.writer.connection.using(self.ctx) as conn:
            conn.execute(models.Family.__table__.insert(), [
                {'id': 'fam', 'name': 'big', 'visibility': 'public',
                 'properties_schema': {}, 'created_at': LONG_AGO,
                 'latest_id': NEWEST}])
            # Older versions deprecated in favour of the newest, active.
            conn.execute(models.FamilyImage.__table__.insert(), [
                {'image_id': 'img-%05d' % n, 'family_id': 'fam',
                 'version': '1.%d' % n,
                 'state': 'active' if n == MEMBERS - 1 else 'deprecated',
                 'successor_id': None if n == MEMBERS - 1 else NEWEST,
                 'properties': {},
                 'joined_at': LONG_AGO + datetime.timedelta(seconds=n),
                 'state_changed_at': LONG_AGO}
                for n in range(MEMBERS)])
        self.loaded = []
        sa.event.listen(models.FamilyImage, 'load', self.count_load)
        self.addCleanup(sa.event.remove, models.FamilyImage, 'load',
                        self.count_load)

    def count_load(self, target, context):
        self.loaded.append(target.image_id)

    def members(self):
        with self.db.reader.connection.using(self.ctx) as conn:
            return {row.image_id: (row.state, row.successor_id)
                    for row in conn.execute(sa.select(
                        models.FamilyImage.__table__))}

    def latest(self):
        return families.get_family(self.db, self.ctx, 'big').latest_id

    def test_the_beta_latest_reads_the_beta_members_and_the_latest(self):
        # Every member active (a family without retention keeps them
        # so): GET .../latest?channel=beta built an object for each of
        # them to find the newest; the newest active one is the
        # family's latest already.
        with self.db.writer.connection.using(self.ctx) as conn:
            conn.execute(models.FamilyImage.__table__.update().values(
                state='active', successor_id=None))
        family = families.get_family(self.db, self.ctx, 'big')
        del self.loaded[:]
        view = members.get_latest(self.db, self.ctx, family, 'beta')
        self.assertEqual(NEWEST, view.row.image_id)
        self.assertLessEqual(len(self.loaded), 1, self.loaded)
        members.join(self.db, self.ctx, 'big', 'old-beta', '0.1', {},
                     state='beta')
        members.join(self.db, self.ctx, 'big', 'new-beta', '2.0', {},
                     state='beta')
        del self.loaded[:]
        view = members.get_latest(self.db, self.ctx, family, 'beta')
        self.assertEqual('new-beta', view.row.image_id)
        self.assertLessEqual(len(self.loaded), 1, self.loaded)
        self.assertEqual(NEWEST, members.get_latest(
            self.db, self.ctx, family).row.image_id)

    def test_a_transition_reads_only_the_image_it_changes(self):
        members.join(self.db, self.ctx, 'big', 'new', '2.0', {},
                     state='testing')
        del self.loaded[:]
        members.request_transition(self.db, self.ctx, 'new', 'active')
        # The image itself (found, then read again under the lock), not
        # the 300 other members.
        self.assertLessEqual(len(self.loaded), 2, self.loaded)
        self.assertEqual({'new'}, set(self.loaded))
        self.assertEqual('new', self.latest())
        self.assertEqual(('active', None), self.members()['new'])

    def test_a_deprecation_names_the_newest_as_successor(self):
        members.join(self.db, self.ctx, 'big', 'new', '2.0', {},
                     state='testing')
        members.request_transition(self.db, self.ctx, 'new', 'active')
        del self.loaded[:]
        members.request_transition(self.db, self.ctx, NEWEST, 'deprecated')
        self.assertEqual({NEWEST}, set(self.loaded))
        self.assertEqual(('deprecated', 'new'), self.members()[NEWEST])
        self.assertEqual('new', self.latest())

    def test_leaving_clears_the_successor_of_those_naming_it(self):
        members.leave(self.db, self.ctx, 'big', NEWEST)
        after = self.members()
        self.assertNotIn(NEWEST, after)
        self.assertEqual({('deprecated', None)}, set(after.values()))
        self.assertIsNone(self.latest())

    def reads_of_members(self):
        """The statements that read a family's member list, from now."""
        reads = []

        def record(conn, cursor, statement, *args):
            if 'WHERE family_images.family_id =' in statement:
                reads.append(statement)

        engine = self.db.writer.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', record)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute',
                        record)
        return reads

    def test_a_server_count_reads_no_member_list(self):
        reads = self.reads_of_members()
        usage.server_created(self.db, self.ctx, 'vm-1', NEWEST)
        usage.server_deleted(self.db, self.ctx, 'vm-1')
        reconcile.set_servers(self.db, self.ctx, NEWEST, {'vm-2'},
                              families.now())
        self.assertEqual([], reads)
        self.assertEqual(1, usage.servers_of(self.db, self.ctx, NEWEST)[0])

    def test_the_last_server_of_a_pending_delete_image_deletes_it(self):
        with self.db.writer.connection.using(self.ctx) as conn:
            conn.execute(models.FamilyImage.__table__.update().where(
                models.FamilyImage.image_id.in_(['img-00010', 'img-00011'])
            ).values(state='pending_delete'))
        usage.server_created(self.db, self.ctx, 'vm-1', 'img-00010')
        usage.server_created(self.db, self.ctx, 'vm-2', 'img-00011')
        usage.server_deleted(self.db, self.ctx, 'vm-1')
        reconcile.set_servers(self.db, self.ctx, 'img-00011', set(),
                              families.now())
        after = self.members()
        self.assertEqual(('deleted', NEWEST), after['img-00010'])
        self.assertEqual(('deleted', NEWEST), after['img-00011'])

    def statements(self):
        """Every statement sent from now (by readers and writers)."""
        sent = []

        def record(conn, cursor, statement, *args):
            sent.append(statement)

        for engine in {self.db.writer.get_engine(),
                       self.db.reader.get_engine()}:
            sa.event.listen(engine, 'before_cursor_execute', record)
            self.addCleanup(sa.event.remove, engine,
                            'before_cursor_execute', record)
        return sent

    def keep(self, count):
        with self.db.writer.connection.using(self.ctx) as conn:
            conn.execute(models.Family.__table__.update().values(
                keep_superseded=count))

    def test_a_sweep_with_nothing_to_do_reads_no_counts_and_writes_nothing(
            self):
        self.keep(MEMBERS)
        sent = self.statements()
        self.assertEqual([], members.sweep(self.db, self.ctx))
        self.assertEqual([], [s for s in sent if 'image_usage' in s])
        self.assertEqual([], [s for s in sent if s.split(None, 1)[0] in (
            'INSERT', 'UPDATE', 'DELETE')])

    def test_a_sweep_applies_retention(self):
        self.keep(2)
        events = members.sweep(self.db, self.ctx)
        states = [state for state, _ in self.members().values()]
        self.assertEqual(MEMBERS - 3, len(events))
        self.assertEqual(2, states.count('deprecated'))
        self.assertEqual(MEMBERS - 3, states.count('obsolete'))
        self.assertEqual([], members.sweep(self.db, self.ctx))


class TestBigFamilyOnSQLite(backends.OnSQLite, _BigFamily,
                            testtools.TestCase):
    pass


class TestBigFamilyOnPostgreSQL(backends.OnPostgreSQL, _BigFamily,
                                testtools.TestCase):
    pass
