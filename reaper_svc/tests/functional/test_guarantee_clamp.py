"""A guarantee at ``[preemption] max_guaranteed_runtime`` lasts that long
after its end was last set.

The promoter records a guarantee as soon as Nova has the servers, and
moves its end once they are built (or, for a build the recovery settles,
from the recovery's pass).  The limit counted from the first record: a
guarantee at the limit was cut by the build's duration, and by more than
``build_timeout`` on the recovery's path.
"""

import datetime

from reaper_svc.db import clock
from reaper_svc.db import guarantees as guarantees_db
from reaper_svc.db import models
from reaper_svc.tests.functional import test_promoter as tp

LIMIT = 3600


class TestClampFromTheLastRecord(tp.PromoterTestBase):

    def recorded_before(self, server_id, seconds):
        """Make the record of ``server_id`` ``seconds`` older, as if
        the build had lasted that long since."""
        with self.engine.db.writer.using(self.ctx) as session:
            row = session.get(models.ServerGuarantee, server_id)
            row.created_at -= datetime.timedelta(seconds=seconds)
            row.guaranteed_until -= datetime.timedelta(seconds=seconds)

    def test_the_end_moved_after_the_build_is_kept_whole(self):
        db, ctx = self.engine.db, self.ctx
        start = clock.database_now(db, ctx)
        # As soon as Nova has the server.
        guarantees_db.record(db, ctx, ['s1'], start + datetime.timedelta(
            seconds=LIMIT), 'r1')
        # The build lasted ten minutes.
        self.recorded_before('s1', 600)
        # Built: the guarantee runs from now.
        end = clock.database_now(db, ctx)
        promised = end + datetime.timedelta(seconds=LIMIT)
        guarantees_db.record(db, ctx, ['s1'], promised, 'r1')
        self.assertEqual(promised, guarantees_db.current(
            db, ctx, longest=LIMIT)['s1'])

    def test_a_lowered_limit_still_shortens_it(self):
        db, ctx = self.engine.db, self.ctx
        start = clock.database_now(db, ctx)
        guarantees_db.record(db, ctx, ['s1'], start + datetime.timedelta(
            seconds=LIMIT), 'r1')
        self.assertEqual(
            start + datetime.timedelta(seconds=LIMIT), guarantees_db.current(
                db, ctx, longest=LIMIT)['s1'])
        got = guarantees_db.current(db, ctx, longest=LIMIT // 2)['s1']
        self.assertLessEqual(got, start + datetime.timedelta(
            seconds=LIMIT // 2 + 60))
        self.assertLess(got, start + datetime.timedelta(seconds=LIMIT))

    def test_an_earlier_end_moves_nothing(self):
        db, ctx = self.engine.db, self.ctx
        start = clock.database_now(db, ctx)
        guarantees_db.record(db, ctx, ['s1'], start + datetime.timedelta(
            seconds=LIMIT), 'r1')
        self.recorded_before('s1', 600)
        first = guarantees_db.current(db, ctx, longest=LIMIT)['s1']
        guarantees_db.record(db, ctx, ['s1'], start, 'r1')
        self.assertEqual(first, guarantees_db.current(
            db, ctx, longest=LIMIT)['s1'])
