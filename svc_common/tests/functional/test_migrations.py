"""Every service's alembic history, walked on SQLite and on PostgreSQL.

For each service: upgrade revision by revision to head, check that the
migrated schema matches the SQLAlchemy models exactly, then walk back down
to an empty database and up again.
"""

import alembic.autogenerate
import alembic.migration
import sqlalchemy

from svc_common.db import migration
from svc_common.tests.fixtures import backends


class _MigrationWalk(object):

    SPEC = None

    def database_url(self):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.url = self.database_url()

    def _schema_diff(self):
        models = self.SPEC.module('db.models')
        engine = sqlalchemy.create_engine(self.url)
        try:
            with engine.connect() as conn:
                ctx = alembic.migration.MigrationContext.configure(conn)
                diff = alembic.autogenerate.compare_metadata(
                    ctx, models.Base.metadata)
        finally:
            engine.dispose()
        version_table = migration.alembic_config(
            self.SPEC, self.url).attributes['version_table']
        return [d for d in diff
                if not (d[0] == 'remove_table' and
                        d[1].name == version_table)]

    def test_walk_up_matches_models_and_walks_down(self):
        revisions = migration.revisions(self.SPEC)
        self.assertEqual(migration.head_revision(self.SPEC), revisions[-1])
        self.assertIsNone(migration.current_revision(self.SPEC, self.url))
        for rev in revisions:
            migration.upgrade(self.SPEC, self.url, rev)
            self.assertEqual(rev,
                             migration.current_revision(self.SPEC, self.url))
        self.assertEqual([], self._schema_diff())
        migration.downgrade(self.SPEC, self.url, 'base')
        self.assertIsNone(migration.current_revision(self.SPEC, self.url))
        migration.upgrade(self.SPEC, self.url)
        self.assertEqual([], self._schema_diff())

    def test_sync_twice_is_harmless(self):
        migration.upgrade(self.SPEC, self.url)
        migration.upgrade(self.SPEC, self.url)
        self.assertEqual(migration.head_revision(self.SPEC),
                         migration.current_revision(self.SPEC, self.url))


backends.add_cases(globals(), 'Test{service}Migrations{backend}',
                   _MigrationWalk)
