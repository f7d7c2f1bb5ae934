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

"""Tests of the tree arithmetic and the allocation decision.

The first half is a set of small hand-written tables. The second half
drives random trees, limits and allocation sequences through the module and
compares every answer with a brute-force model that recomputes all usage
from the raw ledger of allocations and knows nothing of chains.
"""

import collections

import hypothesis
from hypothesis import strategies as st
import testtools

from limits_svc import quota_tree


def _level(project_id, own=None, subtree=None, own_limits=None,
           subtree_limits=None):
    return quota_tree.Level(project_id, own or {}, subtree or {},
                            own_limits or {}, subtree_limits or {})


def _tuples(violations):
    return [(v.project_id, v.resource_name, v.scope, v.limit, v.usage,
             v.delta) for v in violations]


# A small tree used by several tables:
#
#   root
#   |-- a
#   |   |-- a1
#   |   |   `-- a1x
#   |   `-- a2
#   `-- b
#   lone   (a second root)
PARENTS = {
    'root': None,
    'a': 'root',
    'b': 'root',
    'a1': 'a',
    'a2': 'a',
    'a1x': 'a1',
    'lone': None,
}


class TestProjectTree(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tree = quota_tree.ProjectTree(PARENTS)

    def test_ancestors(self):
        cases = [
            ('root', ['root']),
            ('a', ['a', 'root']),
            ('a1', ['a1', 'a', 'root']),
            ('a1x', ['a1x', 'a1', 'a', 'root']),
            ('b', ['b', 'root']),
            ('lone', ['lone']),
        ]
        for project_id, expected in cases:
            self.assertEqual(expected, self.tree.ancestors(project_id),
                             project_id)

    def test_ancestors_returns_a_fresh_list(self):
        chain = self.tree.ancestors('a1')
        chain.append('junk')
        self.assertEqual(['a1', 'a', 'root'], self.tree.ancestors('a1'))

    def test_depth(self):
        cases = [('root', 0), ('a', 1), ('a1', 2), ('a1x', 3), ('lone', 0)]
        for project_id, expected in cases:
            self.assertEqual(expected, self.tree.depth(project_id),
                             project_id)
        self.assertEqual(3, self.tree.max_depth)

    def test_descendants_all_depths_in_drawing_order(self):
        cases = [
            ('root', ['a', 'a1', 'a1x', 'a2', 'b']),
            ('a', ['a1', 'a1x', 'a2']),
            ('a1', ['a1x']),
            ('a1x', []),
            ('lone', []),
        ]
        for project_id, expected in cases:
            self.assertEqual(expected, self.tree.descendants(project_id),
                             project_id)
        self.assertEqual(['a', 'a1', 'a1x', 'a2'], self.tree.subtree('a'))

    def test_parent_children_roots(self):
        self.assertIsNone(self.tree.parent('root'))
        self.assertEqual('a1', self.tree.parent('a1x'))
        self.assertEqual(['a1', 'a2'], self.tree.children('a'))
        self.assertEqual([], self.tree.children('b'))
        self.assertEqual(['lone', 'root'], self.tree.roots())
        self.assertEqual(7, len(self.tree))
        self.assertIn('a2', self.tree)
        self.assertNotIn('zz', self.tree)
        self.assertEqual(set(PARENTS), set(self.tree))

    def test_is_ancestor(self):
        self.assertTrue(self.tree.is_ancestor('root', 'a1x'))
        self.assertTrue(self.tree.is_ancestor('a1x', 'a1x'))
        self.assertFalse(self.tree.is_ancestor('b', 'a1x'))
        self.assertFalse(self.tree.is_ancestor('a1x', 'a'))

    def test_unknown_project(self):
        lookups = [self.tree.ancestors, self.tree.descendants,
                   self.tree.subtree, self.tree.depth, self.tree.parent,
                   self.tree.children]
        for lookup in lookups:
            exc = self.assertRaises(quota_tree.UnknownProject, lookup, 'zz')
            self.assertEqual('zz', exc.project_id)
            self.assertIn('zz', str(exc))
        self.assertRaises(quota_tree.UnknownProject,
                          self.tree.is_ancestor, 'zz', 'a')

    def test_unknown_parent(self):
        exc = self.assertRaises(quota_tree.UnknownProject,
                                quota_tree.ProjectTree,
                                {'a': None, 'b': 'ghost'})
        self.assertEqual('ghost', exc.project_id)
        self.assertEqual('b', exc.referenced_by)
        self.assertIn('parent of project b', str(exc))

    def test_cycles(self):
        cases = [
            ({'a': 'a'}, {'a'}),
            ({'a': 'b', 'b': 'a'}, {'a', 'b'}),
            ({'r': None, 'x': 'r', 'a': 'b', 'b': 'c', 'c': 'a'},
             {'a', 'b', 'c'}),
            # A tail that leads into a loop: only the loop is reported.
            ({'t': 'b', 'a': 'b', 'b': 'c', 'c': 'b'}, {'b', 'c'}),
        ]
        for parents, members in cases:
            exc = self.assertRaises(quota_tree.ProjectTreeCycle,
                                    quota_tree.ProjectTree, parents)
            self.assertEqual(members, set(exc.cycle), parents)
            self.assertIsInstance(exc, quota_tree.QuotaTreeError)
            self.assertIn('cycle', str(exc))

    def test_empty_tree(self):
        tree = quota_tree.ProjectTree({})
        self.assertEqual(0, len(tree))
        self.assertEqual(-1, tree.max_depth)
        self.assertEqual([], tree.roots())


class TestLimitResolution(testtools.TestCase):

    def _catalog(self, policy=quota_tree.DEFAULT_NO_LIMIT_POLICY):
        return quota_tree.LimitCatalog(
            [quota_tree.RegisteredLimit('cores', 20),
             quota_tree.RegisteredLimit('ram', -1)],
            [quota_tree.ProjectLimit('a', 'cores', 8),
             quota_tree.ProjectLimit('a', 'cores', 50, 'subtree'),
             quota_tree.ProjectLimit('b', 'cores', -1),
             quota_tree.ProjectLimit('b', 'gpus', 2, 'subtree'),
             quota_tree.ProjectLimit('c', 'gpus', 0)],
            no_limit_policy=policy)

    def test_resolve(self):
        # (project, resource, policy, own, subtree)
        cases = [
            ('a', 'cores', 'deny', 8, 50),      # both overrides
            ('x', 'cores', 'deny', 20, None),   # registered default
            ('x', 'ram', 'deny', -1, None),     # registered unlimited
            ('b', 'cores', 'deny', -1, None),   # override to unlimited
            ('b', 'gpus', 'deny', 0, 2),        # subtree only, deny own
            ('b', 'gpus', 'unlimited', -1, 2),  # subtree only, open own
            ('c', 'gpus', 'unlimited', 0, None),  # override beats policy
            ('x', 'gpus', 'deny', 0, None),     # nothing at all: deny
            ('x', 'gpus', 'unlimited', -1, None),  # nothing: unlimited
        ]
        for project_id, name, policy, own, subtree in cases:
            resolved = self._catalog(policy).resolve(project_id, name)
            self.assertEqual(quota_tree.ResolvedLimit(own, subtree),
                             resolved, (project_id, name, policy))

    def test_registered_default_is_never_a_subtree_limit(self):
        catalog = quota_tree.LimitCatalog({'cores': 4})
        self.assertIsNone(catalog.resolve('anyone', 'cores').subtree)

    def test_default_policy_is_deny_like_oslo_limit(self):
        self.assertEqual('deny', quota_tree.DEFAULT_NO_LIMIT_POLICY)
        self.assertEqual(0, quota_tree.LimitCatalog().resolve('p', 'x').own)

    def test_resolve_limit_function(self):
        overrides = {('p', 'cores', 'subtree'): 9}
        self.assertEqual(
            quota_tree.ResolvedLimit(-1, 9),
            quota_tree.resolve_limit('p', 'cores', {}, overrides,
                                     'unlimited'))
        self.assertEqual(
            quota_tree.ResolvedLimit(3, None),
            quota_tree.resolve_limit('q', 'cores', {'cores': 3}, overrides))

    def test_resource_names(self):
        self.assertEqual({'cores', 'ram', 'gpus'},
                         self._catalog().resource_names())

    def test_invalid_values(self):
        bad = [
            lambda: quota_tree.RegisteredLimit('cores', -2),
            lambda: quota_tree.RegisteredLimit('cores', '5'),
            lambda: quota_tree.RegisteredLimit('cores', True),
            lambda: quota_tree.RegisteredLimit('cores', 1.5),
            lambda: quota_tree.ProjectLimit('p', 'cores', -7),
            lambda: quota_tree.ProjectLimit('p', 'cores', 1, 'domain'),
            lambda: quota_tree.LimitCatalog(no_limit_policy='maybe'),
            lambda: quota_tree.LimitCatalog({'cores': -3}),
            lambda: quota_tree.LimitCatalog(
                [], [quota_tree.ProjectLimit('p', 'cores', 1),
                     quota_tree.ProjectLimit('p', 'cores', 2)]),
            lambda: quota_tree.LimitCatalog(
                [quota_tree.RegisteredLimit('cores', 1),
                 quota_tree.RegisteredLimit('cores', 2)]),
            lambda: quota_tree.resolve_limit('p', 'x', {}, {}, 'nope'),
        ]
        for make in bad:
            exc = self.assertRaises(quota_tree.InvalidLimit, make)
            self.assertIsInstance(exc, ValueError)

    def test_both_scopes_on_one_project_are_allowed(self):
        index = quota_tree.index_project_limits(
            [quota_tree.ProjectLimit('p', 'cores', 1),
             quota_tree.ProjectLimit('p', 'cores', 2, 'subtree')])
        self.assertEqual({('p', 'cores', 'project'): 1,
                          ('p', 'cores', 'subtree'): 2}, index)


class TestCheckAllocation(testtools.TestCase):

    def test_own_limit_table(self):
        # (own usage, own limit, delta, blocked?)
        cases = [
            (0, 10, 5, False),
            (5, 10, 5, False),      # exactly at the limit is fine
            (5, 10, 6, True),
            (10, 10, 1, True),
            (0, 0, 1, True),        # deny
            (0, 0, 0, False),       # nothing asked
            (999, -1, 1000, False),  # unlimited
            (3, None, 50, False),   # no own limit on this level
            (12, 10, -1, False),    # over after lowering; shrink allowed
            (12, 10, 0, False),
        ]
        for usage, limit, delta, blocked in cases:
            chain = [_level('p', own={'cores': usage},
                            subtree={'cores': usage},
                            own_limits={'cores': limit})]
            got = quota_tree.check_allocation(chain, {'cores': delta})
            expected = ([('p', 'cores', 'project', limit, usage, delta)]
                        if blocked else [])
            self.assertEqual(expected, _tuples(got),
                             (usage, limit, delta))

    def test_subtree_limit_at_each_level(self):
        # A depth-4 chain; put one tight subtree limit at each level in
        # turn, with generous ones elsewhere.
        ids = ['leaf', 'mid2', 'mid1', 'root']
        usage = {'leaf': 1, 'mid2': 3, 'mid1': 6, 'root': 10}
        for tight in ids:
            chain = []
            for project_id in ids:
                limit = usage[project_id] + 1 if project_id == tight else 100
                chain.append(_level(
                    project_id,
                    own={'cores': 1} if project_id == 'leaf' else {},
                    subtree={'cores': usage[project_id]},
                    own_limits={'cores': -1} if project_id == 'leaf' else {},
                    subtree_limits={'cores': limit}))
            self.assertEqual([], quota_tree.check_allocation(
                chain, {'cores': 1}), tight)
            got = quota_tree.check_allocation(chain, {'cores': 2})
            self.assertEqual(
                [(tight, 'cores', 'subtree', usage[tight] + 1,
                  usage[tight], 2)], _tuples(got), tight)

    def test_ancestor_own_limit_is_not_checked(self):
        chain = [
            _level('leaf', own_limits={'cores': 10}),
            _level('parent', own={'cores': 5}, subtree={'cores': 5},
                   own_limits={'cores': 0}),
        ]
        self.assertEqual([], quota_tree.check_allocation(
            chain, {'cores': 3}))

    def test_unlimited_subtree_never_blocks(self):
        chain = [
            _level('leaf', subtree={'cores': 10 ** 9},
                   own_limits={'cores': -1}, subtree_limits={'cores': -1}),
            _level('root', subtree={'cores': 10 ** 9},
                   subtree_limits={'cores': -1}),
        ]
        self.assertEqual([], quota_tree.check_allocation(
            chain, {'cores': 10 ** 6}))

    def test_shrinking_is_allowed_when_over_everywhere(self):
        chain = [
            _level('leaf', own={'cores': 9, 'ram': 9},
                   subtree={'cores': 9, 'ram': 9},
                   own_limits={'cores': 1, 'ram': 1},
                   subtree_limits={'cores': 1, 'ram': 1}),
            _level('root', subtree={'cores': 20, 'ram': 20},
                   subtree_limits={'cores': 1, 'ram': 1}),
        ]
        self.assertEqual([], quota_tree.check_allocation(
            chain, {'cores': -4, 'ram': 0}))
        # Only the resource that grows blocks, at every level.
        got = quota_tree.check_allocation(chain, {'cores': -4, 'ram': 1})
        self.assertEqual([
            ('leaf', 'ram', 'project', 1, 9, 1),
            ('leaf', 'ram', 'subtree', 1, 9, 1),
            ('root', 'ram', 'subtree', 1, 20, 1),
        ], _tuples(got))

    def test_every_blocking_level_is_reported_in_order(self):
        chain = [
            _level('leaf', own={'ram': 4, 'cores': 2},
                   subtree={'ram': 4, 'cores': 2},
                   own_limits={'ram': 5, 'cores': 3, 'gpus': 0},
                   subtree_limits={'cores': 100}),
            _level('mid', subtree={'ram': 10, 'cores': 8},
                   subtree_limits={'ram': 11}),
            _level('root', subtree={'ram': 30, 'cores': 20, 'gpus': 1},
                   subtree_limits={'cores': 21, 'ram': 100, 'gpus': 1}),
        ]
        deltas = {'ram': 2, 'cores': 2, 'gpus': 1, 'disk': 7}
        got = quota_tree.check_allocation(chain, deltas)
        self.assertEqual([
            ('leaf', 'cores', 'project', 3, 2, 2),
            ('leaf', 'gpus', 'project', 0, 0, 1),
            ('leaf', 'ram', 'project', 5, 4, 2),
            ('mid', 'ram', 'subtree', 11, 10, 2),
            ('root', 'cores', 'subtree', 21, 20, 2),
            ('root', 'gpus', 'subtree', 1, 1, 1),
        ], _tuples(got))

    def test_project_scope_before_subtree_scope(self):
        chain = [_level('p', own={'cores': 1}, subtree={'cores': 5},
                        own_limits={'cores': 1},
                        subtree_limits={'cores': 5})]
        got = quota_tree.check_allocation(chain, {'cores': 1})
        self.assertEqual(['project', 'subtree'], [v.scope for v in got])

    def test_nothing_asked(self):
        chain = [_level('p', own_limits={'cores': 0})]
        self.assertEqual([], quota_tree.check_allocation(chain, {}))

    def test_empty_chain(self):
        self.assertRaises(ValueError, quota_tree.check_allocation,
                          [], {'cores': 1})

    def test_violation_to_dict(self):
        violation = quota_tree.Violation('p', 'cores', 'subtree', 10, 8, 4)
        self.assertEqual(12, violation.requested)
        self.assertEqual({'project_id': 'p', 'resource': 'cores',
                          'scope': 'subtree', 'limit': 10, 'usage': 8,
                          'delta': 4}, violation.to_dict())


class TestReplacementDeltas(testtools.TestCase):

    def test_table(self):
        cases = [
            ({}, {'cores': 4}, {'cores': 4}),
            ({'cores': 4}, {'cores': 4}, {}),
            ({'cores': 4}, {'cores': 6}, {'cores': 2}),
            ({'cores': 4, 'ram': 8}, {'cores': 1}, {'cores': -3, 'ram': -8}),
            ({'cores': 4}, {}, {'cores': -4}),
            ({'cores': 0}, {'ram': 0}, {}),
        ]
        for previous, requested, expected in cases:
            self.assertEqual(
                expected,
                quota_tree.replacement_deltas(previous, requested),
                (previous, requested))


class TestUsageHelpers(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tree = quota_tree.ProjectTree(PARENTS)
        self.own = {
            'root': {'cores': 1},
            'a': {'cores': 2},
            'a1': {'cores': 4, 'ram': 1},
            'a1x': {'cores': 8},
            'a2': {'ram': 16},
            'lone': {'cores': 32},
        }

    def test_subtree_usages(self):
        sums = quota_tree.subtree_usages(self.tree, self.own)
        self.assertEqual({
            'root': {'cores': 15, 'ram': 17},
            'a': {'cores': 14, 'ram': 17},
            'a1': {'cores': 12, 'ram': 1},
            'a1x': {'cores': 8},
            'a2': {'ram': 16},
            'b': {},
            'lone': {'cores': 32},
        }, sums)

    def test_subtree_usages_does_not_touch_its_input(self):
        quota_tree.subtree_usages(self.tree, self.own)
        self.assertEqual({'cores': 4, 'ram': 1}, self.own['a1'])

    def test_subtree_usages_of_one_subtree(self):
        sums = quota_tree.subtree_usages(self.tree, self.own, root='a1')
        self.assertEqual({'a1': {'cores': 12, 'ram': 1},
                          'a1x': {'cores': 8}}, sums)

    def test_subtree_usages_unknown_project(self):
        self.own['ghost'] = {'cores': 1}
        self.assertRaises(quota_tree.UnknownProject,
                          quota_tree.subtree_usages, self.tree, self.own)
        self.assertRaises(quota_tree.UnknownProject,
                          quota_tree.subtree_usages, self.tree, self.own,
                          root='ghost')

    def test_usage_report(self):
        catalog = quota_tree.LimitCatalog(
            {'cores': 10},
            [quota_tree.ProjectLimit('a', 'cores', 20, 'subtree'),
             quota_tree.ProjectLimit('a1', 'ram', 5)],
            no_limit_policy='unlimited')
        report = quota_tree.usage_report(self.tree, 'a', catalog, self.own)
        self.assertEqual(['a', 'a1', 'a1x', 'a2'],
                         [level.project_id for level in report])
        self.assertEqual([0, 1, 2, 1], [level.depth for level in report])
        self.assertEqual(['root', 'a', 'a1', 'a'],
                         [level.parent_id for level in report])
        self.assertEqual({
            'project_id': 'a', 'parent_id': 'root', 'depth': 0,
            'resources': {
                'cores': {'own_limit': 10, 'subtree_limit': 20,
                          'own_usage': 2, 'subtree_usage': 14},
                'ram': {'own_limit': -1, 'subtree_limit': None,
                        'own_usage': 0, 'subtree_usage': 17},
            }}, report[0].to_dict())
        self.assertEqual(
            quota_tree.ResourceReport(5, None, 1, 1),
            report[1].resources['ram'])

    def test_usage_report_selected_resources(self):
        catalog = quota_tree.LimitCatalog({'cores': 10})
        report = quota_tree.usage_report(self.tree, 'b', catalog, self.own,
                                         resource_names=['gpus'])
        self.assertEqual(1, len(report))
        self.assertEqual({'gpus': quota_tree.ResourceReport(0, None, 0, 0)},
                         report[0].resources)

    def test_build_chain(self):
        catalog = quota_tree.LimitCatalog(
            {'cores': 10},
            [quota_tree.ProjectLimit('a', 'cores', 20, 'subtree'),
             quota_tree.ProjectLimit('root', 'cores', 14, 'subtree')])
        sums = quota_tree.subtree_usages(self.tree, self.own)
        chain = quota_tree.build_chain(self.tree, 'a1x', catalog, self.own,
                                       sums, ['cores'])
        self.assertEqual(['a1x', 'a1', 'a', 'root'],
                         [level.project_id for level in chain])
        self.assertEqual({'cores': 10}, chain[0].own_limits)
        self.assertEqual({'cores': 8}, chain[0].own_usage)
        self.assertEqual({}, chain[1].own_usage)
        self.assertEqual({}, chain[1].subtree_limits)
        self.assertEqual({'cores': 20}, chain[2].subtree_limits)
        got = quota_tree.check_allocation(chain, {'cores': 2})
        self.assertEqual([('root', 'cores', 'subtree', 14, 15, 2)],
                         _tuples(got))


# ---------------------------------------------------------------------------
# Property-based tests against a brute-force model
# ---------------------------------------------------------------------------

RESOURCES = ('cores', 'gpus', 'ram')
MAX_DEPTH = 5          # depth counted from 0: six levels at most
SCOPE_ORDER = {'project': 0, 'subtree': 1}

PROPERTY_SETTINGS = hypothesis.settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=250,
    suppress_health_check=[hypothesis.HealthCheck.too_slow,
                           hypothesis.HealthCheck.data_too_large],
)


@st.composite
def parent_maps(draw, max_projects=30):
    count = draw(st.integers(1, max_projects))
    parents = {}
    depth = {}
    previous = None
    for index in range(count):
        project_id = 'p%02d' % index
        eligible = sorted(p for p in parents if depth[p] < MAX_DEPTH)
        choice = draw(st.integers(0, 9))
        if not eligible or choice == 0:
            parent_id = None
        elif choice <= 4 and previous in eligible:
            # Favour chains so that deep trees come up often.
            parent_id = previous
        else:
            parent_id = draw(st.sampled_from(eligible))
        parents[project_id] = parent_id
        depth[project_id] = 0 if parent_id is None else depth[parent_id] + 1
        previous = project_id
    return parents


limit_values = st.integers(-1, 12)


@st.composite
def optional_limits(draw):
    if draw(st.integers(0, 2)) == 0:
        return draw(limit_values)
    return None


@st.composite
def scenarios(draw):
    parents = draw(parent_maps())
    projects = sorted(parents)
    registered = {}
    for name in RESOURCES:
        if draw(st.integers(0, 3)):
            registered[name] = draw(limit_values)
    overrides = {}
    for project_id in projects:
        for name in RESOURCES:
            for scope in quota_tree.SCOPES:
                value = draw(optional_limits())
                if value is not None:
                    overrides[(project_id, name, scope)] = value
    policy = draw(st.sampled_from(quota_tree.NO_LIMIT_POLICIES))
    # Requests go to a few "hot" projects so that usage piles up, and limit
    # changes go to their chains, where they matter.
    hot = draw(st.lists(st.sampled_from(projects), min_size=1, max_size=4,
                        unique=True))
    chains = set()
    for project_id in hot:
        while project_id is not None:
            chains.add(project_id)
            project_id = parents[project_id]
    amounts = st.dictionaries(st.sampled_from(RESOURCES),
                              st.integers(1, 6), min_size=1, max_size=3)
    # Two consumer slots per project, so that PUTs often replace an
    # earlier allocation (grow, shrink or both at once).
    put = st.tuples(st.just('put'), st.sampled_from(hot),
                    st.integers(0, 1), amounts)
    delete = st.tuples(st.just('delete'), st.sampled_from(hot),
                       st.integers(0, 1))
    # Limits change mid-sequence, often to less than the current usage,
    # so that levels are already over when the next request comes.
    relimit = st.tuples(st.just('relimit'), st.sampled_from(sorted(chains)),
                        st.sampled_from(RESOURCES),
                        st.sampled_from(quota_tree.SCOPES),
                        st.one_of(st.none(), st.integers(-1, 3)))
    # Three PUTs for one DELETE and one limit change.
    step = st.integers(0, 4).flatmap(
        lambda kind: put if kind < 3 else delete if kind == 3 else relimit)
    steps = draw(st.lists(step, min_size=8, max_size=40))
    return parents, registered, overrides, policy, steps


class BruteForceModel:
    """Limits and usage recomputed from scratch, with no chains or sums.

    The ledger maps a consumer key ``(project_id, slot)`` to its amounts.
    """

    def __init__(self, parents, registered, overrides, policy):
        self.parents = parents
        self.registered = registered
        self.overrides = overrides
        self.policy = policy

    def is_below(self, project_id, ancestor_id):
        node = project_id
        while node is not None:
            if node == ancestor_id:
                return True
            node = self.parents[node]
        return False

    def depth(self, project_id):
        depth = 0
        while self.parents[project_id] is not None:
            project_id = self.parents[project_id]
            depth += 1
        return depth

    def own_limit(self, project_id, name):
        key = (project_id, name, 'project')
        if key in self.overrides:
            return self.overrides[key]
        if name in self.registered:
            return self.registered[name]
        return 0 if self.policy == 'deny' else -1

    def subtree_limit(self, project_id, name):
        return self.overrides.get((project_id, name, 'subtree'))

    def usages(self, ledger):
        own = {}
        subtree = {}
        for project_id in self.parents:
            for name in RESOURCES:
                own[project_id, name] = sum(
                    amounts.get(name, 0)
                    for (owner, _), amounts in ledger.items()
                    if owner == project_id)
                subtree[project_id, name] = sum(
                    amounts.get(name, 0)
                    for (owner, _), amounts in ledger.items()
                    if self.is_below(owner, project_id))
        return own, subtree

    def limits_and_usages(self, ledger):
        """Yield (project, resource, scope, limit, usage) for every limit."""
        own, subtree = self.usages(ledger)
        for project_id in self.parents:
            for name in RESOURCES:
                yield (project_id, name, 'project',
                       self.own_limit(project_id, name), own[project_id, name])
                limit = self.subtree_limit(project_id, name)
                if limit is not None:
                    yield (project_id, name, 'subtree', limit,
                           subtree[project_id, name])

    def decide(self, ledger, key, amounts):
        """Violations of replacing ``ledger[key]`` with ``amounts``.

        A limit is violated when the change makes the usage it caps grow
        and the grown usage exceeds it.
        """
        after = dict(ledger)
        after[key] = amounts
        before_rows = list(self.limits_and_usages(ledger))
        after_rows = list(self.limits_and_usages(after))
        violations = []
        for (project_id, name, scope, limit, before), row in zip(
                before_rows, after_rows):
            now = row[4]
            if now > before and limit != -1 and now > limit:
                violations.append((project_id, name, scope, limit, before,
                                   now - before))
        violations.sort(key=lambda v: (-self.depth(v[0]), v[1],
                                       SCOPE_ORDER[v[2]]))
        return violations


class TestAgainstBruteForce(testtools.TestCase):

    @PROPERTY_SETTINGS
    @hypothesis.given(parent_maps())
    def test_tree_matches_naive_walks(self, parents):
        tree = quota_tree.ProjectTree(parents)
        model = BruteForceModel(parents, {}, {}, 'deny')
        for project_id in parents:
            chain = tree.ancestors(project_id)
            self.assertEqual(project_id, chain[0])
            for child, parent in zip(chain, chain[1:]):
                self.assertEqual(parents[child], parent)
            self.assertIsNone(parents[chain[-1]])
            self.assertEqual(model.depth(project_id), tree.depth(project_id))
            self.assertLessEqual(tree.depth(project_id), MAX_DEPTH)
            below = tree.descendants(project_id)
            self.assertEqual(len(below), len(set(below)))
            self.assertEqual(
                {p for p in parents
                 if p != project_id and model.is_below(p, project_id)},
                set(below))

    @PROPERTY_SETTINGS
    @hypothesis.given(parent_maps(max_projects=12), st.data())
    def test_any_loop_is_refused(self, parents, data):
        # Re-point a root at one of its own subtree members (maybe itself).
        roots = sorted(p for p, parent in parents.items() if parent is None)
        root = data.draw(st.sampled_from(roots))
        tree = quota_tree.ProjectTree(parents)
        target = data.draw(st.sampled_from(tree.subtree(root)))
        looped = dict(parents)
        looped[root] = target
        exc = self.assertRaises(quota_tree.ProjectTreeCycle,
                                quota_tree.ProjectTree, looped)
        self.assertIn(root, exc.cycle)
        self.assertIn(target, exc.cycle)

    @PROPERTY_SETTINGS
    @hypothesis.given(scenarios())
    def test_allocation_sequences(self, scenario):
        parents, registered, overrides, policy, steps = scenario
        tree = quota_tree.ProjectTree(parents)
        model = BruteForceModel(parents, registered, dict(overrides), policy)
        ledger = {}
        # What the service would keep: own usage per project, updated by
        # adding deltas; subtree sums come from the helper.
        own_usage = collections.defaultdict(dict)

        for step in steps:
            if step[0] == 'relimit':
                _, project_id, name, scope, value = step
                key = (project_id, name, scope)
                if value is None:
                    model.overrides.pop(key, None)
                else:
                    model.overrides[key] = value
                continue

            catalog = quota_tree.LimitCatalog(
                registered,
                [quota_tree.ProjectLimit(p, n, v, s)
                 for (p, n, s), v in model.overrides.items()],
                no_limit_policy=policy)
            _, project_id, slot = step[:3]
            key = (project_id, slot)
            requested = step[3] if step[0] == 'put' else {}
            previous = ledger.get(key, {})
            # Keep unchanged resources as explicit zero deltas: a caller
            # may send them, and they must never block.
            deltas = {name: requested.get(name, 0) - previous.get(name, 0)
                      for name in set(previous) | set(requested)}

            sums = quota_tree.subtree_usages(tree, own_usage)
            # (c) the helper's sums equal the brute-force sums.
            brute_own, brute_subtree = model.usages(ledger)
            for p in parents:
                for name in RESOURCES:
                    self.assertEqual(brute_subtree[p, name],
                                     sums[p].get(name, 0))
                    self.assertEqual(brute_own[p, name],
                                     own_usage[p].get(name, 0))

            chain = quota_tree.build_chain(tree, project_id, catalog,
                                           own_usage, sums, deltas)
            got = _tuples(quota_tree.check_allocation(chain, deltas))
            # (a) the decision equals the brute-force decision.
            self.assertEqual(model.decide(ledger, key, requested), got)
            if step[0] == 'delete':
                self.assertEqual([], got)
            if got:
                continue

            before = list(model.limits_and_usages(ledger))
            if requested:
                ledger[key] = requested
            else:
                ledger.pop(key, None)
            for name, delta in deltas.items():
                own_usage[project_id][name] = (
                    own_usage[project_id].get(name, 0) + delta)
            after = list(model.limits_and_usages(ledger))
            # (b) never over-commit: a limit exceeded now was exceeded
            # before, and the usage it caps has not grown.
            for old, new in zip(before, after):
                limit, used_before, used_now = old[3], old[4], new[4]
                if limit != -1 and used_now > limit:
                    self.assertGreater(used_before, limit, new)
                    self.assertLessEqual(used_now, used_before, new)

        # (c) once more on the final ledger.
        sums = quota_tree.subtree_usages(tree, own_usage)
        _, brute_subtree = model.usages(ledger)
        for p in parents:
            for name in RESOURCES:
                self.assertEqual(brute_subtree[p, name],
                                 sums[p].get(name, 0))


class _ChildrenReader(object):
    """``children(parent, after, n)`` over a parent map, as the database
    answers it, counting the rows it hands out."""

    def __init__(self, parents):
        self.children = collections.defaultdict(list)
        for project_id, parent_id in parents.items():
            if parent_id is not None:
                self.children[parent_id].append(project_id)
        self.rows = 0
        self.calls = 0

    def __call__(self, parent_id, after, n):
        self.calls += 1
        run = sorted(c for c in self.children[parent_id] if c > after)[:n]
        self.rows += len(run)
        return [(c, bool(self.children[c])) for c in run]


class TestDrawingOrderPage(testtools.TestCase):
    """A page of a subtree in drawing order, read a run of children at a
    time: the same projects as ProjectTree.subtree, reading what the page
    holds."""

    def pages(self, parents, root, size):
        reader = _ChildrenReader(parents)
        tree = quota_tree.ProjectTree(parents)
        drawn = [(root, None, 0)]
        path = [root]
        while True:
            page = quota_tree.drawing_order_page(path, size, reader, 99)
            self.assertLessEqual(len(page), size)
            drawn.extend(page)
            if len(page) < size:
                return drawn, reader
            path = tree.ancestors(page[-1][0])
            path = list(reversed(path[:path.index(root) + 1]))

    @PROPERTY_SETTINGS
    @hypothesis.given(parent_maps(), st.integers(1, 7), st.data())
    def test_pages_are_the_subtree_in_drawing_order(self, parents, size,
                                                    data):
        root = data.draw(st.sampled_from(sorted(parents)))
        tree = quota_tree.ProjectTree(parents)
        drawn, _reader = self.pages(parents, root, size)
        self.assertEqual(tree.subtree(root), [p for p, _, _ in drawn])
        for project_id, parent_id, depth in drawn[1:]:
            self.assertEqual(tree.parent(project_id), parent_id)
            self.assertEqual(tree.depth(project_id) - tree.depth(root),
                             depth)

    def test_ids_in_code_point_order(self):
        parents = {'r': None, 'a': 'r', 'B': 'r', '_z': 'r', 'é': 'r',
                   '\U0001f600': 'r', 'a-1': 'a'}
        drawn, _reader = self.pages(parents, 'r', 2)
        self.assertEqual(['r', 'B', '_z', 'a', 'a-1', 'é', '\U0001f600'],
                         [p for p, _, _ in drawn])

    def test_a_page_of_a_wide_root_reads_that_page(self):
        parents = {'root': None}
        parents.update(('c%05d' % n, 'root') for n in range(20000))
        reader = _ChildrenReader(parents)
        page = quota_tree.drawing_order_page(['root', 'c10000'], 50, reader,
                                             99)
        self.assertEqual(['c%05d' % n for n in range(10001, 10051)],
                         [p for p, _, _ in page])
        # The marker's children (none), then 50 of the root's.
        self.assertEqual(50, reader.rows)
        self.assertEqual(2, reader.calls)

    def test_after_a_project_no_longer_there(self):
        # The path's last project went (deleted, or moved with its
        # children): the page goes on with its next siblings, then up.
        parents = {'r': None, 'a': 'r', 'c': 'r', 'c1': 'c', 'd': 'r',
                   'x': None, 'b': 'x', 'b1': 'b'}
        reader = _ChildrenReader(parents)
        page = quota_tree.drawing_order_page(['r', 'b'], 10, reader, 99,
                                             descend=False)
        self.assertEqual([('c', 'r', 1), ('c1', 'c', 2), ('d', 'r', 1)],
                         page)
        page = quota_tree.drawing_order_page(['r', 'c', 'b'], 10, reader,
                                             99, descend=False)
        self.assertEqual([('c1', 'c', 2), ('d', 'r', 1)], page)

    def test_a_loop_is_refused(self):
        def children(parent_id, after, n):
            return [('a' if parent_id == 'b' else 'b', True)][:n] if (
                after == '') else []
        self.assertRaises(quota_tree.TooDeep, quota_tree.drawing_order_page,
                          ['a'], 1000, children, 64)
