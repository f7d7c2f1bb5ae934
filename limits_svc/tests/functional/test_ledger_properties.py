# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Stateful property test of the real limits API against a brute-force model.

``unit/test_quota_tree.py`` checks the tree arithmetic in isolation. This
test checks the service as a client sees it: a hypothesis state machine
sends random sequences of requests to the complete WSGI application
(middleware, policy, pecan controllers, the DB layer and its counters) on
a fresh SQLite database for every example, and after every request
compares the service with a model that keeps only the raw facts:

* the parent of each project;
* every registered limit and every project limit as the operator wrote it
  (service, region, resource, scope, value), several of them per resource
  name when services or regions differ;
* the allocation of each consumer (project and amounts).

The model derives everything else from scratch on each question, with no
counters, no chains and no caching: usage is summed over the allocations
(a project's own usage: the allocations made in it; its subtree usage:
those made in it or in any project below it, found by walking each
consumer's project up to the root); the effective own limit is the
tightest project-scope override, else the tightest registered default of
the resource name, else 0 (the default ``deny`` policy); the subtree limit
is the tightest subtree-scope override of that very project; ``-1`` is
unlimited. A PUT (or a dry run) is refused exactly when some limit whose
usage would *grow* ends up above that limit, where the usage compared
against is the ledger with the consumer's previous allocation already
freed when it moves to another project (free, then take; the enforcement
model in ``limits_svc/quota_tree.py``).

Each example starts from a small tree (1..3 projects, a few subtree
limits), nova defaults for most resources and up to four allocations, then
takes up to 30 steps, each one operation drawn with fixed weights
(``OPERATIONS``): create a project (a root, or under any project); move a
project (PATCH ``parent_id``; a move into its own subtree must be refused
with 409 ``limits.project_cycle``); create, change or delete a registered
limit, a project-scope or a subtree-scope limit, of two services and two
regions so that one resource name often has several limits (values -1..15,
often just below a usage of the moment; an equal limit must be refused
with 409 ``limits.limit_exists``); PUT an allocation (new or existing
consumer, any project, 0..6 of 1..3 resources), resize one in place, move
one to another project, DELETE one (or one that is not there: 404); and
``POST /v1/enforce`` dry runs with and without a consumer.
Reconciliation is left out: its adjustments are outside the "usage is the
sum of the allocations" model.

What it proves, for every step of every generated sequence:

1. **Decisions.** Every PUT and every dry run is allowed or refused exactly
   as the brute-force model says; a refusal is 409 ``limits.over_limit``
   whose ``blocking`` list names exactly the model's violated limits (level,
   resource, scope, limit, usage before, delta) in chain order; a dry run
   also reports the model's deltas, and writes nothing.
2. **Reports.** ``GET /v1/projects/{root}/usage?subtree=true`` for every
   root lists exactly the model's tree (parents, depths) and, for every
   project and resource, the model's own and subtree usage and effective
   own and subtree limits; ``GET /v1/allocations`` equals the model's
   allocations.
3. **The ledger.** The counters that decisions read (``usages`` rows:
   ``own_used`` and ``subtree_used``) equal the model's sums, read
   straight from the database file, so a drifted subtree counter (which
   the usage report, recomputing subtree sums from own usage, would hide)
   is caught even when no request happens to be refused.
4. **Never over-commit.** Over-limit states are tracked from what the API
   reports: after an allocation step (PUT, resize, DELETE) no limit is over
   that was not already over before the step, and an over limit's usage
   did not grow. Only operator steps (a lowered limit, a moved project) may
   put a level over; read-only steps (dry runs, refused PUTs) change
   nothing at all.
"""

import concurrent.futures
import hypothesis
from hypothesis import stateful
from hypothesis import strategies as st
import sqlalchemy as sa
import testtools
import webtest

from limits_svc import service
from svc_common.tests.fixtures import postgresql
from svc_common.tests.functional import api_fixture as af

RESOURCES = ('cores', 'gpus', 'ram')
SERVICES = ('nova', 'cinder')
REGIONS = (None, 'RegionOne')
SCOPES = ('project', 'subtree')
SCOPE_ORDER = {'project': 0, 'subtree': 1}
CONSUMERS = tuple('vm-%d' % i for i in range(6))
MAX_PROJECTS = 7
UNLIMITED = -1

# The operations of one step, with their weights. One rule draws from
# these rather than one rule per operation: hypothesis' swarm testing
# disables a random subset of rules in each example, and with the few
# dozen examples that fit in the time budget it left whole interactions
# (limit changes on a ledger in use, say) almost untested.
OPERATIONS = (
    ('put_allocation', 4),
    ('resize_allocation', 2),
    ('move_allocation', 2),
    ('delete_allocation', 2),
    ('enforce', 3),
    ('change_limit', 4),
    ('move_project', 2),
    ('create_project', 1),
)

limit_values = st.integers(-1, 15)
amounts = st.dictionaries(st.sampled_from(RESOURCES), st.integers(0, 6),
                          min_size=1, max_size=3)

# What the run exercised, over all its examples: not asserted, but kept so
# that the coverage of a tuning change can be read off, e.g. with
#   python -c "import unittest; from limits_svc.tests.functional import
#   test_ledger_properties as t; unittest.main(t, exit=False); print(t.STEPS)"
STEPS = {'examples': 0, 'steps': 0, 'puts_allowed': 0, 'puts_refused': 0,
         'subtree_refusals': 0, 'dry_runs_refused': 0, 'cycles_refused': 0,
         'operator_overs': 0, 'moves_refused': 0, 'bursts': 0,
         'burst_moves': 0}


def tightest(values):
    """The most restrictive of several limits on one thing (-1: none)."""
    finite = [v for v in values if v != UNLIMITED]
    if finite:
        return min(finite)
    return UNLIMITED if values else None


class Model:
    """Raw facts only; every figure is recomputed from them when asked."""

    def __init__(self):
        self.parents = {}            # project -> parent or None
        self.registered = {}         # id -> (service, region, name, value)
        self.limits = {}             # id -> (project, service, region,
        #                                     name, scope, value)
        self.allocations = {}        # consumer -> (project, {name: n > 0})

    # -- the tree, by walking parent links ------------------------------
    def is_below(self, project_id, ancestor_id):
        node = project_id
        while node is not None:
            if node == ancestor_id:
                return True
            node = self.parents[node]
        return False

    def depth(self, project_id):
        return sum(1 for p in self.parents
                   if p != project_id and self.is_below(project_id, p))

    def roots(self):
        return sorted(p for p, parent in self.parents.items()
                      if parent is None)

    def subtree(self, project_id):
        return {p for p in self.parents if self.is_below(p, project_id)}

    # -- limits -----------------------------------------------------------
    def own_limit(self, project_id, name):
        override = tightest([
            value for (p, _, _, n, scope, value) in self.limits.values()
            if p == project_id and n == name and scope == 'project'])
        if override is not None:
            return override
        default = tightest([value for (_, _, n, value)
                            in self.registered.values() if n == name])
        if default is not None:
            return default
        return 0   # the deny policy, limits_svc's (and oslo.limit's) default

    def subtree_limit(self, project_id, name):
        return tightest([
            value for (p, _, _, n, scope, value) in self.limits.values()
            if p == project_id and n == name and scope == 'subtree'])

    # -- usage, summed over the raw allocations ---------------------------
    @staticmethod
    def own_usage(allocations, project_id, name):
        return sum(res.get(name, 0) for p, res in allocations.values()
                   if p == project_id)

    def subtree_usage(self, allocations, project_id, name):
        return sum(res.get(name, 0) for p, res in allocations.values()
                   if self.is_below(p, project_id))

    # -- the decision -----------------------------------------------------
    def decide(self, consumer_id, project_id, requested):
        """``(deltas, violations)`` of putting ``requested`` for a consumer.

        Violations are tuples ``(project, resource, scope, limit, usage,
        delta)`` where usage is read before the change (after freeing the
        consumer's old allocation when it moves to another project).
        """
        old = self.allocations.get(consumer_id) if consumer_id else None
        base = dict(self.allocations)
        if old is not None and old[0] == project_id:
            deltas = {}
            for name in set(old[1]) | set(requested):
                change = requested.get(name, 0) - old[1].get(name, 0)
                if change:
                    deltas[name] = change
        else:
            base.pop(consumer_id, None)
            deltas = {n: a for n, a in requested.items() if a}
        after = dict(base)
        after[consumer_id or '<dry-run>'] = (
            project_id, {n: a for n, a in requested.items() if a})
        violations = []
        for level in self.parents:
            for name in RESOURCES:
                checks = [('project', self.own_limit(level, name),
                           self.own_usage(base, level, name),
                           self.own_usage(after, level, name)),
                          ('subtree', self.subtree_limit(level, name),
                           self.subtree_usage(base, level, name),
                           self.subtree_usage(after, level, name))]
                for scope, limit, before, now in checks:
                    if (now > before and limit is not None and
                            limit != UNLIMITED and now > limit):
                        violations.append((level, name, scope, limit,
                                           before, now - before))
        violations.sort(key=lambda v: (-self.depth(v[0]), v[1],
                                       SCOPE_ORDER[v[2]]))
        return deltas, violations

    def move_violations(self, project_id, parent_id):
        """Violations of hanging ``project_id`` under ``parent_id``.

        Worked out from scratch on the tree after the move: a level is
        refused for a resource when its subtree usage grows and ends above
        its subtree limit (own usages never change in a move).
        """
        before = Model()
        before.parents = self.parents
        after = Model()
        after.parents = dict(self.parents, **{project_id: parent_id})
        allocations = self.allocations
        violations = []
        for level in self.parents:
            for name in RESOURCES:
                was = before.subtree_usage(allocations, level, name)
                now = after.subtree_usage(allocations, level, name)
                limit = self.subtree_limit(level, name)
                if (now > was and limit is not None and
                        limit != UNLIMITED and now > limit):
                    violations.append((level, name, 'subtree', limit, was,
                                       now - was))
        violations.sort(key=lambda v: (-after.depth(v[0]), v[1]))
        return violations


def _blocking(entries):
    return [(b['project_id'], b['resource'], b['scope'], b['limit'],
             b['usage'], b['delta']) for b in entries]


class LedgerMachine(stateful.RuleBasedStateMachine):
    """The limits API on a fresh database, and the model beside it."""

    def __init__(self, database_url=None):
        super().__init__()
        overrides = ({('database', 'connection'): database_url}
                     if database_url else None)
        self.fixture = af.ServiceApp(service.SPEC, overrides=overrides)
        self.fixture.setUp()
        self.app = self.fixture.app
        self.engine = sa.create_engine(
            self.fixture.conf.database.connection)
        self.model = Model()
        self.next_project = 0
        self.kind = 'setup'
        self.over = {}
        self.snapshot = {}
        STEPS['examples'] += 1

    def teardown(self):
        self.engine.dispose()
        self.fixture.cleanUp()

    # -- helpers ------------------------------------------------------------
    def _step(self, kind):
        """Mark what kind of step this is, for the over-commit check."""
        self.kind = kind

    def _error_code(self, resp):
        return resp.json['errors'][0]['code']

    def _project_ids(self):
        return sorted(self.model.parents)

    def _new_project(self, parent_id):
        project_id = 'p%02d' % self.next_project
        self.next_project += 1
        body = {'id': project_id}
        if parent_id is not None:
            body['parent_id'] = parent_id
        resp = self.app.post_json('/v1/projects', body,
                                  headers=af.SYSTEM_ADMIN, status=201)
        assert resp.json['project']['parent_id'] == parent_id, resp.json
        self.model.parents[project_id] = parent_id

    def _post_registered(self, service_id, region_id, name, value):
        body = {'service_id': service_id, 'resource_name': name,
                'default_limit': value}
        if region_id is not None:
            body['region_id'] = region_id
        duplicate = any((s, r, n) == (service_id, region_id, name)
                        for s, r, n, _ in self.model.registered.values())
        resp = self.app.post_json('/v1/registered_limits', body,
                                  headers=af.SYSTEM_ADMIN, expect_errors=True)
        if duplicate:
            assert resp.status_int == 409, (resp.status, resp.text)
            assert self._error_code(resp) == 'limits.limit_exists'
            return
        assert resp.status_int == 201, (resp.status, resp.text)
        row = resp.json['registered_limit']
        self.model.registered[row['id']] = (service_id, region_id, name,
                                            value)

    def _post_limit(self, project_id, service_id, region_id, name, scope,
                    value):
        body = {'project_id': project_id, 'service_id': service_id,
                'resource_name': name, 'resource_limit': value,
                'scope': scope}
        if region_id is not None:
            body['region_id'] = region_id
        identity = (project_id, service_id, region_id, name, scope)
        duplicate = any(row[:5] == identity
                        for row in self.model.limits.values())
        resp = self.app.post_json('/v1/limits', body,
                                  headers=af.SYSTEM_ADMIN, expect_errors=True)
        if duplicate:
            assert resp.status_int == 409, (resp.status, resp.text)
            assert self._error_code(resp) == 'limits.limit_exists'
            return
        assert resp.status_int == 201, (resp.status, resp.text)
        self.model.limits[resp.json['limit']['id']] = identity + (value,)

    # -- set-up -------------------------------------------------------------
    @stateful.initialize(data=st.data())
    def start(self, data):
        """A small tree with a few subtree limits, nova defaults for most
        resources (so that the deny policy, no limit at all meaning 0, does
        not refuse nearly every PUT) and a few allocations; the rules
        change all of it later."""
        self._step('operator')
        for _ in range(data.draw(st.integers(1, 3), label='projects')):
            parent_id = data.draw(st.one_of(
                st.none(), st.sampled_from(self._project_ids()))
                if self.model.parents else st.none(), label='parent')
            self._new_project(parent_id)
            for name in RESOURCES:
                value = data.draw(st.sampled_from((None, None, 4, 8, 12)),
                                  label='subtree limit')
                if value is not None:
                    self._post_limit(self._project_ids()[-1], 'nova', None,
                                     name, 'subtree', value)
        for name in RESOURCES:
            if data.draw(st.sampled_from((True, True, True, False)),
                         label='default for %s' % name):
                self._post_registered('nova', None, name, data.draw(
                    st.sampled_from((UNLIMITED, 6, 10, 15)),
                    label='default'))
        # A few allocations to start with, so that limit changes and
        # moves meet usage even when the sequence makes no PUT itself.
        for _ in range(data.draw(st.integers(0, 4), label='allocations')):
            self._put(data.draw(st.sampled_from(CONSUMERS), label='consumer'),
                      data.draw(st.sampled_from(self._project_ids()),
                                label='project'),
                      data.draw(amounts, label='resources'))
        self.kind = 'setup'

    # -- the project tree ---------------------------------------------------
    def create_project(self, data):
        """A root, or a child of any project."""
        self._step('operator')
        parent_id = data.draw(st.one_of(
            st.none(), st.sampled_from(self._project_ids())), label='parent')
        self._new_project(parent_id)

    def move_project(self, data):
        """PATCH parent_id: anywhere but into its own subtree."""
        self._step('operator')
        project_id = data.draw(st.sampled_from(self._project_ids()),
                               label='project')
        parent_id = data.draw(st.one_of(
            st.none(), st.sampled_from(self._project_ids())),
            label='new parent')
        resp = self.app.patch_json('/v1/projects/%s' % project_id,
                                   {'parent_id': parent_id},
                                   headers=af.SYSTEM_ADMIN,
                                   expect_errors=True)
        if parent_id is not None and self.model.is_below(parent_id,
                                                         project_id):
            assert resp.status_int == 409, (resp.status, resp.text)
            assert self._error_code(resp) == 'limits.project_cycle'
            STEPS['cycles_refused'] += 1
            self.kind = 'read-only'
            return
        expected = self.model.move_violations(project_id, parent_id)
        if expected:
            STEPS['moves_refused'] += 1
            self.kind = 'read-only'
            assert resp.status_int == 409, (resp.status, resp.text)
            error = resp.json['errors'][0]
            assert error['code'] == 'limits.over_limit', error
            assert _blocking(error['blocking']) == expected, (
                _blocking(error['blocking']), expected)
            return
        assert resp.status_int == 200, (resp.status, resp.text)
        assert resp.json['project']['parent_id'] == parent_id, resp.json
        self.model.parents[project_id] = parent_id

    # -- limits: create (a duplicate must be refused), change, delete ------
    def change_limit(self, data):
        """Create, change or delete a registered, project-scope or
        subtree-scope limit; the value is -1..15."""
        kind = data.draw(st.sampled_from(('registered',) + SCOPES),
                         label='kind')
        if kind == 'registered':
            self.registered_limit(data)
        else:
            self.project_limit(data, kind)

    def _value(self, data, used):
        """A limit value in -1..15, often just below a usage of now, so
        that operators often put levels over their limits."""
        near = sorted({u - 1 for u in used if 0 < u <= 16})
        if near and data.draw(st.booleans(), label='below usage'):
            return data.draw(st.sampled_from(near), label='value')
        return data.draw(limit_values, label='value')

    def _own_usages(self, name, project_ids):
        return [self.model.own_usage(self.model.allocations, p, name)
                for p in project_ids]

    def registered_limit(self, data):
        """A default of some service and region (several per name)."""
        self._step('operator')
        op = data.draw(st.sampled_from(('create', 'change', 'delete'))
                       if self.model.registered else st.just('create'),
                       label='op')
        if op == 'create':
            service_id = data.draw(st.sampled_from(SERVICES),
                                   label='service')
            region_id = data.draw(st.sampled_from(REGIONS), label='region')
            name = data.draw(st.sampled_from(RESOURCES), label='resource')
            value = self._value(data, self._own_usages(
                name, self._project_ids()))
            self._post_registered(service_id, region_id, name, value)
            return
        limit_id = data.draw(st.sampled_from(list(self.model.registered)),
                             label='limit')
        url = '/v1/registered_limits/%s' % limit_id
        if op == 'delete':
            self.app.delete(url, headers=af.SYSTEM_ADMIN, status=204)
            del self.model.registered[limit_id]
            return
        row = self.model.registered[limit_id]
        value = self._value(data, self._own_usages(row[2],
                                                   self._project_ids()))
        resp = self.app.patch_json(url, {'default_limit': value},
                                   headers=af.SYSTEM_ADMIN)
        assert resp.json['registered_limit']['default_limit'] == value
        self.model.registered[limit_id] = row[:3] + (value,)

    def _scope_usage(self, project_id, name, scope):
        if scope == 'project':
            return self.model.own_usage(self.model.allocations, project_id,
                                        name)
        return self.model.subtree_usage(self.model.allocations, project_id,
                                        name)

    def project_limit(self, data, scope):
        """A project-scope or subtree-scope override on some project."""
        self._step('operator')
        existing = [i for i, row in self.model.limits.items()
                    if row[4] == scope]
        op = data.draw(st.sampled_from(('create', 'change', 'delete'))
                       if existing else st.just('create'), label='op')
        if op == 'create':
            project_id = data.draw(st.sampled_from(self._project_ids()),
                                   label='project')
            service_id = data.draw(st.sampled_from(SERVICES),
                                   label='service')
            region_id = data.draw(st.sampled_from(REGIONS), label='region')
            name = data.draw(st.sampled_from(RESOURCES), label='resource')
            value = self._value(data, [self._scope_usage(project_id, name,
                                                         scope)])
            self._post_limit(project_id, service_id, region_id, name, scope,
                             value)
            return
        limit_id = data.draw(st.sampled_from(existing), label='limit')
        url = '/v1/limits/%s' % limit_id
        if op == 'delete':
            self.app.delete(url, headers=af.SYSTEM_ADMIN, status=204)
            del self.model.limits[limit_id]
            return
        row = self.model.limits[limit_id]
        value = self._value(data, [self._scope_usage(row[0], row[3], scope)])
        resp = self.app.patch_json(url, {'resource_limit': value},
                                   headers=af.SYSTEM_ADMIN)
        assert resp.json['limit']['resource_limit'] == value
        self.model.limits[limit_id] = row[:5] + (value,)

    # -- allocations --------------------------------------------------------
    def _put(self, consumer_id, project_id, requested):
        deltas, expected = self.model.decide(consumer_id, project_id,
                                             requested)
        resp = self.app.put_json(
            '/v1/allocations/%s' % consumer_id,
            {'project_id': project_id, 'resources': requested},
            headers=af.SERVICE, expect_errors=True)
        if expected:
            STEPS['puts_refused'] += 1
            if any(v[2] == 'subtree' for v in expected):
                STEPS['subtree_refusals'] += 1
            self.kind = 'read-only'
            assert resp.status_int == 409, (
                'model refuses %r, API answered %s %s'
                % (expected, resp.status, resp.text))
            error = resp.json['errors'][0]
            assert error['code'] == 'limits.over_limit', error
            assert _blocking(error['blocking']) == expected, (
                _blocking(error['blocking']), expected)
            return
        STEPS['puts_allowed'] += 1
        assert resp.status_int == 200, (
            'model allows (deltas %r), API answered %s %s'
            % (deltas, resp.status, resp.text))
        kept = {n: a for n, a in requested.items() if a}
        answered = dict(resp.json['allocation'])
        answered.pop('generation')
        assert answered == {
            'consumer_id': consumer_id, 'project_id': project_id,
            'resources': kept, 'expires_at': None}, resp.json
        if kept:
            self.model.allocations[consumer_id] = (project_id, kept)
        else:
            self.model.allocations.pop(consumer_id, None)

    def put_allocation(self, data):
        """New consumer, or an existing one replaced or moved anywhere."""
        self._step('allocation')
        consumer_id = data.draw(st.sampled_from(CONSUMERS), label='consumer')
        project_id = data.draw(st.sampled_from(self._project_ids()),
                               label='project')
        self._put(consumer_id, project_id, data.draw(amounts,
                                                     label='resources'))

    def resize_allocation(self, data):
        """An existing consumer, same project: grow, shrink or both."""
        self._step('allocation')
        consumer_id = data.draw(st.sampled_from(
            list(self.model.allocations)), label='consumer')
        self._put(consumer_id, self.model.allocations[consumer_id][0],
                  data.draw(amounts, label='resources'))

    def move_allocation(self, data):
        """An existing consumer to another project: free, then take."""
        self._step('allocation')
        consumer_id = data.draw(st.sampled_from(
            list(self.model.allocations)), label='consumer')
        current = self.model.allocations[consumer_id][0]
        project_id = data.draw(st.sampled_from(
            [p for p in self._project_ids() if p != current]),
            label='project')
        self._put(consumer_id, project_id, data.draw(amounts,
                                                     label='resources'))

    def delete_allocation(self, data):
        """Free an allocation (or, now and then, one that is not there)."""
        self._step('allocation')
        absent = [c for c in CONSUMERS if c not in self.model.allocations]
        consumer_id = data.draw(st.sampled_from(
            list(self.model.allocations) + absent[:1]), label='consumer')
        resp = self.app.delete('/v1/allocations/%s' % consumer_id,
                               headers=af.SERVICE, expect_errors=True)
        if consumer_id in self.model.allocations:
            assert resp.status_int == 204, (resp.status, resp.text)
            del self.model.allocations[consumer_id]
        else:
            self.kind = 'read-only'
            assert resp.status_int == 404, (resp.status, resp.text)
            assert self._error_code(resp) == 'limits.allocation_not_found'

    def enforce(self, data):
        """A dry run, sometimes on behalf of a consumer (replacement)."""
        self._step('read-only')
        project_id = data.draw(st.sampled_from(self._project_ids()),
                               label='project')
        consumer_id = data.draw(st.one_of(st.none(),
                                          st.sampled_from(CONSUMERS)),
                                label='consumer')
        requested = data.draw(amounts, label='resources')
        body = {'project_id': project_id, 'resources': requested}
        if consumer_id is not None:
            body['consumer_id'] = consumer_id
        deltas, expected = self.model.decide(consumer_id, project_id,
                                             requested)
        resp = self.app.post_json('/v1/enforce', body, headers=af.SERVICE)
        if expected:
            STEPS['dry_runs_refused'] += 1
        assert resp.json['allowed'] == (not expected), (resp.json, expected)
        assert _blocking(resp.json['blocking']) == expected, (
            resp.json, expected)
        assert resp.json['deltas'] == deltas, (resp.json, deltas)

    # -- the one rule: a weighted choice of operation ----------------------
    def _possible(self, operation):
        if operation in ('resize_allocation', 'delete_allocation'):
            return bool(self.model.allocations)
        if operation == 'move_allocation':
            return bool(self.model.allocations) and len(
                self.model.parents) > 1
        if operation == 'create_project':
            return len(self.model.parents) < MAX_PROJECTS
        return True

    @stateful.rule(data=st.data())
    def step(self, data):
        """One operation, drawn with fixed weights (see OPERATIONS)."""
        choices = [name for name, weight in OPERATIONS
                   for _ in range(weight) if self._possible(name)]
        operation = data.draw(st.sampled_from(choices), label='operation')
        STEPS['steps'] += 1
        STEPS[operation] = STEPS.get(operation, 0) + 1
        getattr(self, operation)(data)

    # -- invariants ---------------------------------------------------------
    @stateful.invariant()
    def usage_reports_match_the_model(self):
        model = self.model
        allocations = model.allocations
        snapshot = {}
        seen = set()
        for root in model.roots():
            resp = self.app.get('/v1/projects/%s/usage?subtree=true' % root,
                                headers=af.SYSTEM_READER)
            levels = resp.json['projects']
            ids = [level['project_id'] for level in levels]
            assert sorted(ids) == sorted(model.subtree(root)), (root, ids)
            assert ids[0] == root
            for level in levels:
                project_id = level['project_id']
                seen.add(project_id)
                assert level['parent_id'] == model.parents[project_id]
                assert level['depth'] == model.depth(project_id)
                reported = level['resources']
                for name in RESOURCES:
                    own = model.own_usage(allocations, project_id, name)
                    below = model.subtree_usage(allocations, project_id,
                                                name)
                    if name not in reported:
                        # Only resources nobody used nor limited here
                        # may be left out of the report.
                        assert own == below == 0, (project_id, name)
                        assert not any(
                            p in model.subtree(root) and n == name
                            for p, _, _, n, _, _ in model.limits.values())
                        continue
                    expected = {
                        'own_limit': model.own_limit(project_id, name),
                        'subtree_limit': model.subtree_limit(project_id,
                                                             name),
                        'own_usage': own, 'subtree_usage': below}
                    assert reported[name] == expected, (
                        project_id, name, reported[name], expected)
                    snapshot[(project_id, name, 'project')] = (
                        expected['own_limit'], own)
                    if expected['subtree_limit'] is not None:
                        snapshot[(project_id, name, 'subtree')] = (
                            expected['subtree_limit'], below)
        assert seen == set(model.parents), (seen, model.parents)
        self._check_over_commit(snapshot)

    def _check_over_commit(self, snapshot):
        over = {key: value for key, value in snapshot.items()
                if value[0] != UNLIMITED and value[1] > value[0]}
        if self.kind == 'allocation':
            for key, (limit, _) in snapshot.items():
                if key in self.snapshot:
                    assert self.snapshot[key][0] == limit, key
            for key, (limit, usage) in over.items():
                assert key in self.over, (
                    'an allocation took %s over its limit: %d > %d'
                    % (key, usage, limit))
                assert self.over[key][0] == limit, key
                assert usage <= self.over[key][1], (
                    'an allocation grew %s, already over its limit %d, '
                    'from %d to %d' % (key, limit, self.over[key][1], usage))
        elif self.kind == 'read-only':
            assert snapshot == self.snapshot, 'a read-only step wrote'
        else:
            STEPS['operator_overs'] += len(set(over) - set(self.over))
        self.over = over
        self.snapshot = snapshot

    @stateful.invariant()
    def allocation_list_matches_the_model(self):
        resp = self.app.get('/v1/allocations', headers=af.SERVICE)
        got = {a['consumer_id']: (a['project_id'], a['resources'],
                                  a['expires_at'])
               for a in resp.json['allocations']}
        expected = {c: (p, res, None)
                    for c, (p, res) in self.model.allocations.items()}
        assert got == expected, (got, expected)
        assert [a['consumer_id'] for a in resp.json['allocations']] == \
            sorted(got)

    @stateful.invariant()
    def ledger_counters_match_the_model(self):
        """The counters decisions read equal sums of the allocations."""
        model = self.model
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                'SELECT project_id, resource_name, own_used, subtree_used, '
                'adjustment FROM usages')).all()
        counters = {(p, n): (own, sub, adj) for p, n, own, sub, adj in rows}
        for project_id in model.parents:
            for name in RESOURCES:
                expected = (
                    model.own_usage(model.allocations, project_id, name),
                    model.subtree_usage(model.allocations, project_id,
                                        name), 0)
                got = counters.get((project_id, name), (0, 0, 0))
                assert got == expected, (
                    'usages row of %s/%s is (own, subtree, adjustment) '
                    '%r, the allocations sum to %r'
                    % (project_id, name, got, expected))


class TestLedgerProperties(LedgerMachine.TestCase):
    """Run the state machine (defined here so that the test id is ours)."""

    settings = hypothesis.settings(
        max_examples=50,
        stateful_step_count=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )


# -- Concurrent mode ---------------------------------------------------------
#
# A project move and allocation requests sent at once cannot be checked by
# the state machine above: which order their transactions took is up to
# the database, so the answers are unknown beforehand, and hypothesis needs
# every draw to follow from the draws before it.  Here the whole plan is
# drawn first (a tree, limits, then bursts of requests that do not depend
# on any answer), then sent burst by burst; the model takes each answer
# as given (an allowed PUT holds, a refused one changed nothing, an allowed
# move moved), and after every burst the machine's invariants run: the
# ledger counters equal the sums of the allocations on the tree that
# resulted, the reports and the allocation list match, and no limit went
# over (moves are decided against the limits of the levels they grow).

# Two branches and leaves under each; the moves swap X between A and B,
# lift a leaf to the root or hang it under the other branch.
BURST_TREE = (('root', None), ('A', 'root'), ('X', 'A'), ('X0', 'X'),
              ('X1', 'X'), ('B', 'root'), ('Y0', 'B'), ('Y1', 'B'))
BURST_LEAVES = ('X', 'X0', 'X1', 'Y0', 'Y1', 'A', 'B')
BURST_MOVES = (('X', 'B'), ('X', 'A'), ('X0', 'Y0'), ('X0', 'X'),
               ('Y1', None), ('Y1', 'B'), ('Y1', 'X1'))
BURST_CONSUMERS = tuple('c-%d' % i for i in range(8))

burst = st.tuples(
    st.sampled_from(BURST_MOVES),
    st.dictionaries(
        st.sampled_from(BURST_CONSUMERS),
        st.one_of(st.none(),
                  st.tuples(st.sampled_from(BURST_LEAVES), amounts)),
        min_size=2, max_size=6))
burst_plan = st.fixed_dictionaries({
    'subtree_limits': st.dictionaries(
        st.sampled_from(('root', 'A', 'B', 'X')),
        st.integers(4, 30), max_size=4),
    'bursts': st.lists(burst, min_size=2, max_size=6),
})


def _send(wsgi, request):
    app = webtest.TestApp(wsgi)
    kind, key, arg = request
    if kind == 'move':
        return app.patch_json('/v1/projects/%s' % key, {'parent_id': arg},
                              headers=af.SYSTEM_ADMIN, expect_errors=True)
    if arg is None:
        return app.delete('/v1/allocations/%s' % key, headers=af.SERVICE,
                          expect_errors=True)
    return app.put_json('/v1/allocations/%s' % key,
                        {'project_id': arg[0], 'resources': arg[1]},
                        headers=af.SERVICE, expect_errors=True)


def _take_answer(machine, request, resp):
    """Apply one answer of a burst to the model."""
    kind, key, arg = request
    model = machine.model
    if kind == 'move':
        if resp.status_int == 409:
            assert machine._error_code(resp) in (
                'limits.over_limit', 'limits.project_cycle'), resp.text
            return
        assert resp.status_int == 200, (resp.status, resp.text)
        model.parents[key] = arg
        STEPS['burst_moves'] += 1
    elif arg is None:
        if key in model.allocations:
            assert resp.status_int == 204, (resp.status, resp.text)
            del model.allocations[key]
        else:
            assert resp.status_int == 404, (resp.status, resp.text)
    elif resp.status_int == 409:
        assert machine._error_code(resp) == 'limits.over_limit', resp.text
    else:
        assert resp.status_int == 200, (resp.status, resp.text)
        kept = {n: a for n, a in arg[1].items() if a}
        if kept:
            model.allocations[key] = (arg[0], kept)
        else:
            model.allocations.pop(key, None)


def _run_bursts(plan, database_url=None):
    machine = LedgerMachine(database_url)
    try:
        machine._step('operator')
        for project_id, parent_id in BURST_TREE:
            body = {'id': project_id}
            if parent_id:
                body['parent_id'] = parent_id
            machine.app.post_json('/v1/projects', body,
                                  headers=af.SYSTEM_ADMIN, status=201)
            machine.model.parents[project_id] = parent_id
        for name in RESOURCES:
            machine._post_registered('nova', None, name, 20)
        for project_id, value in sorted(plan['subtree_limits'].items()):
            machine._post_limit(project_id, 'nova', None, 'cores',
                                'subtree', value)
        machine.usage_reports_match_the_model()
        for move, allocations in plan['bursts']:
            STEPS['bursts'] += 1
            machine._step('allocation')
            requests = [('move',) + move] + [
                ('allocation', consumer, arg)
                for consumer, arg in sorted(allocations.items())]
            with concurrent.futures.ThreadPoolExecutor(
                    len(requests)) as pool:
                answers = list(pool.map(
                    lambda r: _send(machine.fixture.wsgi, r), requests))
            for request, resp in zip(requests, answers):
                _take_answer(machine, request, resp)
            machine.ledger_counters_match_the_model()
            machine.allocation_list_matches_the_model()
            machine.usage_reports_match_the_model()
    finally:
        machine.teardown()


class TestConcurrentMovesOnSQLite(testtools.TestCase):
    """Project moves racing allocations, checked against the model."""

    @hypothesis.settings(max_examples=12, deadline=None, derandomize=True,
                         database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(plan=burst_plan)
    def test_bursts_keep_the_ledger_equal_to_the_allocations(self, plan):
        _run_bursts(plan)


class TestConcurrentMovesOnPostgreSQL(testtools.TestCase):
    """The same on PostgreSQL, where transactions really run side by side
    (each thread holds its own connection)."""

    @hypothesis.settings(max_examples=12, deadline=None, derandomize=True,
                         database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(plan=burst_plan)
    def test_bursts_keep_the_ledger_equal_to_the_allocations(self, plan):
        database = postgresql.Database()
        database.setUp()
        try:
            _run_bursts(plan, database.url)
        finally:
            database.cleanUp()
