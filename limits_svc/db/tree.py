"""The shape of the project tree, and the lock that holds it still.

An allocation walks the chain of its project (``[project, parent, ...,
root]``), then locks and changes the usage counters of that chain.  A
project move that ran between the two would leave the allocation adding
to the counters of a chain that no longer exists.  So every ledger writer
holds the *tree lock* shared (:func:`lock_for_ledger`), and every change of
the tree's shape (a move, a delete, a resync from Keystone, an audit
repair) holds it exclusively (:func:`lock_tree`): a transaction-scoped
advisory lock on PostgreSQL, while SQLite's ``BEGIN IMMEDIATE`` already
serialises every writer.  The tree lock is always the first lock a
transaction takes, so it adds no deadlock.

The functions here take a Connection or Session of an open transaction:
they are building blocks of the other ``limits_svc.db`` modules.
"""

import re
import urllib.parse

import sqlalchemy as sa

from limits_svc.db import models
from limits_svc import quota_tree
from svc_common import errors

# The most levels a chain may have (Keystone's own default is 10).  A
# project is never created or moved deeper, and a walk that reaches this
# depth refuses rather than answering with a chain cut short.
MAX_DEPTH = 64

# The most levels a walk that gives an allocation back goes through.  A
# project kept after it left Keystone (it holds allocations) stays where
# it hung, and Keystone may then move the projects above it down to
# MAX_DEPTH levels: its chain may be longer than any that Keystone or
# this service makes, and giving back must not be refused for that.
# Kept projects hang below at most MAX_DEPTH levels of Keystone's, and
# the kept levels are those of a chain Keystone had (fewer than
# MAX_DEPTH) unless Keystone deleted, one after the other, each project
# above a kept one while it held allocations and then moved the tree
# down again; a chain longer than this is still refused (the sweep logs
# and skips it).
GIVE_BACK_DEPTH = 2 * MAX_DEPTH


class ProjectNotFound(errors.NotFound):
    code = 'project_not_found'


class TreeTooDeep(errors.Conflict):
    code = 'tree_too_deep'


def too_deep(project_id, max_depth=MAX_DEPTH):
    return TreeTooDeep(
        'The tree at project %s would be deeper than %d levels (or its '
        'parents loop).' % (errors.quoted_id(project_id), max_depth))


def check_depth(project_id, depths, max_depth=MAX_DEPTH):
    """Refuse a walk from ``project_id`` that reached ``max_depth``
    (depth 0 is the project itself)."""
    if depths and max(depths) >= max_depth:
        raise too_deep(project_id, max_depth)


def walk_cte(downwards, max_depth=MAX_DEPTH, left_keystone=False):
    """A recursive CTE ``walk(id, parent_id, depth)`` from the project
    ``:project_id``: its ancestors (depth 1 is the parent) or its
    subtree, of at most ``max_depth`` levels and one more (see
    :func:`check_depth`).

    With ``left_keystone``, a fourth column ``left_keystone_at``: the
    mark of a project kept after it left Keystone (see
    :class:`limits_svc.db.models.Project`), read from the row the walk
    reads anyway.
    """
    projects = models.Project.__table__
    extra = [projects.c.left_keystone_at] if left_keystone else []
    anchor = sa.select(projects.c.id, projects.c.parent_id,
                       sa.literal(0).label('depth'), *extra).where(
        projects.c.id == sa.bindparam('project_id')).cte(
        'walk', recursive=True)
    link = (projects.c.parent_id == anchor.c.id if downwards else
            projects.c.id == anchor.c.parent_id)
    # One step past the most levels allowed, so that a walk that goes on
    # is seen (check_depth) and stops there.
    step = sa.select(projects.c.id, projects.c.parent_id,
                     (anchor.c.depth + 1).label('depth'), *extra).join(
        anchor, link).where(anchor.c.depth < max_depth)
    return anchor.union_all(step)


def require_project(session, project_id):
    """The Project, or ProjectNotFound."""
    project = session.get(models.Project, project_id)
    if project is None:
        raise ProjectNotFound('No project %s.'
                              % errors.quoted_id(project_id))
    return project


def _walk_statement(downwards, max_depth=MAX_DEPTH):
    walk = walk_cte(downwards, max_depth)
    return sa.select(walk.c.id, walk.c.parent_id,
                     walk.c.depth).order_by(walk.c.depth)


# Built once: SQLAlchemy then finds their compiled form in its cache.
_WALK = {downwards: _walk_statement(downwards)
         for downwards in (False, True)}
_WALK_GIVING_BACK = _walk_statement(False, GIVE_BACK_DEPTH)


def _walk(session, project_id, downwards):
    """Rows ``(id, parent_id)`` reached from ``project_id`` in one
    recursive query: its ancestors (nearest first) or its subtree."""
    rows = session.execute(_WALK[downwards],
                           {'project_id': project_id}).all()
    if not rows:
        raise ProjectNotFound('No project %s.'
                              % errors.quoted_id(project_id))
    check_depth(project_id, [row.depth for row in rows])
    return rows


def height(session, project_id):
    """How many levels the subtree of ``project_id`` has (1: a leaf)."""
    return max(row.depth for row in _walk(session, project_id,
                                          downwards=True)) + 1


def chain_ids(session, project_id):
    """``[project_id, parent, ..., root]``."""
    return [row.id for row in _walk(session, project_id, downwards=False)]


def _marked_walk_statement():
    walk = walk_cte(downwards=False, left_keystone=True)
    return sa.select(walk.c.id, walk.c.depth,
                     walk.c.left_keystone_at).order_by(walk.c.depth)


_WALK_MARKED = _marked_walk_statement()


def chain_and_kept(session, project_id):
    """``(chain, kept)``: :func:`chain_ids`, and the levels of that chain
    kept after they left Keystone (nearest first; none, almost always),
    read by the same walk."""
    rows = session.execute(_WALK_MARKED, {'project_id': project_id}).all()
    if not rows:
        raise ProjectNotFound('No project %s.'
                              % errors.quoted_id(project_id))
    check_depth(project_id, [row.depth for row in rows])
    return ([row.id for row in rows],
            [row.id for row in rows if row.left_keystone_at is not None])


def kept_chain_ids(session, project_id):
    """:func:`chain_ids` of up to :data:`GIVE_BACK_DEPTH` levels: the
    chain of any project the service keeps, one kept below the 64th level
    included, for what only reads it (a usage report)."""
    rows = session.execute(_WALK_GIVING_BACK,
                           {'project_id': project_id}).all()
    if not rows:
        raise ProjectNotFound('No project %s.'
                              % errors.quoted_id(project_id))
    check_depth(project_id, [row.depth for row in rows], GIVE_BACK_DEPTH)
    return [row.id for row in rows]


def chain_or_orphan(conn, project_id):
    """The chain an allocation of ``project_id`` is given back along:
    :func:`chain_ids`, or just the project when it is gone (an
    allocation may outlive a project that left Keystone).

    It walks up to :data:`GIVE_BACK_DEPTH` levels, not
    :data:`MAX_DEPTH`: a kept project may hang deeper than any project
    can be made, and its allocations were refused every free (409
    limits.tree_too_deep) and every sweep of its reservations.
    """
    rows = conn.execute(_WALK_GIVING_BACK,
                        {'project_id': project_id}).all()
    if not rows:
        return [project_id]
    check_depth(project_id, [row.depth for row in rows], GIVE_BACK_DEPTH)
    return [row.id for row in rows]


def _children_statement(collation=None):
    """At most ``:n`` children of ``:parent_id`` after ``:after``, in
    code-point order (``collation`` "C" on PostgreSQL, whose own collation
    may sort otherwise; SQLite compares code points), each with whether it
    has children: a range of the ``projects_children_idx`` index, and one
    look-up in it per row.

    That look-up is the row's first child (a ``min`` that the index
    answers with its first entry): an ``EXISTS`` was planned by
    PostgreSQL as a scan of every project per row when most projects have
    one parent (one root of 100,000 children: 7 s a page).
    """
    projects = models.Project.__table__
    below = projects.alias('below')

    def key(column):
        return column.collate(collation) if collation else column
    first_child = sa.select(sa.func.min(key(below.c.id))).where(
        below.c.parent_id == projects.c.id).scalar_subquery()
    has_children = first_child.is_not(None)
    return sa.select(projects.c.id, has_children.label('has_children')).where(
        projects.c.parent_id == sa.bindparam('parent_id'),
        key(projects.c.id) > sa.bindparam('after')).order_by(
        key(projects.c.id)).limit(sa.bindparam('n'))


CHILDREN = {'postgresql': _children_statement('C'),
            'sqlite': _children_statement()}


def subtree_page(session, root_id, limit, marker=None):
    """A page of the subtree of ``root_id`` in drawing order (children
    sorted by id in code-point order, as
    :meth:`limits_svc.quota_tree.ProjectTree.subtree` sorts them): the
    root first, then at most ``limit`` projects after ``marker``.

    Reads the marker's chain and, for each parent the page meets, the run
    of its children the page needs: what the page holds, whatever the size
    of the subtree.

    ``marker`` is a project of the subtree, or a path (:data:`PATH_SEP`
    between the ids) from ``root_id`` down to the last project of the
    previous page, as :func:`page_marker` writes it: the page then starts
    where that one ended even when a project of the path was deleted or
    moved away since (with a project id, the page would start after the
    project where it is now, or be refused when it is gone).

    :returns: ``(parents, page, last)``: ``{id: parent_id}`` of the page's
        projects and of the path from the root down to them, the root's
        parent None (enough for a ProjectTree of the page), the page's
        project ids, and the path of its last project (``[root_id, ...,
        last]``; None for an empty page).
    :raises ProjectNotFound: no project ``root_id``.
    :raises InvalidMarker: ``marker`` is not a project of the subtree, or
        a path that does not start at ``root_id``.
    """
    statement = CHILDREN[session.get_bind().dialect.name]

    def children(parent_id, after, n):
        return [tuple(row) for row in session.execute(statement, {
            'parent_id': parent_id, 'after': after, 'n': n})]
    descend = True
    if marker is None:
        require_project(session, root_id)
        path = [root_id]
        limit -= 1
    elif PATH_SEP in marker:
        path, descend = _path_still_there(session, root_id,
                                          marker.split(PATH_SEP))
    else:
        path = _path_from(session, root_id, marker)
    try:
        # A project kept after it left Keystone may hang below the 64th
        # level (see GIVE_BACK_DEPTH): its report, and the reports of the
        # projects above it, are drawn down to it.
        drawn = quota_tree.drawing_order_page(path, limit, children,
                                              GIVE_BACK_DEPTH, descend)
    except quota_tree.TooDeep:
        raise too_deep(root_id, GIVE_BACK_DEPTH)
    # (A last project of the path that is no longer there has no place.)
    placed = path if descend else path[:-1]
    last = _last_path(root_id, placed, drawn)
    parents = dict(zip(placed[1:], placed))
    parents[root_id] = None   # the report's root
    parents.update((child, parent) for child, parent, _depth in drawn)
    page = [child for child, _parent, _depth in drawn]
    if marker is None:
        page = [root_id] + page
    return parents, page, last if page else None


def _last_path(root_id, placed, drawn):
    """The path ``[root_id, ..., last]`` of the last project drawn, from
    ``placed`` (the path the page starts below) and the depths of the
    projects drawn (in drawing order, each below the one before it at a
    lower depth).

    :raises TreeTooDeep: a project met twice (the root, or a project of
        the path, drawn again): parent links that loop, written behind
        the service's back; walking them up never ended.
    """
    last = list(placed)
    seen = set(placed)
    if len(seen) < len(placed):
        raise too_deep(root_id, GIVE_BACK_DEPTH)
    for child, _parent, depth in drawn:
        if child in seen:
            raise too_deep(root_id, GIVE_BACK_DEPTH)
        seen.add(child)
        del last[depth:]
        last.append(child)
    return last


#: What separates the ids of a path marker (no id holds it).
PATH_SEP = '/'


def page_marker(path):
    """The marker of the page after the one whose last project has this
    ``path`` (from :func:`subtree_page`): the path itself, unless it is
    too long to be sure to fit in a URL a web server takes (a tree of
    dozens of levels of long ids, percent-encoded as the ``next`` link
    writes it), or an id of it holds :data:`PATH_SEP` (Keystone's ids
    are not checked as the API's are), then the project's id."""
    marker = PATH_SEP.join(path)
    if (len(urllib.parse.quote_plus(marker, safe=':@')) <=
            _LONGEST_PATH_MARKER and
            marker.count(PATH_SEP) == len(path) - 1):
        return marker
    return path[-1]


# Web servers refuse request lines of more than about 4 kB (gunicorn's
# limit_request_line, uwsgi's buffer-size).
_LONGEST_PATH_MARKER = 2048


def _path_still_there(session, root_id, ids):
    """``(path, descend)`` for :func:`quota_tree.drawing_order_page` from
    the ids of a path marker: the longest start of ``ids`` whose parent
    links are still those of the tree, and the first id after it (its
    place among its parent's children is where the page goes on; its own
    children, if it still has any, are somewhere else, so ``descend`` is
    False); ``ids`` and True when the whole path is still there."""
    # The project first: a path's ID that no project has is its 404 (it
    # was repeated whole in this 400, line breaks included).
    require_project(session, root_id)
    if ids[0] != root_id:
        raise InvalidMarker(
            'Invalid field marker: %s is not a path from project %s.'
            % (errors.quoted_id(PATH_SEP.join(ids), 200),
               errors.quoted_id(root_id)), field='marker')
    projects = models.Project.__table__
    parents = dict(session.execute(sa.select(
        projects.c.id, projects.c.parent_id).where(
        projects.c.id.in_(set(ids[1:])))).all())
    for n in range(1, len(ids)):
        if parents.get(ids[n]) != ids[n - 1]:
            return ids[:n + 1], False
    return ids, True


class InvalidMarker(errors.BadRequest):
    code = 'invalid_marker'


def _path_from(session, root_id, marker):
    """``[root_id, ..., marker]``, or InvalidMarker when ``marker`` is
    not in the subtree of ``root_id``."""
    require_project(session, root_id)
    try:
        chain = kept_chain_ids(session, marker)
    except ProjectNotFound:
        chain = []
    if root_id not in chain:
        raise InvalidMarker(
            'Invalid field marker: project %s is not in the report.'
            % errors.quoted_id(marker), field='marker')
    return list(reversed(chain[:chain.index(root_id) + 1]))


# pg_advisory_xact_lock keys are (class, id); the classes are "LIM" for
# a consumer and "LIT" for the tree (one lock, id 0).
_CONSUMER_LOCK_CLASS = 0x4c494d
_TREE_LOCK_CLASS = 0x4c4954


_LOCK_TREE = {
    True: sa.select(sa.func.pg_advisory_xact_lock(_TREE_LOCK_CLASS, 0)),
    False: sa.select(sa.func.pg_advisory_xact_lock_shared(
        _TREE_LOCK_CLASS, 0)),
}


def _lock_tree_then_consumer_statement():
    # The tree lock sits in a subquery behind OFFSET 0 so that PostgreSQL
    # takes it before it computes the select list (the consumer lock):
    # every writer takes the tree lock first, which keeps the two locks
    # free of deadlocks with a move that waits for the tree.
    tree = sa.select(sa.func.pg_advisory_xact_lock_shared(
        _TREE_LOCK_CLASS, 0).label('tree')).offset(0).subquery()
    return sa.select(sa.func.pg_advisory_xact_lock(
        _CONSUMER_LOCK_CLASS,
        sa.func.hashtext(sa.bindparam('consumer_id')))).select_from(tree)


_LOCK_TREE_THEN_CONSUMER = _lock_tree_then_consumer_statement()


def lock_tree(conn, exclusive):
    """Hold the shape of the tree for this transaction (see the module
    docstring): shared by ledger writers, exclusive by tree changes."""
    if conn.dialect.name == 'postgresql':
        conn.execute(_LOCK_TREE[exclusive])


# A bound parameter as SQLAlchemy renders it for psycopg2 (pyformat).
_PYFORMAT_BIND = re.compile(r'%\((\w+)\)s')


class _SentTogether(object):
    """Statements sent to PostgreSQL as one string, in one round trip.

    psycopg2 sends such a string as one simple query; PostgreSQL runs the
    statements in order, in the caller's transaction, and psycopg2 keeps
    the rows of the last one.  Under READ COMMITTED each statement takes
    its snapshot when it starts, so a statement sees what was committed
    before the previous ones returned (a lock they waited for included).

    Each statement is compiled once, its parameters renamed apart
    (``s0_consumer_id``, ``s1_...``) so that the literals SQLAlchemy names
    for itself (``param_1`` ...) cannot collide.
    """

    def __init__(self, *statements):
        self.statements = statements
        self._compiled = {}

    def _compile(self, dialect):
        texts = []
        literals = {}
        for n, statement in enumerate(self.statements):
            prefix = 's%d_' % n
            compiled = statement.compile(dialect=dialect)
            if any(bind.expanding for bind in compiled.binds.values()):
                # Rendered per execution by SQLAlchemy, not here.
                raise ValueError('A statement sent together with others '
                                 'takes lists as arrays, not IN lists.')
            texts.append(_PYFORMAT_BIND.sub(
                lambda m: '%%(%s%s)s' % (prefix, m.group(1)),
                compiled.string))
            literals.update((prefix + name, bind.value)
                            for bind, name in compiled.bind_names.items()
                            if not bind.required)
        return ';\n'.join(texts), literals

    def execute(self, conn, *params):
        """The rows of the last statement; ``params``: one dict each."""
        dialect = conn.dialect
        if dialect.name not in self._compiled:
            self._compiled[dialect.name] = self._compile(dialect)
        text, values = self._compiled[dialect.name]
        values = dict(values)
        for n, given in enumerate(params):
            values.update(('s%d_%s' % (n, name), value)
                          for name, value in given.items())
        return conn.exec_driver_sql(text, values).all()


def lock_for_ledger(conn, consumer_id=None):
    """What a ledger writer locks before it reads anything: the tree
    (shared) and, given one, the consumer.

    ``SELECT ... FOR UPDATE`` on the consumer's allocation rows locks
    nothing when there are none yet, and a writer that waited on them does
    not see the rows the other one inserted (PostgreSQL reads as of the
    start of each statement): two PUTs of one consumer could both count
    themselves and leave it with rows in two projects, which a later
    DELETE frees from the wrong one.  A transaction-scoped advisory lock on
    the consumer id, taken before anything is read, closes that.  SQLite's
    ``BEGIN IMMEDIATE`` serialises every writer already.
    """
    if conn.dialect.name != 'postgresql':
        return
    if consumer_id is None:
        conn.execute(_LOCK_TREE[False])
    else:
        conn.execute(_LOCK_TREE_THEN_CONSUMER, {'consumer_id': consumer_id})


class LockedRead(object):
    """A query that a ledger writer runs first, under its locks.

    ``rows(conn, consumer_id, params)`` takes :func:`lock_for_ledger` of
    ``consumer_id``, then runs the query, which sees what the lock's
    previous holders committed: in one round trip on PostgreSQL (see
    :class:`_SentTogether`).

    :param statements: the query, ``{dialect name: statement}``.
    """

    def __init__(self, statements):
        self.statements = statements
        self._together = _SentTogether(_LOCK_TREE_THEN_CONSUMER,
                                       statements['postgresql'])

    def rows(self, conn, consumer_id, params):
        # Several statements in one string is psycopg2's simple query;
        # another driver (psycopg 3 refuses it with parameters) takes the
        # two round trips.
        if (conn.dialect.name == 'postgresql' and
                conn.dialect.driver == 'psycopg2'):
            return self._together.execute(
                conn, {'consumer_id': consumer_id}, params)
        lock_for_ledger(conn, consumer_id)
        return conn.execute(self.statements[conn.dialect.name],
                            params).all()
