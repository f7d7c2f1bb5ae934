"""The ledger under random interleavings of every kind of write, on
PostgreSQL.

``test_ledger_properties`` checks each decision against a brute-force
model, and races project moves with plain PUTs and DELETEs.  Here
hypothesis draws bursts that also hold reservations (``expires_in``),
replace-only and make-only PUTs (``If-Match: *``, ``If-None-Match:
*``) and the engine's sweep of expired
reservations, and sends each burst at once, one thread per request, to
the complete WSGI application on PostgreSQL, where the transactions really
run side by side.  A burst touches each consumer at most once, so the
answer of each request says what became of its consumer, whatever order
the database chose; but for one consumer that two requests may touch at
once, which must then hold what it held or what one of the requests that
succeeded asked for, never a mix.  After every burst:

* every answer is one a client is told to expect: 200/204, 409
  ``limits.over_limit`` (or ``limits.project_cycle`` for a move), 404
  ``limits.allocation_not_found`` for a DELETE of nothing, 412
  ``limits.allocation_absent`` for an ``If-Match: *`` PUT of a consumer
  that held nothing (or whose reservation the sweep freed), 412
  ``limits.allocation_exists`` for an ``If-None-Match: *`` PUT of a
  consumer that held something;
* every consumer holds what its answer says (or, for a reservation, what
  the sweep left): nothing more is held, nothing held is lost;
* the usage audit finds the counters equal to the allocation rows and
  the adjustments of reconciliation (``PUT /v1/usages``, also drawn);
* until a reconciliation records an outside count (which may be over a
  limit), no project's own usage and no subtree usage is over its limit
  (the limits do not change).

The sweep runs with a time after every reservation's expiry (the
reservations of a test last 10 minutes): it must free every reservation
made before it and none of the allocations.
"""

import concurrent.futures
import datetime

import hypothesis
from hypothesis import strategies as st
import sqlalchemy as sa
import testtools
import webtest

from limits_svc.db import allocations as allocations_db
from limits_svc.db import audit
from limits_svc.db import models
from limits_svc import service
from svc_common import context
from svc_common.db import database
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql

# root -> A -> X, root -> B -> Y.
TREE = (('root', None), ('A', 'root'), ('X', 'A'), ('B', 'root'),
        ('Y', 'B'))
PROJECTS = tuple(project_id for project_id, _ in TREE)
MOVES = (('X', 'B'), ('X', 'A'), ('Y', 'X'), ('Y', 'B'), ('X', None),
         ('A', 'Y'))
CONSUMERS = tuple('c-%d' % n for n in range(8))
# Consumers that two requests of one burst may touch at once.
TWINS = ('t-0', 't-1')
RESOURCES = ('cores', 'ram')
DEFAULTS = {'cores': 20, 'ram': 30}
X_OWN_CORES = 6
RESERVATION = 600

put = st.fixed_dictionaries({
    'project_id': st.sampled_from(PROJECTS),
    'resources': st.dictionaries(st.sampled_from(RESOURCES),
                                 st.integers(0, 7), min_size=1),
    'reserve': st.booleans(),
    'condition': st.sampled_from((None, 'If-Match', 'If-None-Match')),
})
burst = st.fixed_dictionaries({
    'consumers': st.dictionaries(st.sampled_from(CONSUMERS),
                                 st.one_of(st.none(), put),
                                 min_size=1, max_size=6),
    'move': st.one_of(st.none(), st.sampled_from(MOVES)),
    'sweep': st.booleans(),
    'reconcile': st.one_of(st.none(), st.tuples(st.sampled_from(PROJECTS),
                                                st.integers(0, 9))),
    'twin': st.one_of(st.none(), st.tuples(
        st.sampled_from(TWINS), st.one_of(st.none(), put),
        st.one_of(st.none(), put))),
})
plan = st.fixed_dictionaries({
    'subtree_limits': st.dictionaries(st.sampled_from(('root', 'A', 'B')),
                                      st.integers(4, 30), max_size=3),
    'bursts': st.lists(burst, min_size=2, max_size=5),
})


class _Ledger(object):
    """The app on a database of its own, and what each consumer holds."""

    def __init__(self, url):
        self.fixture = af.ServiceApp(
            service.SPEC, overrides={('database', 'connection'): url})
        self.fixture.setUp()
        self.app = self.fixture.app
        self.db = database.Database(self.fixture.conf)
        self.ctx = context.admin_context()
        # consumer -> (project_id, {resource: amount}, reservation)
        self.held = {}
        self.own_limits = {}
        self.subtree_limits = {}
        # Reconciliation records an outside count, over a limit or not.
        self.reconciled = False

    def close(self):
        self.db.dispose()
        self.fixture.cleanUp()

    def build(self, subtree_limits):
        for project_id, parent_id in TREE:
            body = {'id': project_id}
            if parent_id:
                body['parent_id'] = parent_id
            self.app.post_json('/v1/projects', body,
                               headers=af.SYSTEM_ADMIN, status=201)
        for name, value in DEFAULTS.items():
            self.app.post_json('/v1/registered_limits', {
                'service_id': 'nova', 'resource_name': name,
                'default_limit': value}, headers=af.SYSTEM_ADMIN,
                status=201)
        limits = [('X', 'project', X_OWN_CORES)] + [
            (project_id, 'subtree', value)
            for project_id, value in sorted(subtree_limits.items())]
        for project_id, scope, value in limits:
            self.app.post_json('/v1/limits', {
                'project_id': project_id, 'service_id': 'nova',
                'resource_name': 'cores', 'resource_limit': value,
                'scope': scope}, headers=af.SYSTEM_ADMIN, status=201)
        self.own_limits[('X', 'cores')] = X_OWN_CORES
        self.subtree_limits = {(p, 'cores'): v
                               for p, v in subtree_limits.items()}

    # -- one request of a burst --------------------------------------------
    def send(self, request):
        kind, key, arg = request
        app = webtest.TestApp(self.fixture.wsgi)
        if kind == 'sweep':
            later = allocations_db.utcnow() + datetime.timedelta(
                seconds=2 * RESERVATION)
            return allocations_db.purge_expired(self.db, self.ctx,
                                                now=later)
        if kind == 'reconcile':
            return app.put_json('/v1/usages/%s' % key,
                                {'resources': {'cores': arg}},
                                headers=af.SERVICE, expect_errors=True)
        if kind == 'move':
            return app.patch_json('/v1/projects/%s' % key,
                                  {'parent_id': arg},
                                  headers=af.SYSTEM_ADMIN,
                                  expect_errors=True)
        if arg is None:
            return app.delete('/v1/allocations/%s' % key,
                              headers=af.SERVICE, expect_errors=True)
        body = {'project_id': arg['project_id'],
                'resources': arg['resources']}
        if arg['reserve']:
            body['expires_in'] = RESERVATION
        headers = dict(af.SERVICE)
        if arg['condition']:
            headers[arg['condition']] = '*'
        return app.put_json('/v1/allocations/%s' % key, body,
                            headers=headers, expect_errors=True)

    # -- what the answers say ----------------------------------------------
    def take(self, request, resp, swept):
        """Check one answer and record what its consumer holds now.

        ``swept``: a sweep ran in the same burst (before or after).
        """
        kind, key, arg = request
        code = (resp.json['errors'][0]['code'] if resp.status_int >= 400
                else None)
        if kind == 'move':
            assert resp.status_int == 200 or code in (
                'limits.over_limit', 'limits.project_cycle'), resp.text
            return
        if kind == 'reconcile':
            assert resp.status_int == 200, resp.text
            self.reconciled = True
            return
        before = self.held.get(key)
        reserved_before = before is not None and before[2]
        may_be_swept = swept and reserved_before
        if arg is None:
            if resp.status_int == 204:
                assert before is not None, key
            else:
                assert code == 'limits.allocation_not_found', resp.text
                assert before is None or may_be_swept, (key, before)
            self.held.pop(key, None)
            return
        if resp.status_int == 200:
            if arg['condition'] == 'If-Match':
                assert before is not None, (key, arg)
            if arg['condition'] == 'If-None-Match':
                assert before is None or may_be_swept, (key, before)
            kept = {n: a for n, a in arg['resources'].items() if a}
            shown = resp.json['allocation']
            assert shown['resources'] == kept, (shown, kept)
            assert (shown['expires_at'] is not None) == (
                arg['reserve'] and bool(kept)), shown
            if kept:
                self.held[key] = (arg['project_id'], kept, arg['reserve'])
            else:
                self.held.pop(key, None)
            return
        if code == 'limits.allocation_absent':
            assert arg['condition'] == 'If-Match', resp.text
            assert before is None or may_be_swept, (key, before)
            self.held.pop(key, None)
            return
        if code == 'limits.allocation_exists':
            assert arg['condition'] == 'If-None-Match', resp.text
            assert before is not None, (key, arg)
            return
        assert code == 'limits.over_limit', resp.text
        # A refusal changed nothing; the sweep may have freed what it was
        # to replace (the allocation list, read next, says which).

    def take_twins(self, twin, answers, swept):
        """What a consumer two requests touched at once may hold now: what
        it held, or what one of the requests that succeeded made it hold
        (never a mix of the two)."""
        before = self.held.get(twin)
        possible = [before]
        if swept and before is not None and before[2]:
            possible.append(None)
        for arg, resp in answers:
            code = (resp.json['errors'][0]['code']
                    if resp.status_int >= 400 else None)
            assert resp.status_int in (200, 204) or code in (
                'limits.over_limit', 'limits.allocation_not_found',
                'limits.allocation_absent', 'limits.allocation_exists'), (
                resp.text)
            if resp.status_int == 204:
                possible.append(None)
            elif resp.status_int == 200:
                kept = {n: a for n, a in arg['resources'].items() if a}
                possible.append((arg['project_id'], kept, arg['reserve'])
                                if kept else None)
                if arg['reserve'] and swept:
                    possible.append(None)
        return possible

    # -- invariants ----------------------------------------------------------
    def listed(self):
        body = self.app.get('/v1/allocations', headers=af.SYSTEM_ADMIN).json
        assert body['links'] == [], body
        return {a['consumer_id']: (a['project_id'], a['resources'],
                                   a['expires_at'] is not None)
                for a in body['allocations']}

    def check(self, requests, swept, twins=None):
        listed = self.listed()
        for twin, possible in (twins or {}).items():
            assert listed.get(twin) in possible, (twin, listed.get(twin),
                                                  possible)
        touched = {key for kind, key, _ in requests if kind == 'allocation'}
        for consumer in CONSUMERS + TWINS:
            if consumer in (twins or {}):
                continue
            expected = self.held.get(consumer)
            if (swept and expected is not None and expected[2] and
                    consumer not in touched):
                # Made before the burst: the sweep freed it.
                expected = None
            got = listed.get(consumer)
            if (expected is not None and got is None and swept and
                    expected[2]):
                expected = None   # reserved in this burst, then swept
            assert got == expected, (consumer, got, expected)
        self.held = dict(listed)
        assert audit.audit(self.db, self.ctx) == []
        with self.db.reader.connection.using(self.ctx) as conn:
            rows = conn.execute(sa.select(models.Usage.__table__)).all()
        for row in rows:
            if self.reconciled:
                break
            key = (row.project_id, row.resource_name)
            own = self.own_limits.get(key, DEFAULTS[row.resource_name])
            assert row.own_used <= own, (key, row.own_used, own)
            sub = self.subtree_limits.get(key)
            assert sub is None or row.subtree_used <= sub, (
                key, row.subtree_used, sub)


def _run(ledger, drawn):
    ledger.build(drawn['subtree_limits'])
    for step in drawn['bursts']:
        requests = [('allocation', consumer, arg) for consumer, arg in
                    sorted(step['consumers'].items())]
        if step['move']:
            requests.append(('move',) + step['move'])
        if step['sweep']:
            requests.append(('sweep', None, None))
        if step['reconcile']:
            requests.append(('reconcile',) + step['reconcile'])
        if step['twin']:
            twin, first, second = step['twin']
            requests += [('twin', twin, first), ('twin', twin, second)]
        with concurrent.futures.ThreadPoolExecutor(len(requests)) as pool:
            answers = list(pool.map(ledger.send, requests))
        twins = []
        for request, resp in zip(requests, answers):
            if request[0] == 'twin':
                twins.append((request[2], resp))
            elif request[0] != 'sweep':
                ledger.take(request, resp, step['sweep'])
        possible = {}
        if twins:
            possible[step['twin'][0]] = ledger.take_twins(
                step['twin'][0], twins, step['sweep'])
        ledger.check(requests, step['sweep'], possible)


class TestInterleavingsOnPostgreSQL(testtools.TestCase):

    @hypothesis.settings(max_examples=12, deadline=None, derandomize=True,
                         database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(drawn=plan)
    def test_the_ledger_holds_what_the_answers_say(self, drawn):
        pg = postgresql.Database()
        pg.setUp()
        ledger = _Ledger(pg.url)
        try:
            _run(ledger, drawn)
        finally:
            ledger.close()
            pg.cleanUp()
