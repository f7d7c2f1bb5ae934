"""A killed API worker loses nothing and over-commits nothing.

gunicorn serves limits_svc with two worker processes on PostgreSQL while
16 clients allocate; one worker is killed with SIGKILL in the middle (its
open transactions die with it) and gunicorn starts a new one.  Clients
whose request was cut retry the same PUT, which is idempotent per
consumer.  Afterwards: every consumer that was answered 200 holds exactly
its allocation, no limit is exceeded, and the ledger's counters equal the
sum of the allocation rows, level by level.
"""

import concurrent.futures
import http.client
import os
import signal
import threading
import time

import sqlalchemy as sa
import testtools

from limits_svc.db import models
from limits_svc.tests.functional import test_concurrency as race
from svc_common.tests.fixtures import postgresql

CLIENTS = 16
PER_CLIENT = 12


def _children(pid):
    """Worker pids of a gunicorn master, from /proc."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


class TestKilledWorker(race._Race, testtools.TestCase):

    def database_url(self):
        return self.useFixture(postgresql.Database()).url

    # The base class's race is not run here.
    test_no_level_over_its_limit = None

    def _allocate(self, base, consumer, project):
        """PUT until answered: a cut connection is retried."""
        for _ in range(20):
            try:
                return race.request(
                    base, 'PUT', '/v1/allocations/%s' % consumer,
                    {'project_id': project, 'resources': {'cores': 1}})[0]
            except (OSError, ValueError, http.client.HTTPException):
                # Cut mid-answer (IncompleteRead) counts as cut too.
                time.sleep(0.2)
        raise AssertionError('no answer for %s' % consumer)

    def test_sigkill_a_worker_mid_race(self):
        url = self.database_url()
        base = self.start_api(url, workers=2)
        self.build_tree(base)
        killed = threading.Event()

        def client(n):
            answers = {}
            for i in range(PER_CLIENT):
                consumer = 'vm-%d-%d' % (n, i)
                project = race.PROJECTS[(n + i) % len(race.PROJECTS)]
                answers[consumer] = (self._allocate(base, consumer, project),
                                     project)
                if n == 0 and i == 3:
                    victim = _children(self.gunicorn.pid)[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
            return answers

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            answers = {}
            for part in pool.map(client, range(CLIENTS)):
                answers.update(part)
        self.assertTrue(killed.is_set())
        self.assertEqual({200, 409}, {s for s, _ in answers.values()})
        granted = {c: p for c, (s, p) in answers.items() if s == 200}
        self.assertEqual(20, len(granted))
        # The service still answers after losing a worker.
        status, body = race.request(base, 'GET', '/v1/allocations?limit=100',
                                    headers=race.ADMIN)
        self.assertEqual(200, status)
        self.assertEqual(sorted(granted),
                         sorted(a['consumer_id'] for a in body['allocations']))
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(
                models.Allocation.consumer_id, models.Allocation.project_id,
                models.Allocation.amount)).all()
            ledger = {r.project_id: (r.own_used, r.subtree_used)
                      for r in conn.execute(sa.select(models.Usage))}
        self.assertEqual(granted, {r.consumer_id: r.project_id
                                   for r in rows})
        per_project = {p: list(granted.values()).count(p)
                       for p in race.PROJECTS}
        self.assertLessEqual(per_project['leaf_a'], 5)
        mid = per_project['leaf_a'] + per_project['leaf_b']
        self.assertLessEqual(mid, 12)
        self.assertEqual({'root': (0, 20), 'mid': (0, mid),
                          'leaf_a': (per_project['leaf_a'],) * 2,
                          'leaf_b': (per_project['leaf_b'],) * 2,
                          'other': (per_project['other'],) * 2}, ledger)
