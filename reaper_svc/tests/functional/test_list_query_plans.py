"""A page of actions or pending requests filtered by state or project
reads that page, not the table.

``GET /v1/actions?state=noticed`` and ``GET /v1/pending?state=queued``
(an operator looking for what is still going on among months of
history) and a project's ``GET /v1/pending`` are sorted and paged by id.
With an index on the state or project alone, SQLite walked the whole
table in id order to find the few rows of a rare state (26 ms a page at
100,000 actions, growing with the table); with (state, id) and
(project_id, id) each page is one range of an index, from the marker on
(migration 0005).  The pages must still answer what they should.
"""

import datetime

import sqlalchemy as sa
import testtools

from reaper_svc.db import actions
from reaper_svc.db import models
from reaper_svc.db import pending
from reaper_svc import service
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends

ROWS = 20000
PROJECTS = 200
NOW = datetime.datetime(2026, 1, 1)


def _rare(n):
    """One row in a thousand is still under way."""
    return n % 1000 == 7


def _seed(url):
    migration.upgrade(service.SPEC, url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(models.Action.__table__.insert(), [
                {'id': 'act-%06d' % n,
                 'state': 'noticed' if _rare(n) else 'done',
                 'trigger': 'novalidhost', 'trigger_id': 'boot-%d' % n,
                 'project_id': 'proj-%03d' % (n % PROJECTS),
                 'strategy': 'best_fit', 'request': {}, 'wasted': 0.0,
                 'created_at': NOW, 'updated_at': NOW}
                for n in range(ROWS)])
            conn.execute(models.PendingRequest.__table__.insert(), [
                {'id': 'req-%06d' % n,
                 'project_id': 'proj-%03d' % (n % PROJECTS),
                 'user_id': 'user', 'servers': [], 'count': 1,
                 'all_or_nothing': True,
                 'state': 'queued' if _rare(n) else 'active',
                 'submission_seq': n,
                 # Every request built has a token; one in a thousand
                 # had interrupted builds, still looked for.
                 'build_token': None if _rare(n) else 'token',
                 'interruptions': 1 if n % 1000 == 3 else 0,
                 'created_at': NOW, 'updated_at': NOW}
                for n in range(ROWS)])
        backends.analyze(engine)
    finally:
        engine.dispose()


class _Lists(backends.Seeded):

    seed = staticmethod(_seed)

    def test_pages_answer_their_rows(self):
        db = backends.database_at(self, self.url)
        ctx = context.admin_context()
        listed = actions.list_actions(db, ctx, 3, state='noticed')
        self.assertEqual(['act-000007', 'act-001007', 'act-002007'],
                         [a['id'] for a in listed])
        listed = actions.list_actions(db, ctx, 3, state='noticed',
                                      marker='act-002007')
        self.assertEqual(['act-003007', 'act-004007', 'act-005007'],
                         [a['id'] for a in listed])
        listed = pending.list_requests(db, ctx, 2, state='queued',
                                       marker='req-010000')
        self.assertEqual(['req-010007', 'req-011007'],
                         [r['id'] for r in listed])
        listed = pending.list_requests(db, ctx, 2, project_id='proj-007',
                                       marker='req-000007')
        self.assertEqual(['req-000207', 'req-000407'],
                         [r['id'] for r in listed])

    def test_the_swept_requests_are_read_from_their_index(self):
        """The promoter's pass reads the requests whose interrupted
        builds it still looks for, a handful among every request ever
        built, from the partial index of them (migration 0008)."""
        db = backends.database_at(self, self.url)
        swept = pending.swept_after_interruptions(
            db, context.admin_context())
        self.assertEqual(['req-%06d' % n for n in range(3, ROWS, 1000)],
                         sorted(r['id'] for r in swept))
        plan = self.plan(pending.swept_query())
        self.assertIn('ix_pending_requests_swept', plan)

    def queries(self):
        return {
            'actions by state': actions.list_query(100, state='noticed'),
            'actions by state after a marker': actions.list_query(
                100, state='noticed', marker='act-010000'),
            'pending by state': pending.list_query(100, state='queued'),
            'pending by state after a marker': pending.list_query(
                100, state='queued', marker='req-010000'),
            'pending of a project': pending.list_query(
                100, project_id='proj-007'),
            'pending of a project after a marker': pending.list_query(
                100, project_id='proj-007', marker='req-010000'),
        }


class TestListsOnSQLite(backends.OnSQLite, _Lists, testtools.TestCase):

    def test_pages_are_ranges_of_an_index(self):
        for what, query in self.queries().items():
            plan = self.plan(query)
            # SEARCH ... USING INDEX (column=? [AND id>?]); neither a
            # SCAN of the table (or its primary key) nor a sort.
            self.assertIn('SEARCH', plan, what)
            self.assertNotIn('SCAN', plan, '%s: %s' % (what, plan))
            self.assertNotIn('TEMP B-TREE', plan, '%s: %s' % (what, plan))


class TestListsOnPostgreSQL(backends.OnPostgreSQL, _Lists,
                            testtools.TestCase):

    def test_pages_are_ranges_of_an_index(self):
        for what, query in self.queries().items():
            plan = self.plan(query)
            self.assertIn('Index Scan', plan, '%s: %s' % (what, plan))
            # No row read and thrown away.
            self.assertNotIn('Rows Removed by Filter', plan,
                             '%s: %s' % (what, plan))
            self.assertNotIn('Seq Scan', plan, '%s: %s' % (what, plan))
            if 'state' in what:
                # A state's rows are not all read to be sorted: the index
                # gives them in id order.  (For a project of a page's
                # worth of rows PostgreSQL may read them all and sort
                # them: that costs the page.)
                self.assertNotIn('Sort', plan, '%s: %s' % (what, plan))
