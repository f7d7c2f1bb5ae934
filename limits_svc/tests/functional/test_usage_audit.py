"""``limits-manage usage audit [--fix]`` run while the ledger is in use.

The audit is meant for a live cloud: without ``--fix`` it reads the
counters and the allocation rows in one snapshot and locks nothing; with
``--fix`` it holds the tree lock while it reads and writes.  Here four
threads allocate, resize, reserve, free and reconcile while the audit and
the engine's sweep of expired reservations run again and again: the audit
never reports a drift that is not there (reading the two tables at two
moments did: the counters of one allocation and not its rows), a repair
never writes a stale counter, and nothing fails.
"""

import datetime
import threading

import sqlalchemy as sa
import testtools

from limits_svc.db import allocations
from limits_svc.db import audit
from limits_svc.db import models
from limits_svc.db import usages
from limits_svc import quota_tree
from limits_svc import service
from svc_common import context
from svc_common.tests.fixtures import backends

PROJECTS = ('leaf', 'mid', 'top')


class _AuditWhileAllocating(object):

    def setUp(self):
        super().setUp()
        self.db = backends.migrated_database(self, service.SPEC)
        self.ctx = context.admin_context()
        with self.db.writer.connection.using(self.ctx) as conn:
            conn.execute(models.Project.__table__.insert(), [
                {'id': 'top', 'parent_id': None, 'domain_id': 'd'},
                {'id': 'mid', 'parent_id': 'top', 'domain_id': 'd'},
                {'id': 'leaf', 'parent_id': 'mid', 'domain_id': 'd'}])
            conn.execute(sa.insert(models.RegisteredLimit.__table__), [
                {'id': 'reg-cores', 'service_id': 'nova',
                 'resource_name': 'cores', 'default_limit': 1000}])

    def work(self, worker, stop, unexpected):
        n = 0
        while not stop.is_set():
            n += 1
            consumer = 'vm-%d-%d' % (worker, n % 5)
            try:
                if n % 4 == 0:
                    allocations.delete_allocation(self.db, self.ctx,
                                                  consumer)
                elif n % 7 == 0:
                    usages.reconcile_usage(self.db, self.ctx,
                                           PROJECTS[n % 2],
                                           {'cores': n % 5})
                else:
                    allocations.put_allocation(
                        self.db, self.ctx, consumer, PROJECTS[n % 3],
                        {'cores': 1 + n % 3}, quota_tree.NO_LIMIT_DENY,
                        expires_in=600 if n % 2 else None)
            except allocations.AllocationNotFound:
                pass
            except Exception as exc:  # what the test is looking for
                unexpected.append(repr(exc))

    def test_the_audit_of_a_ledger_in_use_finds_no_drift(self):
        stop = threading.Event()
        unexpected = []
        workers = [threading.Thread(target=self.work,
                                    args=(w, stop, unexpected))
                   for w in range(4)]
        for worker in workers:
            worker.start()
        reported = []
        later = allocations.utcnow() + datetime.timedelta(hours=1)
        try:
            for n in range(40):
                found = audit.audit(self.db, self.ctx, fix=n % 5 == 0)
                if found:
                    reported.append(found)
                if n % 10 == 9:
                    allocations.purge_expired(self.db, self.ctx, now=later)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        self.assertEqual([], unexpected)
        self.assertEqual([], reported)
        self.assertEqual([], audit.audit(self.db, self.ctx))


class TestAuditWhileAllocatingOnSQLite(backends.OnSQLite,
                                       _AuditWhileAllocating,
                                       testtools.TestCase):
    pass


class TestAuditWhileAllocatingOnPostgreSQL(backends.OnPostgreSQL,
                                           _AuditWhileAllocating,
                                           testtools.TestCase):
    pass
