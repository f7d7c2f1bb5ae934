"""A PUT that waits for its consumer's lock reads what the holder wrote.

On PostgreSQL a PUT sends its locks and its first read in one round trip
(:class:`limits_svc.db.tree.LockedRead`).  The read must still see what
the previous holder of the consumer's lock committed while the PUT
waited: a read on a snapshot older than the lock would miss the
consumer's allocation, count the PUT as a new consumer and leave the
counters of the project it came from with usage no allocation explains.
"""

import threading
import time

import sqlalchemy as sa

from limits_svc.db import models
from limits_svc.tests.functional import base
from svc_common.tests.fixtures import postgresql

_ALLOCATION = models.Allocation.__table__
_USAGE = models.Usage.__table__

# tree.lock_for_ledger's lock classes: consumers, and the tree.
_CONSUMER_LOCK_CLASS = 0x4c494d
_TREE_LOCK_CLASS = 0x4c4954


class TestPutWaitingForTheConsumerLock(base.LimitsApiTestCase):

    def setUp(self):
        self.url = self.useFixture(postgresql.Database()).url
        self.OVERRIDES = {('database', 'connection'): self.url}
        super().setUp()
        self.tree()
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def _waiting_for_a_lock(self, conn):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND NOT granted").scalar()
            if waiting:
                return
            time.sleep(0.05)
        self.fail('the PUT never waited for the consumer lock')

    def _ledger(self):
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(
                _ALLOCATION.c.consumer_id, _ALLOCATION.c.project_id,
                _ALLOCATION.c.resource_name, _ALLOCATION.c.amount)).all()
            usage = {(r.project_id, r.resource_name):
                     (r.own_used, r.subtree_used)
                     for r in conn.execute(sa.select(_USAGE))
                     if r.own_used or r.subtree_used}
        return sorted(tuple(r) for r in rows), usage

    def test_sees_the_allocation_committed_while_it_waited(self):
        answers = []
        with self.engine.connect() as holder, self.engine.connect() as look:
            with holder.begin():
                # What a PUT of vm-1 into "other" does, as another API
                # process would: the ledger's locks, then its rows.
                holder.exec_driver_sql(
                    'SELECT pg_advisory_xact_lock_shared(%d, 0)'
                    % _TREE_LOCK_CLASS)
                holder.exec_driver_sql(
                    "SELECT pg_advisory_xact_lock(%d, hashtext('vm-1'))"
                    % _CONSUMER_LOCK_CLASS)
                holder.execute(_ALLOCATION.insert(), {
                    'consumer_id': 'vm-1', 'resource_name': 'cores',
                    'project_id': 'other', 'amount': 4})
                holder.execute(_USAGE.insert(), [
                    {'project_id': 'other', 'resource_name': 'cores',
                     'own_used': 4, 'subtree_used': 4, 'adjustment': 0},
                    {'project_id': 'root', 'resource_name': 'cores',
                     'own_used': 0, 'subtree_used': 4, 'adjustment': 0}])
                put = threading.Thread(target=lambda: answers.append(
                    self.allocate('vm-1', 'leaf', cores=2)))
                put.start()
                self._waiting_for_a_lock(look)
            put.join(30)
        self.assertEqual(1, len(answers))
        self.assertEqual({'cores': 2},
                         answers[0].json['allocation']['resources'])
        # vm-1 moved from "other" to "leaf": freed there, taken here.
        self.assertEqual(
            ([('vm-1', 'leaf', 'cores', 2)],
             {('leaf', 'cores'): (2, 2), ('mid', 'cores'): (0, 2),
              ('root', 'cores'): (0, 2)}),
            self._ledger())
