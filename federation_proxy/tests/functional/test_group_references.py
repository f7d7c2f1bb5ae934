"""Every column that refers to a group is indexed.

Deleting a group, or a VO with all its groups, makes the database check
that nothing refers to each group deleted any more: memberships,
requests, invitations and subgroups.  Without an index on the referring
column each check reads that whole table, once per group (a VO of 100,000
members and 5,000 groups spent 5 s in those checks on PostgreSQL).  The
schema the migrations build is read on SQLite and PostgreSQL.
"""

import sqlalchemy as sa
import testtools

from federation_proxy import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends


class _References(object):

    def test_every_reference_to_a_group_is_indexed(self):
        url = self.database_url()
        migration.upgrade(service.SPEC, url)
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        inspector = sa.inspect(engine)
        references = []
        unindexed = []
        for table in inspector.get_table_names():
            leading = {tuple(index['column_names'][:1])
                       for index in inspector.get_indexes(table)}
            leading.update(
                tuple(unique['column_names'][:1])
                for unique in inspector.get_unique_constraints(table))
            for key in inspector.get_foreign_keys(table):
                if key['referred_table'] != 'groups':
                    continue
                column = tuple(key['constrained_columns'])
                references.append((table, column))
                if column not in leading:
                    unindexed.append((table, column))
        self.assertEqual(4, len(references), references)
        self.assertEqual([], unindexed)


class TestReferencesOnSQLite(backends.OnSQLite, _References,
                             testtools.TestCase):
    pass


class TestReferencesOnPostgreSQL(backends.OnPostgreSQL, _References,
                                 testtools.TestCase):
    pass
