"""Requests queued within one tick of the database's clock are served in
the order they were submitted, on SQLite and on PostgreSQL.

Between equal shares the promoter served the oldest request first by
``created_at``, then by id: requests submitted within one tick of the
database's clock (a millisecond on SQLite) were served in the order of
their random ids.  Each request now takes the next number of a sequence
when it is inserted (``submission_seq``, migration 0008), which breaks
those ties.
"""

import datetime
import uuid

import fixtures

from reaper_svc.db import clock
from reaper_svc.db import pending as pending_db
from reaper_svc.tests.functional import test_promoter as tp
from svc_common.tests.fixtures import postgresql

TICK = datetime.datetime(2030, 1, 1, 11, 0, 0)


class _SubmissionOrder(object):

    def setUp(self):
        super().setUp()
        # Room for the four requests, one server each, in one pass.
        self.use_cloud([], promoter_preempts=False)

    def submit_in_one_tick(self, count):
        """``count`` requests of one project submitted one after the
        other within one tick of the database's clock, their random ids
        in the reverse order of their submission."""
        ids = iter(sorted((uuid.uuid4() for _ in range(count)),
                          key=str, reverse=True))
        with fixtures.MockPatchObject(pending_db.uuid, 'uuid4',
                                      lambda: next(ids)), \
                fixtures.MockPatchObject(clock, 'session_now',
                                         lambda session: TICK):
            return [self.queue(count=1)['id'] for _ in range(count)]

    def test_one_tick_is_served_in_submission_order(self):
        submitted = self.submit_in_one_tick(4)
        self.assertEqual(submitted, [r['id'] for r in pending_db.queued(
            self.engine.db, self.ctx)])
        self.assertEqual(submitted, self.promoter.promote()['built'])

    def test_a_request_queued_again_keeps_its_place_in_the_tick(self):
        submitted = self.submit_in_one_tick(3)
        first = {'id': submitted[0]}
        self.assertTrue(pending_db.transition(
            self.engine.db, self.ctx, first['id'], pending_db.QUEUED,
            pending_db.BUILDING))
        self.assertTrue(pending_db.transition(
            self.engine.db, self.ctx, first['id'], pending_db.BUILDING,
            pending_db.QUEUED))
        self.assertEqual(submitted, self.promoter.promote()['built'])


class TestSubmissionOrderOnSQLite(_SubmissionOrder, tp.PromoterTestBase):
    pass


class TestSubmissionOrderOnPostgreSQL(_SubmissionOrder, tp.PromoterTestBase):

    def database_url(self):
        return self.useFixture(postgresql.Database()).url
