"""Migration 0007 (the build token, the start of the first build and the
user the promoter builds as) on a database holding requests in every
state, one left ``building`` by the previous release among them: none
has a token, so none owns a server until it is built again (see
test_promoter_upgrade)."""

import datetime

import sqlalchemy as sa
import testtools

from reaper_svc import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends

STATES = ('queued', 'building', 'active', 'failed', 'expired', 'cancelled')


class _Upgrade(object):

    def _row(self, columns, index, state):
        """A request of the previous release: what 0006 requires."""
        at = datetime.datetime(2026, 11, 1, 12)
        values = {'id': 'r%d' % index, 'state': state}
        for column in columns:
            name = column['name']
            if name in values:
                continue
            if name.endswith('_at'):
                values[name] = at
            elif not column['nullable']:
                kind = str(column['type']).upper()
                if 'BOOL' in kind:
                    values[name] = False
                elif 'INT' in kind:
                    values[name] = 0
                elif name in ('servers', 'server_ids'):
                    values[name] = '[]'
                else:
                    values[name] = 'x'
        return values

    def test_requests_of_every_state_upgrade_without_a_token(self):
        url = self.database_url()
        migration.upgrade(service.SPEC, url, '0006')
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        columns = sa.inspect(engine).get_columns('pending_requests')
        with engine.begin() as conn:
            for index, state in enumerate(STATES):
                values = self._row(columns, index, state)
                conn.execute(sa.text(
                    'INSERT INTO pending_requests (%s) VALUES (%s)' % (
                        ', '.join(values),
                        ', '.join(':' + k for k in values))), values)
        migration.upgrade(service.SPEC, url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                'SELECT state, build_token, build_started_at, build_user_id '
                'FROM pending_requests ORDER BY id')).all()
        self.assertEqual([(state, None, None, None) for state in STATES],
                         [tuple(row) for row in rows])


class TestUpgradeOnSQLite(backends.OnSQLite, _Upgrade, testtools.TestCase):
    pass


class TestUpgradeOnPostgreSQL(backends.OnPostgreSQL, _Upgrade,
                              testtools.TestCase):
    pass
