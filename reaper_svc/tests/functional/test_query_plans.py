"""A project's page of actions costs what the page holds.

Every project member's ``GET /v1/actions`` is filtered on their project:
the actions it triggered and those that stopped one of its servers.  On
a database of many actions with statistics (``ANALYZE``), the plan of that
list must find them through the two project indexes, not walk the actions
in id order testing each one (which costs the whole table for a project
with few actions); and the list must still answer what it should.
"""

import datetime

import sqlalchemy as sa
import testtools

from reaper_svc.db import actions
from reaper_svc.db import models
from reaper_svc import service
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends

ACTIONS = 20000
PROJECTS = 200
NOW = datetime.datetime(2026, 1, 1)


def _seed(url):
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(models.Action.__table__.insert(), [
                {'id': 'act-%06d' % n, 'state': 'done',
                 'trigger': 'novalidhost', 'trigger_id': 'boot-%d' % n,
                 'project_id': 'proj-%03d' % (n % PROJECTS),
                 'strategy': 'best_fit', 'request': {}, 'wasted': 0.0,
                 'created_at': NOW, 'updated_at': NOW}
                for n in range(ACTIONS)])
            # Each action stopped a server of the next project along.
            conn.execute(models.ActionVictim.__table__.insert(), [
                {'action_id': 'act-%06d' % n, 'server_id': 'vm-%06d' % n,
                 'host': 'host-1',
                 'project_id': 'proj-%03d' % ((n + 1) % PROJECTS),
                 'resources': {}, 'state': 'stopped'}
                for n in range(ACTIONS)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _Plans(backends.Seeded):

    seed = staticmethod(_seed)

    def test_a_project_page_answers_its_actions(self):
        db = backends.database_at(self, self.url)
        listed = actions.list_actions(db, context.admin_context(), 3,
                                      project_id='proj-007')
        # act-000006 stopped a server of proj-007, act-000007 was its own.
        self.assertEqual(['act-000006', 'act-000007', 'act-000206'],
                         [a['id'] for a in listed])
        self.assertEqual([], actions.list_actions(
            db, context.admin_context(), 3, project_id='nobody'))


class TestPlansOnSQLite(backends.OnSQLite, _Plans, testtools.TestCase):
    pass


class TestPlansOnPostgreSQL(backends.OnPostgreSQL, _Plans,
                            testtools.TestCase):

    def plan(self, project_id):
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        return backends.query_plan(
            engine, actions.list_query(100, project_id=project_id))

    def test_a_project_page_reads_through_the_project_indexes(self):
        for project_id in ('proj-007', 'nobody'):
            plan = self.plan(project_id)
            self.assertIn('ix_actions_project_id', plan)
            self.assertIn('ix_action_victims_project_id', plan)
            # No action read and thrown away (the walk in id order).
            self.assertNotIn('Rows Removed by Filter', plan)
            self.assertNotIn('Seq Scan on actions', plan)
