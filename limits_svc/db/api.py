"""Queries of limits_svc: the ledger, limits and projects.

The allocation write path is the heart of the service and is atomic:

1. the usage rows of every (level of the project's chain, resource) the
   change touches are created if missing, then locked in one sorted order
   (``SELECT ... FOR UPDATE`` on PostgreSQL and MySQL; SQLite transactions
   already hold the database's write lock from ``BEGIN IMMEDIATE``);
2. the decision is taken by :func:`limits_svc.quota_tree.check_allocation`
   on the locked figures;
3. the allocation rows and the counters of every level are written in the
   same transaction, or nothing is.

A PUT that frees nothing (a new consumer, or one that only grows in its
project) does 1 and 3 for the counters in one statement: an upsert
creates, locks (in the same sorted order) and increments the rows and
returns their new figures; the decision is taken on the figures before,
and a refusal rolls the whole transaction back.  The sorted order is the
order of code points everywhere (PostgreSQL sorts the lock query with
``COLLATE "C"``, the order in which Python hands the upsert its rows).

Since every writer locks the rows it reads, in the same order, two
concurrent allocations that share any level of the tree serialise on that
level's row, and no level can be pushed over a limit by a race.  Writers
of one consumer's allocation also take turns on the consumer itself
(:func:`_lock_for_ledger`), even when it holds no rows yet.

The shape of the tree is the one thing a writer reads without locking a
usage row: an allocation walks the chain of its project, then locks the
counters of that chain.  A project move that ran between the two would
leave the allocation adding to the counters of a chain that no longer
exists.  So every ledger writer holds the *tree lock* shared, and every
change of the tree's shape (move, delete, Keystone resync, audit repair)
holds it exclusively (a transaction-scoped advisory lock on PostgreSQL;
SQLite's ``BEGIN IMMEDIATE`` already serialises every writer).  The lock is
always taken first, before any row lock, so it adds no deadlock.

Only PostgreSQL and SQLite are supported: they are the two the tests run
against.
"""

import collections
import datetime
import time
import uuid

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from limits_svc.db import models
from limits_svc import quota_tree
from svc_common import errors

# A chain longer than this is a loop in the data, not a real tree.
MAX_DEPTH = 64

_USAGE = models.Usage.__table__
_ALLOCATION = models.Allocation.__table__


class ProjectNotFound(errors.NotFound):
    code = 'project_not_found'


class LimitNotFound(errors.NotFound):
    code = 'limit_not_found'


class AllocationNotFound(errors.NotFound):
    code = 'allocation_not_found'


class OverLimit(errors.Conflict):
    code = 'over_limit'

    def __init__(self, violations):
        blocking = [v.to_dict() for v in violations]
        detail = '; '.join(
            '%s of project %s: %s limit %d, usage %d, requested %+d'
            % (v['resource'], v['project_id'], v['scope'], v['limit'],
               v['usage'], v['delta']) for v in blocking)
        super().__init__('Over limit: %s.' % detail, blocking=blocking)


class Conflict(errors.Conflict):
    pass


class UsageOverflow(errors.Conflict):
    code = 'usage_overflow'


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


# --------------------------------------------------------------------------
# Projects and the tree
# --------------------------------------------------------------------------

def _walk_cte(downwards):
    """A recursive CTE ``walk(id, parent_id, depth)`` from the project
    ``:project_id``: its ancestors (depth 1 is the parent) or its
    subtree."""
    projects = models.Project.__table__
    anchor = sa.select(projects.c.id, projects.c.parent_id,
                       sa.literal(0).label('depth')).where(
        projects.c.id == sa.bindparam('project_id')).cte(
        'walk', recursive=True)
    link = (projects.c.parent_id == anchor.c.id if downwards else
            projects.c.id == anchor.c.parent_id)
    step = sa.select(projects.c.id, projects.c.parent_id,
                     (anchor.c.depth + 1).label('depth')).join(
        anchor, link).where(anchor.c.depth < MAX_DEPTH)
    return anchor.union_all(step)


def _walk_statement(downwards):
    walk = _walk_cte(downwards)
    return sa.select(walk.c.id, walk.c.parent_id).order_by(walk.c.depth)


# Built once: SQLAlchemy then finds their compiled form in its cache.
_WALK = {downwards: _walk_statement(downwards)
         for downwards in (False, True)}


def _walk(session, project_id, downwards):
    """Rows ``(id, parent_id)`` reached from ``project_id`` in one
    recursive query: its ancestors (nearest first) or its subtree."""
    rows = session.execute(_WALK[downwards],
                           {'project_id': project_id}).all()
    if not rows:
        raise ProjectNotFound('No project %s.' % project_id)
    return rows


def chain_ids(session, project_id):
    """``[project_id, parent, ..., root]``."""
    return [row.id for row in _walk(session, project_id, downwards=False)]


def subtree_parents(session, project_id):
    """``{id: parent_id}`` of ``project_id`` and all its descendants."""
    parents = {row.id: row.parent_id
               for row in _walk(session, project_id, downwards=True)}
    parents[project_id] = None  # the report's root
    return parents


def get_project(session, project_id):
    project = session.get(models.Project, project_id)
    if project is None:
        raise ProjectNotFound('No project %s.' % project_id)
    return project


def list_projects(session, limit, marker=None, parent_id=None, only=None):
    query = sa.select(models.Project).order_by(models.Project.id)
    if only is not None:
        query = query.where(models.Project.id == only)
    if parent_id is not None:
        query = query.where(models.Project.parent_id == parent_id)
    if marker is not None:
        query = query.where(models.Project.id > marker)
    return session.scalars(query.limit(limit)).all()


def create_project(session, project_id, name=None, parent_id=None,
                   domain_id='default'):
    if session.get(models.Project, project_id) is not None:
        raise Conflict('Project %s exists already.' % project_id,
                       code='project_exists')
    if parent_id is not None:
        get_project(session, parent_id)
    project = models.Project(id=project_id, name=name, parent_id=parent_id,
                             domain_id=domain_id)
    session.add(project)
    session.flush()
    return project


class _Unset(object):
    """Marks an argument that was not given (None is a value here)."""


UNSET = _Unset()


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def update_project(db, ctx, project_id, no_limit_policy, name=UNSET,
                   parent_id=UNSET):
    """Rename and/or move a project; returns the Project.

    A move holds the tree lock exclusively, so no allocation runs while
    the counters of the two chains change; it costs what the moved subtree
    costs (one summing query over it) plus the levels of the two chains.
    """
    with db.writer.using(ctx) as session:
        if parent_id is not UNSET:
            lock_tree(session.connection(), exclusive=True)
        project = get_project(session, project_id)
        if name is not UNSET:
            project.name = name
        if parent_id is not UNSET and parent_id != project.parent_id:
            _move(session, project, parent_id, no_limit_policy)
        session.flush()
        session.refresh(project)
        return project


def _subtree_own_usage_statement():
    walk = _walk_cte(downwards=True)
    return sa.select(_USAGE.c.resource_name,
                     sa.func.sum(_USAGE.c.own_used)).join(
        walk, walk.c.id == _USAGE.c.project_id).group_by(
        _USAGE.c.resource_name)


_SUBTREE_OWN_USAGE = _subtree_own_usage_statement()


def _move(session, project, parent_id, no_limit_policy):
    """Hang ``project`` (and its subtree) under ``parent_id``.

    The moved subtree's usage leaves the levels of the old chain that are
    not on the new one and joins the levels of the new chain that are not
    on the old one; levels on both (common ancestors) do not change, and
    only the levels that grow are checked against their subtree limits.
    """
    conn = session.connection()
    new_chain = chain_ids(conn, parent_id) if parent_id is not None else []
    if project.id in new_chain:
        raise Conflict('Project %s cannot move under its own subtree.'
                       % project.id, code='project_cycle')
    old_chain = (_chain_or_orphan(conn, project.parent_id)
                 if project.parent_id is not None else [])
    moved = {name: int(amount) for name, amount in conn.execute(
        _SUBTREE_OWN_USAGE, {'project_id': project.id}) if amount}
    losing, gaining = quota_tree.move_levels(old_chain, new_chain)
    changes = {}
    for name, amount in moved.items():
        for level in losing:
            changes[(level, name)] = (0, -amount)
        for level in gaining:
            changes[(level, name)] = (0, amount)
    after = _add_usage(conn, changes)
    if gaining and moved:
        catalog = limit_catalog(conn, gaining, sorted(moved),
                                no_limit_policy)
        before = {level: {name: after[(level, name)][1] - amount
                          for name, amount in moved.items()}
                  for level in gaining}
        violations = quota_tree.check_move(
            [quota_tree.subtree_level(level, before[level], catalog)
             for level in gaining], moved)
        if violations:
            raise OverLimit(violations)
    project.parent_id = parent_id


def delete_project(session, project_id):
    lock_tree(session.connection(), exclusive=True)
    project = get_project(session, project_id)
    child = session.scalar(sa.select(models.Project.id).where(
        models.Project.parent_id == project_id).limit(1))
    if child is not None:
        raise Conflict('Project %s still has child projects.' % project_id,
                       code='project_has_children')
    used = session.scalar(sa.select(models.Allocation.consumer_id).where(
        models.Allocation.project_id == project_id).limit(1))
    if used is not None:
        raise Conflict('Project %s still has allocations.' % project_id,
                       code='project_in_use')
    session.execute(sa.delete(models.ProjectLimit).where(
        models.ProjectLimit.project_id == project_id))
    session.execute(sa.delete(models.Usage).where(
        models.Usage.project_id == project_id))
    session.delete(project)


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


def _lock_for_ledger(conn, consumer_id=None):
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


def recompute_subtree_usage(session):
    """Set every subtree counter from the own counters and the tree.

    Used after a resync from Keystone, which may change the whole tree;
    holds off every allocation (the tree lock) while it runs.
    """
    lock_tree(session.connection(), exclusive=True)
    parents = dict(session.execute(
        sa.select(models.Project.id, models.Project.parent_id)).all())
    parents = {pid: (parent if parent in parents else None)
               for pid, parent in parents.items()}
    tree = quota_tree.ProjectTree(parents)
    own = {}
    rows = {}
    for usage in session.scalars(sa.select(models.Usage)):
        rows[(usage.project_id, usage.resource_name)] = usage
        if usage.project_id in parents:
            own.setdefault(usage.project_id, {})[usage.resource_name] = (
                usage.own_used)
    sums = quota_tree.subtree_usages(tree, own)
    for project_id, resources in sums.items():
        for name, amount in resources.items():
            row = rows.get((project_id, name))
            if row is None:
                session.add(models.Usage(project_id=project_id,
                                         resource_name=name, own_used=0,
                                         subtree_used=amount, adjustment=0))
            elif row.subtree_used != amount:
                row.subtree_used = amount
    session.flush()


# --------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------

def limit_catalog(session, project_ids, resource_names, no_limit_policy):
    """The limits of these projects and resources as a LimitCatalog."""
    registered = session.execute(sa.select(
        models.RegisteredLimit.resource_name,
        models.RegisteredLimit.default_limit).where(
        models.RegisteredLimit.resource_name.in_(resource_names)))
    overrides = session.execute(sa.select(
        models.ProjectLimit.project_id, models.ProjectLimit.resource_name,
        models.ProjectLimit.scope, models.ProjectLimit.resource_limit).where(
        models.ProjectLimit.project_id.in_(project_ids),
        models.ProjectLimit.resource_name.in_(resource_names)))
    return _catalog(registered, overrides, no_limit_policy)


def _catalog(registered_rows, project_rows, no_limit_policy):
    """A LimitCatalog from ``(resource, default)`` and ``(project,
    resource, scope, limit)`` rows.

    Limits of the same resource name from several services or regions
    collapse to the most restrictive one, so that no limit is ever missed.
    """
    registered = {}
    for name, value in registered_rows:
        registered[name] = _tighter(registered.get(name), value)
    overrides = {}
    for project_id, name, scope, value in project_rows:
        key = (project_id, name, scope)
        overrides[key] = _tighter(overrides.get(key), value)
    return quota_tree.LimitCatalog(
        registered,
        [quota_tree.ProjectLimit(p, r, value, s)
         for (p, r, s), value in overrides.items()],
        no_limit_policy)


# The depth column of the rows of these queries that are not levels.
_REGISTERED = -1
_HELD = -2


def _chain_and_limits_selects(lateral):
    """The SELECTs, for a UNION ALL, of one query for the chain of
    ``:project_id`` and the limits of ``:names`` that apply along it.

    Rows ``(depth, project_id, resource, scope, limit)``: for each level
    of the chain, one row per project limit it carries (or one row of
    NULLs), then one row per registered limit with depth -1.  Reading the
    limits on every decision (no cache) is what makes a limit change count
    from the very next allocation, in every API process.

    PostgreSQL expects a recursive CTE to return dozens of rows and then
    prefers a hash join over *every* project limit to a few index look-ups
    (1 ms against 0.3 ms a query with 5,000 limits); with ``lateral`` the
    limits are looked up per level, behind ``OFFSET 0`` so that the
    planner cannot turn the lateral join back into a plain one.
    """
    walk = _walk_cte(downwards=False)
    project_limits = models.ProjectLimit.__table__
    registered = models.RegisteredLimit.__table__
    names = sa.bindparam('names', expanding=True)
    if lateral:
        found = sa.select(
            project_limits.c.resource_name, project_limits.c.scope,
            project_limits.c.resource_limit).where(
            project_limits.c.project_id == walk.c.id,
            project_limits.c.resource_name.in_(names)).offset(0).lateral()
        joined = walk.outerjoin(found, sa.true())
    else:
        found = project_limits
        joined = walk.outerjoin(project_limits, sa.and_(
            project_limits.c.project_id == walk.c.id,
            project_limits.c.resource_name.in_(names)))
    levels = sa.select(
        walk.c.depth, walk.c.id, found.c.resource_name, found.c.scope,
        found.c.resource_limit).select_from(joined)
    defaults = sa.select(
        sa.literal(_REGISTERED, sa.Integer), sa.null(),
        registered.c.resource_name, sa.null(),
        registered.c.default_limit).where(
        registered.c.resource_name.in_(names))
    return [levels, defaults]


def _held_select():
    """The allocation rows of ``:consumer_id``, locked, as rows of depth
    -2 ``(depth, project_id, resource, NULL, amount)``.

    The locking read sits in a CTE: PostgreSQL refuses ``FOR UPDATE`` on a
    UNION, not on a WITH query (``FOR UPDATE`` renders as nothing on
    SQLite, whose transaction holds the database already).
    """
    held = sa.select(
        _ALLOCATION.c.project_id, _ALLOCATION.c.resource_name,
        _ALLOCATION.c.amount).where(
        _ALLOCATION.c.consumer_id == sa.bindparam('consumer_id')
    ).with_for_update().cte('held')
    return sa.select(sa.literal(_HELD, sa.Integer), held.c.project_id,
                     held.c.resource_name, sa.null(), held.c.amount)


_CHAIN_AND_LIMITS = {
    'postgresql': sa.union_all(*_chain_and_limits_selects(lateral=True)),
    'sqlite': sa.union_all(*_chain_and_limits_selects(lateral=False)),
}
# The same with the consumer's allocation rows in front, for a PUT: one
# round trip fewer, where a locking read may sit in a CTE.
_HELD_CHAIN_AND_LIMITS = {
    'postgresql': sa.union_all(
        _held_select(), *_chain_and_limits_selects(lateral=True)),
    'sqlite': sa.union_all(
        _held_select(), *_chain_and_limits_selects(lateral=False)),
}

# An allocation row as _held_select returns it.
_Held = collections.namedtuple('_Held', 'resource_name project_id amount')


def _read_levels(rows, project_id, no_limit_policy):
    """``(held, chain, catalog)`` from the rows of those queries."""
    held = []
    chain = {}
    registered = []
    overrides = []
    for depth, level, name, scope, value in rows:
        if depth == _HELD:
            held.append(_Held(name, level, value))
        elif depth == _REGISTERED:
            registered.append((name, value))
        else:
            chain[depth] = level
            if name is not None:
                overrides.append((level, name, scope, value))
    if not chain:
        raise ProjectNotFound('No project %s.' % project_id)
    return (sorted(held), [chain[depth] for depth in sorted(chain)],
            _catalog(registered, overrides, no_limit_policy))


def chain_and_limits(conn, project_id, resource_names, no_limit_policy):
    """``(chain, catalog)``: :func:`chain_ids` and :func:`limit_catalog`
    of the chain, in one round trip."""
    query = _CHAIN_AND_LIMITS[conn.dialect.name]
    rows = conn.execute(query, {'project_id': project_id,
                                'names': sorted(resource_names)})
    return _read_levels(rows, project_id, no_limit_policy)[1:]


def held_chain_and_limits(conn, consumer_id, project_id, resource_names,
                          no_limit_policy):
    """``(held, chain, catalog)`` for a PUT: the consumer's allocation
    rows, locked, and :func:`chain_and_limits`, in one round trip."""
    rows = conn.execute(_HELD_CHAIN_AND_LIMITS[conn.dialect.name], {
        'consumer_id': consumer_id, 'project_id': project_id,
        'names': sorted(resource_names)})
    return _read_levels(rows, project_id, no_limit_policy)


def limited_resource_names(session, project_ids):
    """Resources that a project limit on one of these projects names."""
    return set(session.scalars(sa.select(
        models.ProjectLimit.resource_name).where(
        models.ProjectLimit.project_id.in_(project_ids)).distinct()))


def _tighter(current, new):
    if current is None or current == quota_tree.UNLIMITED:
        return new
    if new == quota_tree.UNLIMITED:
        return current
    return min(current, new)


def _limit_query(model, filters):
    query = sa.select(model)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, name) == value)
    return query


def list_limits(session, model, filters, limit, marker=None):
    query = _limit_query(model, filters).order_by(model.id)
    if marker is not None:
        query = query.where(model.id > marker)
    return session.scalars(query.limit(limit)).all()


def get_limit(session, model, limit_id):
    row = session.get(model, limit_id)
    if row is None:
        raise LimitNotFound('No limit %s.' % limit_id)
    return row


# The columns that make a limit "the same limit" (NULL counts as a value).
_LIMIT_IDENTITY = {
    models.RegisteredLimit: ('service_id', 'region_id', 'resource_name'),
    models.ProjectLimit: ('project_id', 'domain_id', 'service_id',
                          'region_id', 'resource_name', 'scope'),
}


def _equal_limit_exists(session, model, values):
    """The unique constraints see NULLs as distinct; check here too."""
    query = sa.select(model.id)
    for name in _LIMIT_IDENTITY[model]:
        column = getattr(model, name)
        value = values.get(name)
        query = query.where(column.is_(None) if value is None
                            else column == value)
    return session.scalar(query.limit(1)) is not None


def create_limit(session, model, values):
    if model is models.ProjectLimit:
        values.setdefault('scope', quota_tree.SCOPE_PROJECT)
        if values.get('project_id'):
            get_project(session, values['project_id'])
    if _equal_limit_exists(session, model, values):
        raise Conflict('An equal limit exists already.', code='limit_exists')
    row = model(id=values.pop('id', None) or uuid.uuid4().hex, **values)
    session.add(row)
    try:
        session.flush()
    except db_exc.DBDuplicateEntry as exc:
        raise Conflict('An equal limit exists already.',
                       code='limit_exists') from exc
    return row


def update_limit(session, model, limit_id, values):
    row = get_limit(session, model, limit_id)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    return row


def delete_limit(session, model, limit_id):
    session.delete(get_limit(session, model, limit_id))


# --------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------
#
# These functions take a Connection (``session.connection()`` inside a
# session) and run Core statements built once at import, so that each
# statement costs a look-up in SQLAlchemy's compiled cache rather than a
# new construct and cache key.

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
    points), the order in which :func:`_add_usage` locks rows too.
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


def _read_usages(conn, pairs, lock=False):
    """``{(project_id, resource_name): (own_used, subtree_used)}``."""
    if not pairs:
        return {}
    query = _LOCK_USAGE[conn.dialect.name] if lock else _READ_USAGE
    return {(row.project_id, row.resource_name):
            (row.own_used, row.subtree_used)
            for row in conn.execute(query, {
                'projects': sorted({p for p, _ in pairs}),
                'names': sorted({r for _, r in pairs})})}


def _locked_usages(conn, pairs):
    """Lock the usage rows of ``pairs``, creating the missing ones first.

    The common case (every row exists) costs one locking query; otherwise
    the missing rows are inserted and the whole set locked again, in the
    same sorted order.
    """
    pairs = set(pairs)
    usages = _read_usages(conn, pairs, lock=True)
    missing = pairs.difference(usages)
    if missing:
        conn.execute(_INSERT_IGNORE[conn.dialect.name], [
            {'project_id': p, 'resource_name': r, 'own_used': 0,
             'subtree_used': 0, 'adjustment': 0} for p, r in sorted(missing)])
        usages = _read_usages(conn, pairs, lock=True)
    return usages


def _upsert_statement(insert):
    """Add to the counters of the given rows, creating the missing ones,
    and return the counters as they are now: one statement that creates,
    locks (in the order of the rows given) and writes."""
    stmt = insert(_USAGE)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_USAGE.c.project_id, _USAGE.c.resource_name],
        set_={'own_used': _USAGE.c.own_used + stmt.excluded.own_used,
              'subtree_used': (_USAGE.c.subtree_used +
                               stmt.excluded.subtree_used)})
    return stmt.returning(_USAGE.c.project_id, _USAGE.c.resource_name,
                          _USAGE.c.own_used, _USAGE.c.subtree_used)


_ADD_USAGE = {'postgresql': _upsert_statement(pg_dialect.insert),
              'sqlite': _upsert_statement(sqlite_dialect.insert)}


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


def _add_usage(conn, changes):
    """Add ``changes`` (``{(project_id, resource): (own, subtree)}``) to
    the counters, creating missing rows; returns the counters after.

    One upsert statement creates, locks (in sorted order) and writes the
    rows and returns their new figures.
    """
    if not changes:
        return {}
    keys = sorted(changes)
    rows = conn.execute(_ADD_USAGE[conn.dialect.name], [
        {'project_id': p, 'resource_name': r,
         'own_used': changes[(p, r)][0],
         'subtree_used': changes[(p, r)][1], 'adjustment': 0}
        for p, r in keys])
    after = {(row.project_id, row.resource_name):
             (row.own_used, row.subtree_used) for row in rows}
    _check_bounds(after)
    return after


def _changes(project_id, chain, deltas):
    """``deltas`` on the project's own usage and every level's subtree
    usage, as :func:`_add_usage` takes them."""
    return {(level, name): (delta if level == project_id else 0, delta)
            for level in chain for name, delta in deltas.items() if delta}


def _apply(conn, project_id, chain, deltas):
    """Add ``deltas`` to the project's own and its chain's subtree usage."""
    return _add_usage(conn, _changes(project_id, chain, deltas))


_NEGATIVE_ADJUSTMENTS = sa.select(
    _USAGE.c.resource_name, _USAGE.c.adjustment).where(
    _USAGE.c.project_id == sa.bindparam('project_id'),
    _USAGE.c.adjustment < 0,
    _USAGE.c.resource_name.in_(sa.bindparam('names', expanding=True)))

_ADJUST = _USAGE.update().where(
    _USAGE.c.project_id == sa.bindparam('p'),
    _USAGE.c.resource_name == sa.bindparam('r')).values(
    adjustment=_USAGE.c.adjustment + sa.bindparam('delta'))


def _adjust(conn, project_id, deltas):
    """Add ``deltas`` ({resource: n}) to the project's adjustments."""
    changes = [{'p': project_id, 'r': name, 'delta': delta}
               for name, delta in sorted(deltas.items()) if delta]
    if changes:
        conn.execute(_ADJUST, changes)


def _give_back(conn, project_id, chain, freed):
    """Take ``freed`` ({resource: amount > 0}) off the project's usage.

    A negative adjustment (reconciliation found less in use than the
    allocations say) means some allocations were already gone in truth;
    freeing one of them now cancels that much of the adjustment instead of
    counting it off twice, so usage never drops below zero.
    """
    if not freed:
        return
    negative = dict(conn.execute(_NEGATIVE_ADJUSTMENTS, {
        'project_id': project_id, 'names': sorted(freed)}).all())
    cancels = {name: min(amount, -negative.get(name, 0))
               for name, amount in freed.items()}
    _adjust(conn, project_id, cancels)
    _apply(conn, project_id, chain, {name: cancels[name] - amount
                                     for name, amount in freed.items()})


def _levels(chain, usages, catalog, resource_names, project_id):
    """The decision's view of the chain, from the locked usage rows."""
    tree = quota_tree.ProjectTree(dict(zip(chain, chain[1:] + [None])))
    own = {project_id: {name: usages.get((project_id, name), (0, 0))[0]
                        for name in resource_names}}
    subtree = {level: {name: usages.get((level, name), (0, 0))[1]
                       for name in resource_names} for level in chain}
    return quota_tree.build_chain(tree, project_id, catalog, own, subtree,
                                  resource_names)


def _current_allocation_statement(lock):
    query = sa.select(_ALLOCATION.c.resource_name, _ALLOCATION.c.project_id,
                      _ALLOCATION.c.amount, _ALLOCATION.c.expires_at).where(
        _ALLOCATION.c.consumer_id == sa.bindparam('consumer_id')).order_by(
        _ALLOCATION.c.resource_name)
    # FOR UPDATE renders as nothing on SQLite.
    return query.with_for_update() if lock else query


_CURRENT_ALLOCATION = {lock: _current_allocation_statement(lock)
                       for lock in (False, True)}


def _current_allocation(conn, consumer_id, lock):
    """The consumer's allocation rows (plain rows, not ORM objects)."""
    return conn.execute(_CURRENT_ALLOCATION[lock],
                        {'consumer_id': consumer_id}).all()


def _as_allocation(consumer_id, rows):
    if not rows:
        return None
    return {'consumer_id': consumer_id,
            'project_id': rows[0].project_id,
            'resources': {row.resource_name: row.amount for row in rows},
            'expires_at': rows[0].expires_at}


def _is_live(rows, now):
    return bool(rows) and (rows[0].expires_at is None or
                           rows[0].expires_at > now)


def decide(conn, consumer_id, project_id, resources, no_limit_policy,
           lock):
    """The decision for a PUT (also the dry run): chain, deltas, verdict.

    The consumer's previous allocation (even an expired reservation that
    was not purged yet: the ledger still counts it) is replaced.
    :param conn: a Connection (``session.connection()`` in a session).
    :returns: a :class:`Decision`.
    """
    old_rows = _current_allocation(conn, consumer_id, lock) \
        if consumer_id else []
    old, old_chain, chain, deltas, violations = _decide(
        conn, old_rows, project_id, resources, no_limit_policy, lock)
    return Decision(old_rows[0].project_id if old_rows else None, deltas,
                    violations)


class Decision(collections.namedtuple(
        'Decision', 'held_project_id deltas violations')):
    """What :func:`decide` found.

    ``held_project_id``: the project the consumer's allocation is in now
    (None for a new consumer); ``deltas``: ``{resource: change}``;
    ``violations``: :class:`limits_svc.quota_tree.Violation` objects,
    empty when the allocation would be allowed.
    """

    @property
    def allowed(self):
        return not self.violations


def _decide(conn, old_rows, project_id, resources, no_limit_policy, lock):
    """:func:`decide` once the consumer's allocation rows are read."""
    old = {row.resource_name: row.amount for row in old_rows}
    old_project = old_rows[0].project_id if old_rows else None
    names = sorted(set(resources) | set(old))
    chain, catalog = chain_and_limits(conn, project_id, names,
                                      no_limit_policy)
    old_chain = (chain if old_project in (None, project_id) else
                 _chain_or_orphan(conn, old_project))
    if old_project == project_id:
        deltas = quota_tree.replacement_deltas(old, resources)
    else:
        deltas = {name: amount for name, amount in resources.items()
                  if amount}
    pairs = [(level, name) for level in chain for name in names]
    pairs += [(level, name) for level in old_chain for name in old]
    usages = (_locked_usages(conn, pairs) if lock else
              _read_usages(conn, pairs))
    if old and old_project != project_id:
        usages = quota_tree.freed_usages(usages, old_project, old_chain, old)
    violations = quota_tree.check_allocation(
        _levels(chain, usages, catalog, names, project_id), deltas)
    return old, old_chain, chain, deltas, violations


def _chain_or_orphan(conn, project_id):
    try:
        return chain_ids(conn, project_id)
    except ProjectNotFound:
        return [project_id]


def _only_grows(old_rows, project_id, resources):
    """True when the PUT frees nothing: a new consumer, or one that stays
    in its project and whose amounts do not shrink."""
    if not old_rows:
        return True
    return (old_rows[0].project_id == project_id and
            all(resources.get(row.resource_name, 0) >= row.amount
                for row in old_rows))


def _take(conn, old_rows, project_id, chain, catalog, resources):
    """The PUT that frees nothing, in one statement on the counters.

    The growth is added to every level's counters (rows created and locked
    in sorted order by the same statement) and the decision is taken on
    the figures they held before; a refusal raises, and the transaction
    rolls the counters back.
    """
    old = {row.resource_name: row.amount for row in old_rows}
    deltas = quota_tree.replacement_deltas(old, resources)
    changes = _changes(project_id, chain, deltas)
    after = _add_usage(conn, changes)
    before = {key: (own - changes[key][0], sub - changes[key][1])
              for key, (own, sub) in after.items()}
    violations = quota_tree.check_allocation(
        _levels(chain, before, catalog, sorted(deltas), project_id), deltas)
    if violations:
        raise OverLimit(violations)


def _replace(conn, old_rows, project_id, resources, no_limit_policy):
    """Any other PUT: lock every row involved, decide, free, take."""
    old, old_chain, chain, deltas, violations = _decide(
        conn, old_rows, project_id, resources, no_limit_policy, lock=True)
    if violations:
        raise OverLimit(violations)
    old_project = old_rows[0].project_id if old_rows else None
    if old and old_project != project_id:
        _give_back(conn, old_project, old_chain, old)
    _apply(conn, project_id, chain,
           {name: d for name, d in deltas.items() if d > 0})
    _give_back(conn, project_id, chain,
               {name: -d for name, d in deltas.items() if d < 0})


_DELETE_ALLOCATION = _ALLOCATION.delete().where(
    _ALLOCATION.c.consumer_id == sa.bindparam('consumer_id'))
_INSERT_ALLOCATION = _ALLOCATION.insert()


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def put_allocation(db, ctx, consumer_id, project_id, resources,
                   no_limit_policy, expires_at=None, check_held=None):
    """Replace the consumer's allocation, atomically, or raise OverLimit.

    :param check_held: called with the project the consumer's allocation
        is in now, under the consumer's lock, when that is another project
        than ``project_id`` (the request also acts there); it raises to
        refuse, and nothing is written.
    """
    with db.writer.connection.using(ctx) as conn:
        _lock_for_ledger(conn, consumer_id)
        old_rows, chain, catalog = held_chain_and_limits(
            conn, consumer_id, project_id, resources, no_limit_policy)
        if (check_held is not None and old_rows and
                old_rows[0].project_id != project_id):
            check_held(old_rows[0].project_id)
        if _only_grows(old_rows, project_id, resources):
            _take(conn, old_rows, project_id, chain, catalog, resources)
        else:
            _replace(conn, old_rows, project_id, resources, no_limit_policy)
        if old_rows:
            conn.execute(_DELETE_ALLOCATION, {'consumer_id': consumer_id})
        rows = [{'consumer_id': consumer_id, 'resource_name': name,
                 'project_id': project_id, 'amount': amount,
                 'expires_at': expires_at}
                for name, amount in sorted(resources.items()) if amount]
        if rows:
            conn.execute(_INSERT_ALLOCATION, rows)
        return {'consumer_id': consumer_id, 'project_id': project_id,
                'resources': {row['resource_name']: row['amount']
                              for row in rows},
                'expires_at': expires_at if rows else None}


def _free(conn, consumer_id, rows):
    old = {row.resource_name: row.amount for row in rows}
    project_id = rows[0].project_id
    chain = _chain_or_orphan(conn, project_id)
    _locked_usages(conn, [(level, name) for level in chain
                          for name in old])
    _give_back(conn, project_id, chain, old)
    conn.execute(_DELETE_ALLOCATION, {'consumer_id': consumer_id})


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def delete_allocation(db, ctx, consumer_id, check_held=None):
    """Free the consumer's allocation.

    :param check_held: called with the allocation's project under the
        consumer's lock; it raises to refuse, and nothing is written.
    """
    with db.writer.connection.using(ctx) as conn:
        _lock_for_ledger(conn, consumer_id)
        rows = _current_allocation(conn, consumer_id, lock=True)
        if not rows:
            raise AllocationNotFound('No allocation for consumer %s.'
                                     % consumer_id)
        if check_held is not None:
            check_held(rows[0].project_id)
        _free(conn, consumer_id, rows)


def purge_expired(db, ctx, now=None, batch=100):
    """Free reservations whose time ran out; returns how many."""
    now = now or utcnow()
    with db.reader.using(ctx) as session:
        expired = session.scalars(sa.select(
            models.Allocation.consumer_id).where(
            models.Allocation.expires_at <= now).distinct().limit(
            batch)).all()
    freed = 0
    for consumer_id in expired:
        with db.writer.connection.using(ctx) as conn:
            _lock_for_ledger(conn, consumer_id)
            rows = _current_allocation(conn, consumer_id, lock=True)
            if rows and not _is_live(rows, now):
                _free(conn, consumer_id, rows)
                freed += 1
    return freed


# When this process last swept expired reservations, per database URL.
_last_sweep = {}
SWEEP_INTERVAL = 1.0


def purge_expired_if_due(db, ctx):
    """:func:`purge_expired`, at most once a second per process.

    Allocation requests call this so that an expired reservation stops
    counting within a second even without limits-engine, without paying
    for a sweep on every request.
    """
    now = time.monotonic()
    if now - _last_sweep.get(db.url, -SWEEP_INTERVAL) < SWEEP_INTERVAL:
        return 0
    _last_sweep[db.url] = now
    return purge_expired(db, ctx)


def get_allocation(session, consumer_id):
    rows = _current_allocation(session, consumer_id, lock=False)
    if not rows:
        raise AllocationNotFound('No allocation for consumer %s.'
                                 % consumer_id)
    return _as_allocation(consumer_id, rows)


def list_allocations(session, limit, marker=None, project_id=None):
    """Allocations by consumer id, at most ``limit`` consumers."""
    consumers = sa.select(models.Allocation.consumer_id).distinct()
    if project_id is not None:
        consumers = consumers.where(
            models.Allocation.project_id == project_id)
    if marker is not None:
        consumers = consumers.where(models.Allocation.consumer_id > marker)
    ids = session.scalars(consumers.order_by(
        models.Allocation.consumer_id).limit(limit)).all()
    if not ids:
        return []
    rows = session.scalars(sa.select(models.Allocation).where(
        models.Allocation.consumer_id.in_(ids)).order_by(
        models.Allocation.consumer_id, models.Allocation.resource_name))
    grouped = {}
    for row in rows:
        grouped.setdefault(row.consumer_id, []).append(row)
    return [_as_allocation(cid, grouped[cid]) for cid in ids]


def _usages_by_project(session, column, project_ids):
    usage = {}
    for project_id, name, amount in session.execute(sa.select(
            _USAGE.c.project_id, _USAGE.c.resource_name, column).where(
            _USAGE.c.project_id.in_(project_ids))):
        usage.setdefault(project_id, {})[name] = amount
    return usage


def own_usages(session, project_ids):
    """``{project_id: {resource: own_used}}`` from the ledger."""
    return _usages_by_project(session, _USAGE.c.own_used, project_ids)


def subtree_usages(session, project_ids):
    """``{project_id: {resource: subtree_used}}`` from the ledger."""
    return _usages_by_project(session, _USAGE.c.subtree_used, project_ids)


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def reconcile_usage(db, ctx, project_id, actual):
    """Make the project's own usage equal ``actual`` ({resource: n}).

    The difference from the sum of its allocations is kept as an
    adjustment, and every level of its chain moves by the same amount.
    """
    with db.writer.connection.using(ctx) as conn:
        _lock_for_ledger(conn)
        chain = chain_ids(conn, project_id)
        usages = _locked_usages(conn, [(level, name) for level in chain
                                       for name in actual])
        deltas = {name: amount - usages[(project_id, name)][0]
                  for name, amount in actual.items()}
        _apply(conn, project_id, chain, deltas)
        _adjust(conn, project_id, deltas)
        return deltas


def replace_from_keystone(session, snapshot):
    """Make projects and limits equal a Keystone snapshot, in one go.

    Projects that left Keystone but still hold allocations are kept (their
    allocations must be freed first); the others are removed.  Subtree
    counters are recomputed for the new shape of the tree.
    :returns: ``{'projects': n, 'registered_limits': n, 'limits': n}``.
    """
    lock_tree(session.connection(), exclusive=True)
    wanted = {row['id']: row for row in snapshot.projects}
    for project in session.scalars(sa.select(models.Project)):
        row = wanted.pop(project.id, None)
        if row is None:
            in_use = session.scalar(sa.select(
                models.Allocation.consumer_id).where(
                models.Allocation.project_id == project.id).limit(1))
            if in_use is None:
                session.delete(project)
            continue
        project.name = row['name']
        project.parent_id = row['parent_id']
        project.domain_id = row['domain_id']
    session.add_all(models.Project(**row) for row in wanted.values())
    for model, rows in ((models.RegisteredLimit,
                         snapshot.registered_limits),
                        (models.ProjectLimit, snapshot.project_limits)):
        session.execute(sa.delete(model))
        session.add_all(model(**row) for row in rows)
    session.flush()
    recompute_subtree_usage(session)
    return {'projects': len(snapshot.projects),
            'registered_limits': len(snapshot.registered_limits),
            'limits': len(snapshot.project_limits)}
