"""Pages of a subtree's usage report against a simple recomputation.

A page of ``GET /v1/projects/{id}/usage?subtree=true`` reads only what it
holds: the path down to it and the runs of children it draws, in the
database's order.  These tests draw random forests (ids that sort
differently by code point and by a language's collation: upper and lower
case, punctuation, accents, 4-byte characters), counters as the ledger
keeps them and limits, read every page of every report, and compare the
pages put together with a report recomputed from the rows in plain
Python.  On PostgreSQL the database's collation is ICU's ``en-US``, which
sorts ``_z a b B``, not ``B _z a b`` as the report does.
"""

import fixtures
import hypothesis
from hypothesis import strategies as st
import sqlalchemy as sa
import testtools

from limits_svc.db import limits
from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.db import usages
from limits_svc import quota_tree
from limits_svc import service
from svc_common import context
from svc_common.db import migration
from svc_common.tests.fixtures import backends
from svc_common.tests.fixtures import postgresql

SETTINGS = hypothesis.settings(
    derandomize=True, database=None, deadline=None, max_examples=40,
    # Each example stores its own rows; the test runs once per backend.
    suppress_health_check=[hypothesis.HealthCheck.too_slow,
                           hypothesis.HealthCheck.data_too_large,
                           hypothesis.HealthCheck.differing_executors])

NAMES = ['B', '_z', 'a', 'b', 'a-1', 'A1', 'é', 'e', '\U0001f600', 'Z z']
RESOURCES = ['cores', 'gpus', 'ram']


@st.composite
def forests(draw):
    ids = draw(st.permutations(NAMES))[:draw(st.integers(1, len(NAMES)))]
    parents = {}
    for n, project_id in enumerate(ids):
        earlier = ids[:n]
        parents[project_id] = draw(st.one_of(
            st.none(), st.sampled_from(earlier))) if earlier else None
    own = draw(st.dictionaries(
        st.tuples(st.sampled_from(ids), st.sampled_from(RESOURCES)),
        st.integers(0, 9), max_size=8))
    limits = draw(st.dictionaries(
        st.tuples(st.sampled_from(ids), st.sampled_from(RESOURCES),
                  st.sampled_from(quota_tree.SCOPES)),
        st.integers(-1, 20), max_size=5))
    registered = draw(st.dictionaries(st.sampled_from(RESOURCES),
                                      st.integers(-1, 20), max_size=2))
    return parents, own, limits, registered


# Every id a child of the first, one a grandchild: each order shows.
WIDE = (dict([(NAMES[0], None), (NAMES[1], NAMES[2])] + [
    (name, NAMES[0]) for name in NAMES[2:]]),
    {(NAMES[1], 'cores'): 2, (NAMES[3], 'ram'): 1},
    {(NAMES[4], 'gpus', 'subtree'): 3}, {'cores': 5})


def _below(parents, project_id):
    """``project_id`` and every project under it."""
    return {p for p in parents if _is_under(parents, p, project_id)}


def _is_under(parents, project_id, ancestor_id):
    while project_id is not None:
        if project_id == ancestor_id:
            return True
        project_id = parents[project_id]
    return False


def recomputed(parents, own, limits, registered, root):
    """The report of ``root``'s subtree, from the rows, plainly."""
    def drawn(project_id, depth):
        yield project_id, depth
        for child in sorted(p for p, parent in parents.items()
                            if parent == project_id):
            yield from drawn(child, depth + 1)
    subtree = _below(parents, root)
    names = sorted({r for (p, r) in own if p in subtree} |
                   {r for (p, r, _) in limits if p in subtree})
    report = []
    for project_id, depth in drawn(root, 0):
        resources = {}
        for name in names:
            own_limit = limits.get((project_id, name, 'project'),
                                   registered.get(name, 0))
            resources[name] = {
                'own_limit': own_limit,
                'subtree_limit': limits.get((project_id, name, 'subtree')),
                'own_usage': own.get((project_id, name), 0),
                'subtree_usage': sum(
                    own.get((p, name), 0)
                    for p in _below(parents, project_id))}
        report.append({'project_id': project_id,
                       'parent_id': (None if project_id == root
                                     else parents[project_id]),
                       'depth': depth, 'resources': resources})
    return report


class _Pages(object):

    def setUp(self):
        super().setUp()
        url = self.database_url()
        migration.upgrade(service.SPEC, url)
        self.db = backends.database_at(self, url)
        self.engine = sa.create_engine(url)
        self.addCleanup(self.engine.dispose)
        self.ctx = context.admin_context()

    def store(self, parents, own, limits, registered):
        """The rows, the counters as the ledger keeps them: a row at
        every level above a project with a row of its own."""
        counters = {}
        for (project_id, name), amount in own.items():
            level = project_id
            while level is not None:
                mine, below = counters.get((level, name), (0, 0))
                counters[(level, name)] = (
                    mine + (amount if level == project_id else 0),
                    below + amount)
                level = parents[level]
        with self.engine.begin() as conn:
            for model in (models.Usage, models.ProjectLimit,
                          models.RegisteredLimit, models.Project):
                conn.execute(model.__table__.delete())
            conn.execute(models.Project.__table__.insert(), [
                {'id': p, 'parent_id': parent, 'domain_id': 'd'}
                for p, parent in parents.items()])
            if counters:
                conn.execute(models.Usage.__table__.insert(), [
                    {'project_id': p, 'resource_name': r, 'own_used': mine,
                     'subtree_used': below, 'adjustment': 0}
                    for (p, r), (mine, below) in counters.items()])
            if limits:
                conn.execute(models.ProjectLimit.__table__.insert(), [
                    {'id': 'l%d' % n, 'project_id': p, 'service_id': 'nova',
                     'resource_name': r, 'scope': scope,
                     'resource_limit': value}
                    for n, ((p, r, scope), value) in enumerate(
                        sorted(limits.items()))])
            if registered:
                conn.execute(models.RegisteredLimit.__table__.insert(), [
                    {'id': 'r-' + r, 'service_id': 'nova',
                     'resource_name': r, 'default_limit': value}
                    for r, value in registered.items()])

    def read_pages(self, root, size):
        levels = []
        marker = None
        while True:
            report, next_marker = usages.usage_report(
                self.db, self.ctx, root, True, quota_tree.NO_LIMIT_DENY,
                size, marker)
            page = [level.to_dict() for level in report]
            self.assertLessEqual(len(page), size)
            levels.extend(page)
            if len(page) < size:
                return levels
            # The path marker of the next links, or the last project's
            # id (each is a marker).
            marker = (next_marker if len(levels) % 2 else
                      page[-1]['project_id'])

    @SETTINGS
    @hypothesis.given(forests(), st.integers(1, 4))
    @hypothesis.example(WIDE, 3)
    def test_pages_put_together_are_the_recomputed_report(self, forest,
                                                          size):
        parents, own, limits, registered = forest
        self.store(parents, own, limits, registered)
        for root in parents:
            expected = recomputed(parents, own, limits, registered, root)
            self.assertEqual(expected, self.read_pages(root, size))
            self.assertEqual(expected, self.read_pages(root, 1000))

    @SETTINGS
    @hypothesis.given(forests())
    @hypothesis.example(WIDE)
    def test_limited_names_found_from_the_subtree_down(self, forest):
        # A resource limited on more than FEW_LIMITS projects is looked
        # for down the subtree instead of up from its limits.
        self.useFixture(fixtures.MockPatchObject(limits, 'FEW_LIMITS', 0))
        parents, own, limits_, registered = forest
        self.store(parents, own, limits_, registered)
        for root in parents:
            self.assertEqual(
                recomputed(parents, own, limits_, registered, root),
                self.read_pages(root, 3))

    @SETTINGS
    @hypothesis.given(forests(), st.integers(2, 4), st.data())
    def test_pages_go_on_where_they_ended_after_changes(self, forest, size,
                                                        data):
        # The first page is read, then projects are deleted (with their
        # subtrees) or moved; the pages after it, read through the
        # marker of the first, list every project that did not change
        # (nor one above it) exactly once with it.
        parents = forest[0]
        self.store(parents, {}, {}, {})
        # The widest subtree: more than one page more often.
        root = max(sorted(parents), key=lambda p: len(_below(parents, p)))
        report, marker = usages.usage_report(
            self.db, self.ctx, root, True, quota_tree.NO_LIMIT_DENY, size)
        drawn = [level.project_id for level in report]
        after = dict(parents)
        changed = set()
        # The page's last project first, more often than by chance.
        candidates = data.draw(st.lists(st.sampled_from(sorted(parents)),
                                        max_size=3, unique=True))
        if data.draw(st.booleans()):
            candidates.insert(0, drawn[-1])
        for project_id in candidates:
            if project_id not in after:
                continue   # it went with a project above it
            below = _below(after, project_id)
            if root in below:
                # The report's project or one above it: the report
                # changes nothing if it moves, and is gone if it goes.
                continue
            changed |= below
            targets = sorted(set(after) - below)
            target = data.draw(st.one_of(st.none(), st.just('gone'),
                                         st.sampled_from(targets)))
            if target == 'gone':
                for gone in below:
                    del after[gone]
            else:
                after[project_id] = target
        self.store(after, {}, {}, {})
        while len(report) == size:
            report, marker = usages.usage_report(
                self.db, self.ctx, root, True, quota_tree.NO_LIMIT_DENY,
                size, marker)
            drawn.extend(level.project_id for level in report)
        kept = (_below(parents, root) & _below(after, root)) - changed
        self.assertEqual({p: 1 for p in kept},
                         {p: drawn.count(p) for p in kept})

    def test_a_marker_outside_the_subtree_is_refused(self):
        self.store({'r': None, 'a': 'r', 'B': None, 'b': 'B'}, {}, {}, {})
        for marker in ('B', 'b', 'nobody'):
            exc = self.assertRaises(
                tree.InvalidMarker, usages.usage_report, self.db, self.ctx,
                'r', True, quota_tree.NO_LIMIT_DENY, 10, marker)
            self.assertEqual({'field': 'marker'}, exc.extra)
        self.assertRaises(tree.ProjectNotFound, usages.usage_report,
                          self.db, self.ctx, 'nobody', True,
                          quota_tree.NO_LIMIT_DENY, 10)


class TestPagesOnSQLite(backends.OnSQLite, _Pages, testtools.TestCase):
    pass


class TestPagesOnPostgreSQL(_Pages, testtools.TestCase):

    def test_a_page_is_one_snapshot(self):
        # A page is read a run of children at a time; a move committed
        # between two of those reads must not show in it: B, moved under
        # A once R's children [A, B] were read, would be drawn twice
        # (under A, then under R), and a page could even give parent
        # links that loop (a 500).
        self.store({'R': None, 'A': 'R', 'B': 'R', 'a1': 'A'},
                   {('B', 'cores'): 2}, {}, {})
        before = recomputed({'R': None, 'A': 'R', 'B': 'R', 'a1': 'A'},
                            {('B', 'cores'): 2}, {}, {}, 'R')
        reads = []

        def move_b_under_a(conn, cursor, statement, *args):
            if 'has_children' in statement:
                reads.append(statement)
                if len(reads) == 2:
                    with self.engine.begin() as other:
                        other.execute(models.Project.__table__.update().where(
                            models.Project.id == 'B').values(parent_id='A'))
        engine = self.db.reader.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', move_b_under_a)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute',
                        move_b_under_a)
        self.assertEqual(before, self.read_pages('R', 10))
        self.assertGreaterEqual(len(reads), 2)

    def database_url(self):
        """A database whose own collation (ICU en-US) sorts otherwise
        than code points."""
        server = postgresql.shared_server()
        name = 'icu_%s' % self.id().rsplit('.', 1)[-1][:40].lower()
        admin = sa.create_engine(server.admin_url,
                                 isolation_level='AUTOCOMMIT')
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(
                    'CREATE DATABASE "%s" TEMPLATE template0 '
                    "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                    "LOCALE 'C.UTF-8'" % name)
        finally:
            admin.dispose()
        self.addCleanup(server.drop_database, name)
        return server.url(name)
