"""The ledger's counters: per project and resource, own and subtree usage.

The allocation write path is atomic: the usage rows of every (level of
the project's chain, resource) a change touches are created if missing
and locked in one sorted order (``SELECT ... FOR UPDATE`` on PostgreSQL,
sorted with ``COLLATE "C"`` so that it matches Python's code-point order;
SQLite transactions hold the database's write lock from ``BEGIN
IMMEDIATE``), the decision is taken on the locked figures, and the
counters and allocation rows are written in the same transaction, or
nothing is.  :func:`add_usage` does create, lock, add and read back in
one upsert statement.  Since every writer locks the rows it reads, in the
same order, two concurrent allocations that share a level serialise on
that level's row, and no level can be pushed over a limit by a race.

Counters are bounded by :data:`limits_svc.quota_tree.MAX_USAGE`: a write
that would pass it is refused (:class:`UsageOverflow`).

Functions that start with a Connection run inside a transaction that the
caller holds; those that start with ``(db, ctx)`` open their own.
"""

import sys

from oslo_db import api as oslo_db_api
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from limits_svc.db import limits
from limits_svc.db import models
from limits_svc.db import tree
from limits_svc import quota_tree
from svc_common import errors


class OverLimit(errors.Conflict):
    code = 'over_limit'

    def __init__(self, violations):
        blocking = [v.to_dict() for v in violations]
        detail = '; '.join(
            '%s of project %s: %s limit %d, usage %d, requested %+d'
            % (v['resource'], v['project_id'], v['scope'], v['limit'],
               v['usage'], v['delta']) for v in blocking)
        super().__init__('Over limit: %s.' % detail, blocking=blocking)


class UsageOverflow(errors.Conflict):
    code = 'usage_overflow'


class ProjectDeleted(errors.Conflict):
    """409: a write that would grow usage in a project kept after it
    left Keystone (it still holds allocations), or below one.  Keystone
    deleted its limits with it: what it holds may only shrink, move out
    or be freed.  Nothing is written."""
    code = 'project_deleted'


def project_deleted(project_id, kept, what_may):
    """The :class:`ProjectDeleted` of a write in ``project_id``, whose
    chain holds the ``kept`` levels (nearest first); ``what_may`` says
    what may still be done there."""
    if kept[0] == project_id:
        what = 'Project %s was deleted in Keystone' % project_id
    else:
        what = ('Project %s, above project %s, was deleted in Keystone'
                % (kept[0], project_id))
    return ProjectDeleted(
        '%s and is kept only until the allocations below it are freed: '
        '%s' % (what, what_may))


_USAGE = models.Usage.__table__


def _insert_ignore_statement(insert):
    """INSERT usage rows, skipping those whose primary key exists."""
    return insert(_USAGE).on_conflict_do_nothing()


_INSERT_IGNORE = {'postgresql': _insert_ignore_statement(pg_dialect.insert),
                  'sqlite': _insert_ignore_statement(sqlite_dialect.insert)}


def _usage_statement(lock, collation=None):
    """The usage rows of ``:projects`` x ``:names``, sorted by key.

    With ``lock`` (``FOR UPDATE``; nothing on SQLite, whose transaction
    holds the whole database already) the rows are locked in that order.
    ``collation`` makes PostgreSQL sort the way Python sorts strings (code
    points), the order in which :func:`add_usage` locks rows too.
    """
    def key(column):
        return column.collate(collation) if collation else column
    query = sa.select(_USAGE.c.project_id, _USAGE.c.resource_name,
                      _USAGE.c.own_used, _USAGE.c.subtree_used).where(
        _USAGE.c.project_id.in_(sa.bindparam('projects', expanding=True)),
        _USAGE.c.resource_name.in_(sa.bindparam('names', expanding=True))
    ).order_by(key(_USAGE.c.project_id), key(_USAGE.c.resource_name))
    return query.with_for_update() if lock else query


_READ_USAGE = _usage_statement(lock=False)
_LOCK_USAGE = {'postgresql': _usage_statement(lock=True, collation='C'),
               'sqlite': _usage_statement(lock=True)}


def read_usages(conn, pairs, lock=False):
    """``{(project_id, resource_name): (own_used, subtree_used)}``."""
    if not pairs:
        return {}
    query = _LOCK_USAGE[conn.dialect.name] if lock else _READ_USAGE
    return {(row.project_id, row.resource_name):
            (row.own_used, row.subtree_used)
            for row in conn.execute(query, {
                'projects': sorted({p for p, _ in pairs}),
                'names': sorted({r for _, r in pairs})})}


def locked_usages(conn, pairs):
    """Lock the usage rows of ``pairs``, creating the missing ones first.

    The common case (every row exists) costs one locking query; otherwise
    the missing rows are inserted and the whole set locked again, in the
    same sorted order.
    """
    pairs = set(pairs)
    figures = read_usages(conn, pairs, lock=True)
    missing = pairs.difference(figures)
    if missing:
        conn.execute(_INSERT_IGNORE[conn.dialect.name], [
            {'project_id': p, 'resource_name': r, 'own_used': 0,
             'subtree_used': 0, 'adjustment': 0} for p, r in sorted(missing)])
        figures = read_usages(conn, pairs, lock=True)
    return figures


def _upsert_statement(insert):
    """Add to the counters of the given rows, creating the missing ones,
    and return the counters as they are now: one statement that creates,
    locks (in the order of the rows given) and writes."""
    return _adding_on_conflict(insert(_USAGE))


def _adding_on_conflict(stmt):
    """``stmt`` (an INSERT into the counters) adding to a counter that
    exists instead, and returning the counters as they are now."""
    stmt = stmt.on_conflict_do_update(
        index_elements=[_USAGE.c.project_id, _USAGE.c.resource_name],
        set_={'own_used': _USAGE.c.own_used + stmt.excluded.own_used,
              'subtree_used': (_USAGE.c.subtree_used +
                               stmt.excluded.subtree_used)})
    return stmt.returning(_USAGE.c.project_id, _USAGE.c.resource_name,
                          _USAGE.c.own_used, _USAGE.c.subtree_used)


def unnest(*columns):
    """``unnest(:name::type[], ...) AS anon(name, ...)``: a list
    parameter per ``(name, type)`` column, for PostgreSQL.

    A statement over arrays has one text whatever the number of rows:
    SQLAlchemy compiles it once, and psycopg2 sends each list as one array
    literal, where a multi-row VALUES would be rendered afresh for every
    number of rows (``insertmanyvalues``).
    """
    # psycopg2's dialect casts each array parameter to its type.
    return sa.func.unnest(*[
        sa.bindparam(name, type_=pg_dialect.ARRAY(column_type))
        for name, column_type in columns]).table_valued(
        *[sa.column(name, column_type) for name, column_type in columns]
    ).render_derived()


def _upsert_from_arrays_statement():
    """:func:`_upsert_statement` for PostgreSQL over the arrays
    ``:u_project``, ``:u_name``, ``:u_own`` and ``:u_sub``, taken (created,
    locked and written) in the order they come in."""
    changes = unnest(('u_project', sa.String), ('u_name', sa.String),
                     ('u_own', sa.BigInteger), ('u_sub', sa.BigInteger))
    stmt = pg_dialect.insert(_USAGE).from_select(
        ['project_id', 'resource_name', 'own_used', 'subtree_used',
         'adjustment'],
        sa.select(changes.c.u_project, changes.c.u_name, changes.c.u_own,
                  changes.c.u_sub, sa.literal_column('0')))
    return _adding_on_conflict(stmt)


#: The upsert of :func:`add_usage` on PostgreSQL; a caller may attach
#: more work to it (data-modifying CTEs) and give their parameters.
UPSERT_FROM_ARRAYS = _upsert_from_arrays_statement()


_ADD_USAGE = {'postgresql': UPSERT_FROM_ARRAYS,
              'sqlite': _upsert_statement(sqlite_dialect.insert)}


def _upsert_parameters(dialect, keys, changes):
    if dialect == 'postgresql':
        return {'u_project': [p for p, _ in keys],
                'u_name': [r for _, r in keys],
                'u_own': [changes[key][0] for key in keys],
                'u_sub': [changes[key][1] for key in keys]}
    return [{'project_id': p, 'resource_name': r,
             'own_used': changes[(p, r)][0],
             'subtree_used': changes[(p, r)][1], 'adjustment': 0}
            for p, r in keys]


def _check_bounds(after):
    """Refuse a write that takes a counter past what it may hold.

    Amounts are bounded by the request schemas, and every counter is
    checked here after each write, so that no sum ever reaches the end of
    a 64-bit integer (PostgreSQL would fail the statement, SQLite would
    turn the counter into a float): the write is refused and rolled back.
    """
    for (project_id, name), (own, sub) in after.items():
        if max(own, sub) > quota_tree.MAX_USAGE:
            raise UsageOverflow(
                'The usage of %s in project %s would pass %d, the most '
                'a counter may hold.' % (name, project_id,
                                         quota_tree.MAX_USAGE))


def add_usage(conn, changes, statement=None, extra=None):
    """Add ``changes`` (``{(project_id, resource): (own, subtree)}``) to
    the counters, creating missing rows; returns the counters after.

    One upsert statement creates, locks (in sorted order) and writes the
    rows and returns their new figures.  On PostgreSQL a caller may give
    ``statement``, :data:`UPSERT_FROM_ARRAYS` with more work attached, and
    that work's parameters in ``extra``: the whole runs as one statement.
    """
    if not changes:
        return {}
    keys = sorted(changes)
    dialect = conn.dialect.name
    params = _upsert_parameters(dialect, keys, changes)
    if statement is not None:
        params.update(extra or {})
    rows = conn.execute(statement if statement is not None
                        else _ADD_USAGE[dialect], params)
    after = {(row.project_id, row.resource_name):
             (row.own_used, row.subtree_used) for row in rows}
    _check_bounds(after)
    return after


def changes_of(project_id, chain, deltas):
    """``deltas`` on the project's own usage and every level's subtree
    usage, as :func:`add_usage` takes them."""
    return {(level, name): (delta if level == project_id else 0, delta)
            for level in chain for name, delta in deltas.items() if delta}


def apply(conn, project_id, chain, deltas):
    """Add ``deltas`` to the project's own and its chain's subtree usage."""
    return add_usage(conn, changes_of(project_id, chain, deltas))


_NEGATIVE_ADJUSTMENTS = sa.select(
    _USAGE.c.resource_name, _USAGE.c.adjustment).where(
    _USAGE.c.project_id == sa.bindparam('project_id'),
    _USAGE.c.adjustment < 0,
    _USAGE.c.resource_name.in_(sa.bindparam('names', expanding=True)))


_ADJUST = _USAGE.update().where(
    _USAGE.c.project_id == sa.bindparam('p'),
    _USAGE.c.resource_name == sa.bindparam('r')).values(
    adjustment=_USAGE.c.adjustment + sa.bindparam('delta'))


def adjust(conn, project_id, deltas):
    """Add ``deltas`` ({resource: n}) to the project's adjustments."""
    changes = [{'p': project_id, 'r': name, 'delta': delta}
               for name, delta in sorted(deltas.items()) if delta]
    if changes:
        conn.execute(_ADJUST, changes)


def negative_adjustments(conn, project_id, names):
    """``{resource: adjustment}`` of the project's negative adjustments."""
    return dict(conn.execute(_NEGATIVE_ADJUSTMENTS, {
        'project_id': project_id, 'names': sorted(names)}).all())


def give_back(conn, project_id, chain, freed):
    """Take ``freed`` ({resource: amount > 0}) off the project's usage.

    A negative adjustment (reconciliation found less in use than the
    allocations say) means some allocations were already gone in truth;
    freeing one of them now cancels that much of the adjustment instead of
    counting it off twice, so usage never drops below zero.
    """
    if not freed:
        return
    cancels = quota_tree.cancelled_by_give_back(
        freed, negative_adjustments(conn, project_id, freed))
    adjust(conn, project_id, cancels)
    apply(conn, project_id, chain, {name: cancels[name] - amount
                                    for name, amount in freed.items()})


def _usages_by_project(session, project_ids):
    """``(own, subtree)``, each ``{project_id: {resource: amount}}``."""
    own = {}
    below = {}
    for project_id, name, own_used, subtree_used in session.execute(
            sa.select(_USAGE.c.project_id, _USAGE.c.resource_name,
                      _USAGE.c.own_used, _USAGE.c.subtree_used).where(
                _USAGE.c.project_id.in_(project_ids))):
        own.setdefault(project_id, {})[name] = own_used
        below.setdefault(project_id, {})[name] = subtree_used
    return own, below


_SNAPSHOT = sa.text('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ '
                    'READ ONLY')


def usage_report(db, ctx, project_id, subtree, no_limit_policy, limit=None,
                 marker=None):
    """Limits and usage of the project, or of the projects of its subtree,
    as :func:`limits_svc.quota_tree.usage_report` gives them.

    With ``subtree``, a page: the project and at most ``limit - 1`` after
    it, or at most ``limit`` projects after ``marker`` (a project id, or
    the marker of the previous page: see
    :func:`limits_svc.db.tree.subtree_page`), in the report's order
    (``limit`` None: every one).  A page reads what it
    holds (see :func:`limits_svc.db.tree.subtree_page`): the path down to
    it, the runs of children it draws, their counters and limits.  Each
    project's subtree usage is the ledger's counter, which every
    allocation keeps equal to the sum over its subtree.  The resources
    reported are those the subtree uses (the counters of its root) or
    limits, on every page.

    :returns: ``(levels, marker)``: the
        :class:`limits_svc.quota_tree.LevelReport` objects, and the marker
        of the next page (:func:`limits_svc.db.tree.page_marker`; None
        without ``subtree``).
    """
    with db.reader.using(ctx) as session:
        if session.get_bind().dialect.name == 'postgresql':
            # Every statement of the page reads one snapshot: a move
            # committed between two runs of children would show a
            # project twice, or parent links that loop.  (An SQLite
            # reader's transaction is one snapshot already.)
            session.execute(_SNAPSHOT)
        last = None
        if subtree:
            parents, page, last = tree.subtree_page(
                session, project_id,
                sys.maxsize if limit is None else limit, marker)
        else:
            # It exists; its chain is not read (that of a project kept
            # below the 64th level is refused, and none is needed).
            tree.require_project(session, project_id)
            parents = {project_id: None}
            page = [project_id]
        shape = quota_tree.ProjectTree(parents)
        # The page's counters, and its root's (not always on the page),
        # which name every resource used below it.
        own, below = _usages_by_project(session, sorted(set(page) | {
            project_id}))
        if subtree:
            used = below.get(project_id, {})
            limited = limits.limited_in_subtree(session, project_id,
                                                known=used)
        else:
            used = dict(own.get(project_id, {}), **below.get(project_id, {}))
            limited = limits.limited_resource_names(session, page)
        names = sorted(set(used) | limited)
        catalog = limits.catalog_for(session, page, names, no_limit_policy)
    return (quota_tree.usage_report(shape, project_id, catalog, own, names,
                                    subtree_usage=below, projects=page),
            None if last is None else tree.page_marker(last))


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def reconcile_usage(db, ctx, project_id, actual, refuse_kept=True):
    """Make the project's own usage equal ``actual`` ({resource: n}).

    The difference from the sum of its allocations is kept as an
    adjustment, and every level of its chain moves by the same amount.

    :param refuse_kept: refuse (:class:`ProjectDeleted`, nothing
        written) a reconciliation that raises any resource's usage in a
        project kept after it left Keystone, or below one, as an
        allocation that grows there is refused; lowering it goes on.
        False in local mode, where such marks mean nothing.
    """
    with db.writer.connection.using(ctx) as conn:
        tree.lock_for_ledger(conn)
        chain, kept = tree.chain_and_kept(conn, project_id)
        figures = locked_usages(conn, [(level, name) for level in chain
                                       for name in actual])
        deltas = {name: amount - figures[(project_id, name)][0]
                  for name, amount in actual.items()}
        if kept and refuse_kept and any(
                delta > 0 for delta in deltas.values()):
            raise project_deleted(
                project_id, kept, 'its usage can only be lowered, not '
                'raised.')
        apply(conn, project_id, chain, deltas)
        adjust(conn, project_id, deltas)
        return deltas


_SET_SUBTREE_USED = _USAGE.update().where(
    _USAGE.c.project_id == sa.bindparam('b_project'),
    _USAGE.c.resource_name == sa.bindparam('b_name')).values(
    subtree_used=sa.bindparam('b_amount'))


def recompute_subtree_usage(conn):
    """Set every subtree counter from the own counters and the tree.

    Used after a resync from Keystone, which may change the whole tree;
    holds off every allocation (the tree lock) while it runs.  Rows are
    read and written as plain rows, and only the counters that differ are
    written (none when the tree kept its shape).
    """
    tree.lock_tree(conn, exclusive=True)
    projects = models.Project.__table__
    parents = dict(conn.execute(
        sa.select(projects.c.id, projects.c.parent_id)).all())
    parents = {pid: (parent if parent in parents else None)
               for pid, parent in parents.items()}
    shape = quota_tree.ProjectTree(parents)
    own = {}
    stored = {}
    for project_id, name, own_used, subtree_used in conn.execute(sa.select(
            _USAGE.c.project_id, _USAGE.c.resource_name, _USAGE.c.own_used,
            _USAGE.c.subtree_used)):
        stored[(project_id, name)] = subtree_used
        if project_id in parents:
            own.setdefault(project_id, {})[name] = own_used
    missing = []
    changed = []
    for project_id, resources in quota_tree.subtree_usages(
            shape, own).items():
        for name, amount in resources.items():
            current = stored.get((project_id, name))
            if current is None:
                missing.append({'project_id': project_id,
                                'resource_name': name, 'own_used': 0,
                                'subtree_used': amount, 'adjustment': 0})
            elif current != amount:
                changed.append({'b_project': project_id, 'b_name': name,
                                'b_amount': amount})
    if changed:
        conn.execute(_SET_SUBTREE_USED, changed)
    if missing:
        conn.execute(_USAGE.insert(), missing)
