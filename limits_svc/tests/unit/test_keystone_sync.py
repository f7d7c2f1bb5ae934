"""What :mod:`limits_svc.keystone_sync` takes from Keystone's lists, and
the answers it refuses before anything is written."""

import hypothesis
from hypothesis import strategies as st
import testtools

from limits_svc import keystone_sync
from limits_svc import quota_tree


def _project(**changes):
    project = {'id': 'p1', 'name': 'physics', 'parent_id': 'default',
               'domain_id': 'default', 'is_domain': False}
    project.update(changes)
    return project


def _registered(**changes):
    limit = {'id': 'r1', 'service_id': 'nova', 'region_id': None,
             'resource_name': 'cores', 'default_limit': 10,
             'description': None}
    limit.update(changes)
    return limit


def _limit(**changes):
    limit = {'id': 'l1', 'project_id': 'p1', 'domain_id': None,
             'service_id': 'nova', 'region_id': 'RegionOne',
             'resource_name': 'cores', 'resource_limit': 5,
             'description': 'physics [subtree]'}
    limit.update(changes)
    return limit


class TestSnapshot(testtools.TestCase):

    def test_keystone_lists_as_keystone_answers_them(self):
        snap = keystone_sync.snapshot(
            [_project(), _project(id='p2', parent_id='p1', name=None)],
            [_registered(), _registered(id='r2', region_id='RegionTwo',
                                           default_limit=-1)],
            [_limit(), _limit(id='l2', project_id=None, domain_id='d1',
                              resource_limit=0, description=None)])
        self.assertEqual(['p1', 'p2'], [p['id'] for p in snap.projects])
        self.assertEqual([None, 'p1'],
                         [p['parent_id'] for p in snap.projects])
        self.assertEqual([10, -1], [r['default_limit']
                                    for r in snap.registered_limits])
        self.assertEqual([('subtree', 5), ('project', 0)],
                         [(lim['scope'], lim['resource_limit'])
                          for lim in snap.project_limits])

    def test_an_item_limits_svc_cannot_use_is_refused(self):
        """Each is a BadAnswer naming the list, the item and the field
        (``7.5`` was kept as 7.5 on SQLite and 8 on PostgreSQL, ``-5`` as
        no limit at all, the others were tracebacks or a sync half
        written)."""
        cases = [
            ('projects', [_project(), 'p2'], 'projects[1]',
             'not an object'),
            ('projects', [{'name': 'x'}], 'projects[0]', 'id is missing'),
            ('projects', [_project(id=5)], 'projects[0]',
             'id 5 is not a string'),
            ('projects', [_project(id='')], 'projects[0]', 'id is empty'),
            ('projects', [_project(id='x' * 65)], 'projects[0]',
             'id is longer than 64'),
            ('projects', [_project(name='n' * 256)], '(id p1)',
             'name is longer than 255'),
            ('projects', [_project(parent_id=['p0'])], '(id p1)',
             "parent_id ['p0'] is not a string"),
            ('projects', {'p1': _project()}, 'projects',
             'not a JSON array'),
            ('registered_limits', [_registered(default_limit=7.5)],
             'registered_limits[0] (id r1)', 'default_limit 7.5 is not '
             'an integer'),
            ('registered_limits', [_registered(default_limit='7')],
             '(id r1)', "default_limit '7' is not an integer"),
            ('registered_limits', [_registered(default_limit=True)],
             '(id r1)', 'default_limit True is not an integer'),
            ('registered_limits', [_registered(default_limit=None)],
             '(id r1)', 'default_limit is null'),
            ('registered_limits', [_registered(default_limit=2 ** 63)],
             '(id r1)', 'is not -1 (no limit) or a count'),
            ('registered_limits', [_registered(service_id=None)],
             '(id r1)', 'service_id is null'),
            ('limits', [_limit(resource_limit=-5)], 'limits[0] (id l1)',
             'resource_limit -5 is not -1 (no limit) or a count'),
            ('limits', [_limit(resource_name=7)], '(id l1)',
             'resource_name 7 is not a string'),
            ('limits', [_limit(description=['x'])], '(id l1)',
             "description ['x'] is not a string"),
        ]
        for key, items, where, problem in cases:
            lists = {'projects': [], 'registered_limits': [], 'limits': []}
            lists[key] = items
            exc = self.assertRaises(
                keystone_sync.BadAnswer, keystone_sync.snapshot,
                lists['projects'], lists['registered_limits'],
                lists['limits'])
            self.assertEqual(key, exc.key)
            self.assertIn(where, str(exc))
            self.assertIn(problem, str(exc))
            self.assertIn('Nothing was synced', str(exc))

    def test_lists_keystone_never_answers_as_a_whole_are_refused(self):
        """Items each fine but that no Keystone answers together: one id
        twice, parents that loop, two limits of one resource for one
        project (or two defaults of one resource for one service and
        region).  Each is a BadAnswer naming the list and the item: the
        loop was a ProjectTreeCycle traceback from limits-manage sync and
        every 5 s from the engine for as long as Keystone answered it,
        the limits a DBDuplicateEntry traceback, and a project listed
        twice was synced as whichever came last."""
        cases = [
            ('projects', [_project(), _project(name='again')],
             'projects[1] (id p1)', 'id p1 is also projects[0]'),
            ('projects', [_project(id='a', parent_id='c'),
                          _project(id='b', parent_id='a'),
                          _project(id='c', parent_id='b')],
             'projects[0] (id a)', 'parents loop: a -> c -> b -> a'),
            ('projects', [_project(id='a', parent_id='a')],
             'projects[0] (id a)', 'parents loop: a -> a'),
            ('registered_limits', [_registered(),
                                   _registered(id='r1')],
             'registered_limits[1] (id r1)', 'id r1 is also'),
            ('registered_limits', [_registered(),
                                   _registered(id='r2', default_limit=3)],
             'registered_limits[1] (id r2)',
             'the same service, region and resource as '
             'registered_limits[0]'),
            ('limits', [_limit(), _limit(id='l2', resource_limit=9)],
             'limits[1] (id l2)',
             'the same project, domain, service, region and resource as '
             'limits[0]'),
        ]
        for key, items, where, problem in cases:
            lists = {'projects': [], 'registered_limits': [], 'limits': []}
            lists[key] = items
            exc = self.assertRaises(
                keystone_sync.BadAnswer, keystone_sync.snapshot,
                lists['projects'], lists['registered_limits'],
                lists['limits'])
            self.assertEqual(key, exc.key)
            self.assertIn(where, str(exc))
            self.assertIn(problem, str(exc))
            self.assertIn('Nothing was synced', str(exc))

    def test_limits_that_differ_by_region_are_two_limits(self):
        # Keystone keeps one limit per project, service, region and
        # resource: two that differ by region are two limits.
        snap = keystone_sync.snapshot(
            [_project()], [_registered(), _registered(id='r2',
                                                      region_id='Two')],
            [_limit(), _limit(id='l2', region_id='RegionTwo')])
        self.assertEqual(2, len(snap.project_limits))
        self.assertEqual(2, len(snap.registered_limits))

    def test_a_tree_deeper_than_the_service_keeps_is_refused(self):
        """A chain of more levels than ``max_depth`` (the service's
        :data:`limits_svc.db.tree.MAX_DEPTH` in a sync) is refused,
        naming its first project that is too deep; one of exactly
        ``max_depth`` levels, and a forest of shorter chains, are not."""
        chain = [_project(id='d0')] + [
            _project(id='d%d' % level, parent_id='d%d' % (level - 1))
            for level in range(1, 4)]
        # Listed deepest first: the levels are counted whatever the order.
        projects = list(reversed(chain)) + [_project(id='x', parent_id='d1')]
        snap = keystone_sync.snapshot(projects, [], [], max_depth=4)
        self.assertEqual(5, len(snap.projects))
        exc = self.assertRaises(
            keystone_sync.BadAnswer, keystone_sync.snapshot, projects,
            [], [], max_depth=3)
        self.assertIn('projects[0] (id d3)', str(exc))
        self.assertIn('it is 4 levels deep', str(exc))
        self.assertIn('at most 3 levels', str(exc))
        self.assertEqual(5, len(keystone_sync.snapshot(
            projects, [], []).projects))


# Keystone project lists of up to 12 projects whose parents are any of
# them, their domain, or a project not listed.
_PARENT_LISTS = st.lists(
    st.one_of(st.none(), st.integers(0, 11), st.just('default'),
              st.just('elsewhere')), max_size=12)


class TestSnapshotParents(testtools.TestCase):

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(parents=_PARENT_LISTS, max_depth=st.integers(1, 6))
    def test_a_snapshot_is_a_tree_the_service_can_walk(
            self, parents, max_depth):
        """Any list is either refused (a loop, or deeper than
        ``max_depth``) or gives projects whose parents make a tree of at
        most ``max_depth`` levels: the tree the sync writes and every
        walk of the service can go through."""
        projects = [_project(id='p%d' % n, parent_id=(
            'p%d' % parent if isinstance(parent, int) else parent))
            for n, parent in enumerate(parents)]
        try:
            snap = keystone_sync.snapshot(projects, [], [],
                                          max_depth=max_depth)
        except keystone_sync.BadAnswer as exc:
            self.assertTrue('its parents loop' in str(exc) or
                            'levels deep' in str(exc), str(exc))
            # A refusal is right: without the bound, or as a tree.
            try:
                shape = quota_tree.ProjectTree(
                    {row['id']: row['parent_id'] for row in
                     keystone_sync.snapshot(projects, [], []).projects})
            except (keystone_sync.BadAnswer, quota_tree.ProjectTreeCycle):
                return
            self.assertIn('levels deep', str(exc))
            self.assertGreater(max(shape.depth(p) for p in shape) + 1,
                               max_depth)
            return
        shape = quota_tree.ProjectTree(
            {row['id']: row['parent_id'] for row in snap.projects})
        self.assertEqual(len(projects), len(snap.projects))
        for project in shape:
            self.assertLessEqual(shape.depth(project) + 1, max_depth)
