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

Since every writer locks the rows it reads, in the same order, two
concurrent allocations that share any level of the tree serialise on that
level's row, and no level can be pushed over a limit by a race.
"""

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


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


# --------------------------------------------------------------------------
# Projects and the tree
# --------------------------------------------------------------------------

def _walk(session, project_id, downwards):
    """Rows ``(id, parent_id)`` reached from ``project_id`` in one
    recursive query: its ancestors (nearest first) or its subtree."""
    projects = models.Project.__table__
    anchor = sa.select(projects.c.id, projects.c.parent_id,
                       sa.literal(0).label('depth')).where(
        projects.c.id == project_id).cte('walk', recursive=True)
    link = (projects.c.parent_id == anchor.c.id if downwards else
            projects.c.id == anchor.c.parent_id)
    step = sa.select(projects.c.id, projects.c.parent_id,
                     (anchor.c.depth + 1).label('depth')).join(
        anchor, link).where(anchor.c.depth < MAX_DEPTH)
    walk = anchor.union_all(step)
    rows = session.execute(sa.select(walk.c.id, walk.c.parent_id).order_by(
        walk.c.depth)).all()
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


def set_project_parent(session, project_id, parent_id):
    """Move a project; subtree counters are recomputed for the new tree."""
    project = get_project(session, project_id)
    if parent_id is not None:
        if project_id in chain_ids(session, parent_id):
            raise Conflict('Project %s cannot move under its own subtree.'
                           % project_id, code='project_cycle')
    project.parent_id = parent_id
    session.flush()
    recompute_subtree_usage(session)
    return project


def delete_project(session, project_id):
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


def _lock_all_usages(session):
    if session.bind.dialect.name == 'postgresql':
        session.execute(sa.text(
            'LOCK TABLE usages IN SHARE ROW EXCLUSIVE MODE'))


def recompute_subtree_usage(session):
    """Set every subtree counter from the own counters and the tree.

    Used after the tree changes shape; holds off every allocation (table
    lock) while it runs.
    """
    _lock_all_usages(session)
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
    """The limits of these projects and resources as a LimitCatalog.

    Limits of the same resource name from several services or regions
    collapse to the most restrictive one, so that no limit is ever missed.
    """
    registered = {}
    for row in session.execute(sa.select(
            models.RegisteredLimit.resource_name,
            models.RegisteredLimit.default_limit).where(
            models.RegisteredLimit.resource_name.in_(resource_names))):
        registered[row.resource_name] = _tighter(
            registered.get(row.resource_name), row.default_limit)
    overrides = {}
    for row in session.execute(sa.select(
            models.ProjectLimit.project_id, models.ProjectLimit.resource_name,
            models.ProjectLimit.scope,
            models.ProjectLimit.resource_limit).where(
            models.ProjectLimit.project_id.in_(project_ids),
            models.ProjectLimit.resource_name.in_(resource_names))):
        key = (row.project_id, row.resource_name, row.scope)
        overrides[key] = _tighter(overrides.get(key), row.resource_limit)
    return quota_tree.LimitCatalog(
        registered,
        [quota_tree.ProjectLimit(p, r, value, s)
         for (p, r, s), value in overrides.items()],
        no_limit_policy)


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

def _insert_ignore(session, table, rows):
    """INSERT rows, skipping those whose primary key exists already."""
    dialect = session.bind.dialect.name
    if dialect == 'postgresql':
        stmt = pg_dialect.insert(table).on_conflict_do_nothing()
    elif dialect == 'sqlite':
        stmt = sqlite_dialect.insert(table).on_conflict_do_nothing()
    else:
        stmt = sa.insert(table).prefix_with('IGNORE')
    session.execute(stmt, rows)


def _usage_query(pairs, lock):
    table = models.Usage.__table__
    query = sa.select(table.c.project_id, table.c.resource_name,
                      table.c.own_used, table.c.subtree_used).where(
        table.c.project_id.in_(sorted({p for p, _ in pairs})),
        table.c.resource_name.in_(sorted({r for _, r in pairs}))).order_by(
        table.c.project_id, table.c.resource_name)
    return query.with_for_update() if lock else query


def _read_usages(session, pairs, lock=False):
    """``{(project_id, resource_name): (own_used, subtree_used)}``.

    With ``lock``, the rows are locked in one sorted order (``FOR UPDATE``;
    SQLite's transaction holds the whole database already).
    """
    if not pairs:
        return {}
    lock = lock and session.bind.dialect.name != 'sqlite'
    return {(row.project_id, row.resource_name):
            (row.own_used, row.subtree_used)
            for row in session.execute(_usage_query(pairs, lock))}


def _locked_usages(session, pairs):
    """Lock the usage rows of ``pairs``, creating the missing ones first.

    The common case (every row exists) costs one locking query; otherwise
    the missing rows are inserted and the whole set locked again, in the
    same sorted order.
    """
    pairs = set(pairs)
    usages = _read_usages(session, pairs, lock=True)
    missing = pairs.difference(usages)
    if missing:
        _insert_ignore(session, models.Usage.__table__, [
            {'project_id': p, 'resource_name': r, 'own_used': 0,
             'subtree_used': 0, 'adjustment': 0} for p, r in sorted(missing)])
        usages = _read_usages(session, pairs, lock=True)
    return usages


def _apply(session, project_id, chain, deltas):
    """Add ``deltas`` to the project's own and its chain's subtree usage."""
    table = models.Usage.__table__
    changes = [{'p': level, 'r': name, 'own': delta if level == project_id
                else 0, 'sub': delta}
               for level in chain for name, delta in deltas.items() if delta]
    if changes:
        session.execute(
            table.update().where(
                table.c.project_id == sa.bindparam('p'),
                table.c.resource_name == sa.bindparam('r')).values(
                own_used=table.c.own_used + sa.bindparam('own'),
                subtree_used=table.c.subtree_used + sa.bindparam('sub')),
            changes)


def _give_back(session, project_id, chain, freed):
    """Take ``freed`` ({resource: amount > 0}) off the project's usage.

    A negative adjustment (reconciliation found less in use than the
    allocations say) means some allocations were already gone in truth;
    freeing one of them now cancels that much of the adjustment instead of
    counting it off twice, so usage never drops below zero.
    """
    table = models.Usage.__table__
    negative = dict(session.execute(sa.select(
        table.c.resource_name, table.c.adjustment).where(
        table.c.project_id == project_id, table.c.adjustment < 0,
        table.c.resource_name.in_(sorted(freed)))).all()) if freed else {}
    deltas = {}
    for name, amount in freed.items():
        cancel = min(amount, -negative.get(name, 0))
        if cancel:
            session.execute(table.update().where(
                table.c.project_id == project_id,
                table.c.resource_name == name).values(
                adjustment=table.c.adjustment + cancel))
        deltas[name] = cancel - amount
    _apply(session, project_id, chain, deltas)


def _levels(chain, usages, catalog, resource_names, project_id):
    """The decision's view of the chain, from the locked usage rows."""
    tree = quota_tree.ProjectTree(dict(zip(chain, chain[1:] + [None])))
    own = {project_id: {name: usages.get((project_id, name), (0, 0))[0]
                        for name in resource_names}}
    subtree = {level: {name: usages.get((level, name), (0, 0))[1]
                       for name in resource_names} for level in chain}
    return quota_tree.build_chain(tree, project_id, catalog, own, subtree,
                                  resource_names)


def _current_allocation(session, consumer_id, lock):
    """The consumer's allocation rows (plain rows, not ORM objects)."""
    table = models.Allocation.__table__
    query = sa.select(table.c.resource_name, table.c.project_id,
                      table.c.amount, table.c.expires_at).where(
        table.c.consumer_id == consumer_id).order_by(table.c.resource_name)
    if lock and session.bind.dialect.name != 'sqlite':
        query = query.with_for_update()
    return session.execute(query).all()


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


def decide(session, consumer_id, project_id, resources, no_limit_policy,
           lock):
    """The decision for a PUT (also the dry run): chain, deltas, verdict.

    The consumer's previous allocation (even an expired reservation that
    was not purged yet: the ledger still counts it) is replaced.
    :returns: ``(old_rows, old, old_chain, chain, deltas, violations)``
    """
    old_rows = _current_allocation(session, consumer_id, lock) \
        if consumer_id else []
    old = {row.resource_name: row.amount for row in old_rows}
    old_project = old_rows[0].project_id if old_rows else None
    chain = chain_ids(session, project_id)
    old_chain = (chain if old_project in (None, project_id) else
                 _chain_or_orphan(session, old_project))
    if old_project == project_id:
        deltas = quota_tree.replacement_deltas(old, resources)
    else:
        deltas = {name: amount for name, amount in resources.items()
                  if amount}
    names = sorted(set(resources) | set(old))
    pairs = [(level, name) for level in chain for name in names]
    pairs += [(level, name) for level in old_chain for name in old]
    usages = (_locked_usages(session, pairs) if lock else
              _read_usages(session, pairs))
    if old and old_project != project_id:
        # Free the old allocation first: moving is give-back then take.
        usages = dict(usages)
        for level in old_chain:
            for name, amount in old.items():
                own, sub = usages.get((level, name), (0, 0))
                usages[(level, name)] = (
                    own - amount if level == old_project else own,
                    sub - amount)
    catalog = limit_catalog(session, chain, names, no_limit_policy)
    violations = quota_tree.check_allocation(
        _levels(chain, usages, catalog, names, project_id), deltas)
    return old_rows, old, old_chain, chain, deltas, violations


def _chain_or_orphan(session, project_id):
    try:
        return chain_ids(session, project_id)
    except ProjectNotFound:
        return [project_id]


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def put_allocation(db, ctx, consumer_id, project_id, resources,
                   no_limit_policy, expires_at=None):
    """Replace the consumer's allocation, atomically, or raise OverLimit."""
    with db.writer.using(ctx) as session:
        old_rows, old, old_chain, chain, deltas, violations = decide(
            session, consumer_id, project_id, resources, no_limit_policy,
            lock=True)
        if violations:
            raise OverLimit(violations)
        old_project = old_rows[0].project_id if old_rows else None
        if old and old_project != project_id:
            _give_back(session, old_project, old_chain, old)
        _apply(session, project_id, chain,
               {name: d for name, d in deltas.items() if d > 0})
        _give_back(session, project_id, chain,
                   {name: -d for name, d in deltas.items() if d < 0})
        if old_rows:
            session.execute(sa.delete(models.Allocation).where(
                models.Allocation.consumer_id == consumer_id))
        rows = [{'consumer_id': consumer_id, 'resource_name': name,
                 'project_id': project_id, 'amount': amount,
                 'expires_at': expires_at}
                for name, amount in sorted(resources.items()) if amount]
        if rows:
            session.execute(sa.insert(models.Allocation.__table__), rows)
        return {'consumer_id': consumer_id, 'project_id': project_id,
                'resources': {row['resource_name']: row['amount']
                              for row in rows},
                'expires_at': expires_at if rows else None}


def _free(session, consumer_id, rows):
    old = {row.resource_name: row.amount for row in rows}
    project_id = rows[0].project_id
    chain = _chain_or_orphan(session, project_id)
    _locked_usages(session, [(level, name) for level in chain
                             for name in old])
    _give_back(session, project_id, chain, old)
    session.execute(sa.delete(models.Allocation).where(
        models.Allocation.consumer_id == consumer_id))


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def delete_allocation(db, ctx, consumer_id):
    with db.writer.using(ctx) as session:
        rows = _current_allocation(session, consumer_id, lock=True)
        if not rows:
            raise AllocationNotFound('No allocation for consumer %s.'
                                     % consumer_id)
        _free(session, consumer_id, rows)


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
        with db.writer.using(ctx) as session:
            rows = _current_allocation(session, consumer_id, lock=True)
            if rows and not _is_live(rows, now):
                _free(session, consumer_id, rows)
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


def own_usages(session, project_ids):
    """``{project_id: {resource: own_used}}`` from the ledger."""
    usage = {}
    for row in session.execute(sa.select(
            models.Usage.project_id, models.Usage.resource_name,
            models.Usage.own_used).where(
            models.Usage.project_id.in_(project_ids))):
        usage.setdefault(row.project_id, {})[row.resource_name] = row.own_used
    return usage


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def reconcile_usage(db, ctx, project_id, actual):
    """Make the project's own usage equal ``actual`` ({resource: n}).

    The difference from the sum of its allocations is kept as an
    adjustment, and every level of its chain moves by the same amount.
    """
    with db.writer.using(ctx) as session:
        chain = chain_ids(session, project_id)
        usages = _locked_usages(session, [(level, name) for level in chain
                                          for name in actual])
        deltas = {name: amount - usages[(project_id, name)][0]
                  for name, amount in actual.items()}
        _apply(session, project_id, chain, deltas)
        table = models.Usage.__table__
        for name, delta in deltas.items():
            if delta:
                session.execute(table.update().where(
                    table.c.project_id == project_id,
                    table.c.resource_name == name).values(
                    adjustment=table.c.adjustment + delta))
        return deltas


def replace_from_keystone(session, snapshot):
    """Make projects and limits equal a Keystone snapshot, in one go.

    Projects that left Keystone but still hold allocations are kept (their
    allocations must be freed first); the others are removed.  Subtree
    counters are recomputed for the new shape of the tree.
    :returns: ``{'projects': n, 'registered_limits': n, 'limits': n}``.
    """
    _lock_all_usages(session)
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
