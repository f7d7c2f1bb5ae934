"""Make projects and limits equal a snapshot of Keystone's.

A resync runs under the exclusive tree lock, which holds off every
allocation of the cloud while it lasts, and it runs after every project
change Keystone announces.  So it reads the local copy as plain rows,
compares it with the snapshot in Python and writes only the rows that
differ (most resyncs change a handful of rows, or none): no ORM object per
project or limit, whose bookkeeping made a resync of 100,000 unchanged
projects take 11 s.  An unchanged limit keeps its row, and with it its
``created_at``.
"""

import sqlalchemy as sa

from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.db import usages

_PROJECTS = models.Project.__table__
_ALLOCATIONS = models.Allocation.__table__
_USAGES = models.Usage.__table__

# The columns a snapshot row carries, per table (its ``id`` first).
_PROJECT_COLUMNS = ('id', 'name', 'parent_id', 'domain_id')
_REGISTERED_COLUMNS = ('id', 'service_id', 'region_id', 'resource_name',
                       'default_limit', 'description')
_LIMIT_COLUMNS = ('id', 'project_id', 'domain_id', 'service_id',
                  'region_id', 'resource_name', 'resource_limit', 'scope',
                  'description')

# Ids per DELETE statement: well under SQLite's limit of bound variables.
_DELETE_BATCH = 500


# pg_advisory_xact_lock key of the syncs (class "LIS", id 0): not the
# tree lock, which would hold off every allocation while Keystone is read.
_SYNC_LOCK = sa.select(sa.func.pg_advisory_xact_lock(0x4c4953, 0))


def sync_from_keystone(db, ctx, read_snapshot):
    """:func:`replace_from_keystone` with the snapshot ``read_snapshot()``
    returns, the syncs of every host taking turns.

    Any engine host that hears of a change from Keystone syncs, the
    leader resyncs periodically and an operator may run ``limits-manage
    sync``: two syncs may run at once.  Each read Keystone first and
    then waited for the tree lock, so one that read earlier could commit
    later, writing back what the other had removed (a project deleted in
    Keystone, a project back under the parent it left) until the next
    resync, ten minutes later by default.  On PostgreSQL a sync now holds
    a lock of its own (an advisory lock, not the tree lock: allocations
    go on) from before it reads Keystone until it commits, so the sync
    that commits last is the one that read last.  A SQLite database is
    one host's, whose writer transaction would hold off every allocation
    while Keystone is read: there it reads first, as before.

    :raises: whatever ``read_snapshot`` raises; nothing is written then.
    """
    if db.dialect != 'postgresql':
        return replace_from_keystone(db, ctx, read_snapshot())
    with db.writer.connection.using(ctx) as conn:
        conn.execute(_SYNC_LOCK)
        return _replace(conn, read_snapshot())


def replace_from_keystone(db, ctx, snapshot):
    """Make projects and limits equal a Keystone snapshot, in one go.

    Projects that left Keystone but still hold allocations are kept (their
    allocations must be freed first); the others are removed, with their
    usage counters.  Subtree
    counters are recomputed for the new shape of the tree.
    :returns: ``{'projects': n, 'registered_limits': n, 'limits': n}``.
    """
    with db.writer.connection.using(ctx) as conn:
        return _replace(conn, snapshot)


def _replace(conn, snapshot):
    tree.lock_tree(conn, exclusive=True)
    held = set(conn.scalars(sa.select(_ALLOCATIONS.c.project_id).distinct()))
    gone = _make_equal(conn, _PROJECTS, _PROJECT_COLUMNS, snapshot.projects,
                       keep=held, in_place=True)
    synced = {row['id'] for row in snapshot.projects}
    kept = sorted(set(held) - synced)
    _mark_kept(conn, synced, kept)
    _detach_from_gone_parents(conn, synced, kept)
    # A project's counters go with it, as in a local delete: left behind,
    # a gone parent's subtree counter kept counting the allocations of a
    # child kept below it (a drift in every usage audit), and a gone
    # project's reconciled usage came back if its id did.
    _delete_ids(conn, _USAGES.c.project_id, gone)
    _make_equal(conn, models.RegisteredLimit.__table__, _REGISTERED_COLUMNS,
                snapshot.registered_limits)
    _make_equal(conn, models.ProjectLimit.__table__, _LIMIT_COLUMNS,
                snapshot.project_limits)
    usages.recompute_subtree_usage(conn)
    return {'projects': len(snapshot.projects),
            'registered_limits': len(snapshot.registered_limits),
            'limits': len(snapshot.project_limits)}


def _detach_from_gone_parents(conn, synced, kept):
    """Make a root of every kept project whose parent is no project any
    more (``synced``: the ids of the snapshot's projects; ``kept``: the
    projects kept after they left Keystone, sorted).

    Only a project kept after it left Keystone (it holds allocations) can
    have one: the rows of Keystone's own projects name a parent of the
    snapshot or none.  The ledger counts such a project as a root (its
    chain ends with it, and its subtree counters are recomputed so), as
    its usage report shows it; its row kept naming the parent, which
    ``GET /v1/projects/{id}`` showed, and ``GET /v1/projects?parent_id=``
    of that gone project listed it.  Only the kept projects are read (a
    look for such parents over the whole table cost 60 ms a resync of
    100,000 projects on PostgreSQL, under the tree lock).
    """
    parents = {}
    for start in range(0, len(kept), _DELETE_BATCH):
        parents.update(conn.execute(sa.select(
            _PROJECTS.c.id, _PROJECTS.c.parent_id).where(
            _PROJECTS.c.id.in_(kept[start:start + _DELETE_BATCH]))).all())
    detached = sorted(project_id for project_id, parent in parents.items()
                      if parent is not None and parent not in synced and
                      parent not in parents)
    for start in range(0, len(detached), _DELETE_BATCH):
        conn.execute(_PROJECTS.update().where(
            _PROJECTS.c.id.in_(detached[start:start + _DELETE_BATCH])).values(
            parent_id=None))


_MARKED = sa.select(_PROJECTS.c.id).where(
    _PROJECTS.c.left_keystone_at.is_not(None))


def _mark_kept(conn, synced, kept):
    """Mark the projects ``kept`` after they left Keystone (those not
    marked yet, since now) and unmark those Keystone has again
    (``synced``: the ids of the snapshot's projects).

    The allocation decision refuses any growth in a marked project, or
    below one (409 ``limits.project_deleted``): Keystone deleted its
    limits with it.  The marked projects are read through an index of
    their own, a handful of rows whatever the number of projects.
    """
    marked = set(conn.scalars(_MARKED))
    back = sorted(marked & synced)
    new = sorted(set(kept) - marked)
    for ids, value in ((back, None), (new, sa.func.now())):
        for start in range(0, len(ids), _DELETE_BATCH):
            conn.execute(_PROJECTS.update().where(
                _PROJECTS.c.id.in_(ids[start:start + _DELETE_BATCH])).values(
                left_keystone_at=value))


def _make_equal(conn, table, columns, rows, keep=(), in_place=False):
    """Make ``table`` hold ``rows`` (dicts of ``columns``, by id): insert
    the new ones, delete the others but those whose id is in ``keep``
    (left as they are), and replace those that differ.

    :returns: the ids of the rows deleted for good (not written again).

    :param in_place: update the rows that differ; otherwise they are
        deleted with the others before any row is inserted, so that two
        limits that swap their unique keys never collide half-way.
    """
    key = table.c[columns[0]]
    current = {row[0]: tuple(row) for row in conn.execute(
        sa.select(*[table.c[name] for name in columns]))}
    wanted = {row[columns[0]]: tuple(row.get(name) for name in columns)
              for row in rows}
    new = [dict(zip(columns, values)) for row_id, values in wanted.items()
           if row_id not in current]
    changed = [dict(zip(('b_' + name for name in columns), values))
               for row_id, values in wanted.items()
               if row_id in current and current[row_id] != values]
    gone = sorted(row_id for row_id in current
                  if row_id not in wanted and row_id not in keep)
    deleted = gone
    if not in_place:
        deleted = gone + sorted(row['b_' + columns[0]] for row in changed)
        new += [{name: row['b_' + name] for name in columns}
                for row in changed]
        changed = []
    _delete_ids(conn, key, deleted)
    if changed:
        conn.execute(table.update().where(
            key == sa.bindparam('b_' + columns[0])).values(
            {name: sa.bindparam('b_' + name) for name in columns[1:]}),
            changed)
    if new:
        conn.execute(table.insert(), new)
    return gone


def _delete_ids(conn, column, ids):
    """Delete the rows whose ``column`` is one of ``ids`` (a list)."""
    for start in range(0, len(ids), _DELETE_BATCH):
        conn.execute(column.table.delete().where(
            column.in_(ids[start:start + _DELETE_BATCH])))
