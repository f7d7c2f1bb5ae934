"""Registered limits and project limits.

Reading the limits on every decision (no cache) is what makes a limit
change count from the very next allocation, in every API process.
"""

import uuid

from oslo_db import exception as db_exc
import sqlalchemy as sa

from limits_svc.db import models
from limits_svc.db import tree
from limits_svc import quota_tree
from svc_common import errors


class LimitNotFound(errors.NotFound):
    code = 'limit_not_found'


def catalog_for(session, project_ids, resource_names, no_limit_policy):
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
    return build_catalog(registered, overrides, no_limit_policy)


def build_catalog(registered_rows, project_rows, no_limit_policy):
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


def _tighter(current, new):
    if current is None or current == quota_tree.UNLIMITED:
        return new
    if new == quota_tree.UNLIMITED:
        return current
    return min(current, new)


def limited_resource_names(session, project_ids):
    """Resources that a project limit on one of these projects names."""
    return set(session.scalars(sa.select(
        models.ProjectLimit.resource_name).where(
        models.ProjectLimit.project_id.in_(project_ids)).distinct()))


_PROJECT_LIMITS = models.ProjectLimit.__table__


def _limited_names_statement():
    """Every resource name some project limit names: a loose scan of
    ``project_limits_resource_idx``, one index look-up per name (a
    ``SELECT DISTINCT`` reads every limit)."""
    column = _PROJECT_LIMITS.c.resource_name
    names = sa.select(sa.func.min(column).label('name')).cte(
        'names', recursive=True)
    following = sa.select(sa.func.min(column)).where(
        column > names.c.name).scalar_subquery()
    names = names.union_all(
        sa.select(following).where(names.c.name.is_not(None)))
    return sa.select(names.c.name).where(names.c.name.is_not(None))


_LIMITED_NAMES = _limited_names_statement()

# A resource named by at most this many project limits is looked for in
# a subtree from those limits' projects up; one named by more, from the
# subtree's root down.
FEW_LIMITS = 1000

_LIMITED_PROJECTS = sa.select(_PROJECT_LIMITS.c.project_id).where(
    _PROJECT_LIMITS.c.resource_name == sa.bindparam('name'),
    _PROJECT_LIMITS.c.project_id.is_not(None)).limit(sa.bindparam('n'))


def _reaches_root_statement():
    """Whether the chain of one of ``:projects`` passes ``:root``."""
    projects = models.Project.__table__
    up = sa.select(projects.c.id, projects.c.parent_id,
                   sa.literal(0).label('depth')).where(
        projects.c.id.in_(sa.bindparam('projects', expanding=True))).cte(
        'up', recursive=True)
    up = up.union_all(sa.select(
        projects.c.id, projects.c.parent_id,
        (up.c.depth + 1).label('depth')).join(
        up, projects.c.id == up.c.parent_id).where(
        up.c.depth < tree.MAX_DEPTH, up.c.id != sa.bindparam('root')))
    return sa.select(up.c.id).where(up.c.id == sa.bindparam('root')).limit(1)


_REACHES_ROOT = _reaches_root_statement()


def _limited_below_statement():
    """Whether a project of the subtree of ``:project_id`` has a limit
    on ``:name``."""
    walk = tree.walk_cte(downwards=True)
    return sa.select(_PROJECT_LIMITS.c.id).join(
        walk, walk.c.id == _PROJECT_LIMITS.c.project_id).where(
        _PROJECT_LIMITS.c.resource_name == sa.bindparam('name')).limit(1)


_LIMITED_BELOW = _limited_below_statement()


def limited_in_subtree(session, root_id, known=()):
    """Resources that a project limit of the subtree of ``root_id`` names,
    ``known`` ones aside (the caller reports them anyway).

    Costs a look-up per resource name that has limits and is not known;
    for each of those, a walk up from its limits' projects when it has at
    most :data:`FEW_LIMITS` of them, else down the subtree.
    """
    names = set()
    for name in session.scalars(_LIMITED_NAMES):
        if name in known:
            continue
        holders = session.scalars(_LIMITED_PROJECTS, {
            'name': name, 'n': FEW_LIMITS + 1}).all()
        if len(holders) <= FEW_LIMITS:
            found = session.scalar(_REACHES_ROOT, {
                'projects': holders, 'root': root_id})
        else:
            found = session.scalar(_LIMITED_BELOW, {
                'project_id': root_id, 'name': name})
        if found is not None:
            names.add(name)
    return names


def _limit_query(model, filters):
    query = sa.select(model)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, name) == value)
    return query


def list_limits(db, ctx, model, filters, limit, marker=None):
    """Limits of ``model`` (RegisteredLimit or ProjectLimit) equal to
    ``filters`` (None: any), by id, at most ``limit`` after ``marker``."""
    query = _limit_query(model, filters).order_by(model.id)
    if marker is not None:
        query = query.where(model.id > marker)
    with db.reader.using(ctx) as session:
        return session.scalars(query.limit(limit)).all()


def _get(session, model, limit_id, lock=False):
    """The limit, or :class:`LimitNotFound`.  ``lock``: read with
    ``SELECT ... FOR UPDATE``, for a change or a delete: one that another
    transaction is deleting is waited for, then not found (a 404), where
    the change found no row to write (a 500) and a second delete answered
    as if it had deleted it."""
    row = session.get(model, limit_id, with_for_update=lock)
    if row is None:
        raise LimitNotFound('No limit %s.' % errors.quoted_id(limit_id))
    return row


def get_limit(db, ctx, model, limit_id):
    with db.reader.using(ctx) as session:
        return _get(session, model, limit_id)


# The columns that make a limit "the same limit" (NULL counts as a value,
# as in the unique indexes of models.py).
_LIMIT_IDENTITY = {
    models.RegisteredLimit: ('service_id', 'region_id', 'resource_name'),
    models.ProjectLimit: ('project_id', 'domain_id', 'service_id',
                          'region_id', 'resource_name', 'scope'),
}


def _equal_limit(session, model, values):
    """The id of a limit equal to ``values``, or None: the same check as
    the unique index, for a clear answer first."""
    query = sa.select(model.id)
    for name in _LIMIT_IDENTITY[model]:
        column = getattr(model, name)
        value = values.get(name)
        query = query.where(column.is_(None) if value is None
                            else column == value)
    return session.scalar(query.limit(1))


def _exists_already(limit_id=None):
    """The 409 of an equal limit; ``limit_id``: the existing one's (a
    client changes that one instead), when known."""
    if limit_id is None:
        return errors.Conflict('An equal limit exists already.',
                               code='limit_exists')
    return errors.Conflict('An equal limit exists already: %s.' % limit_id,
                           code='limit_exists', limit_id=limit_id)


def _flush(session):
    """Flush; an equal limit written meanwhile by another transaction
    is refused by the unique index and answered like the check above."""
    try:
        session.flush()
    except db_exc.DBDuplicateEntry as exc:
        raise _exists_already() from exc


def create_limit(db, ctx, model, values):
    values = dict(values)
    if model is models.ProjectLimit:
        values.setdefault('scope', quota_tree.SCOPE_PROJECT)
    with db.writer.using(ctx) as session:
        if values.get('project_id'):
            # The tree lock, shared: a delete of the project that has not
            # committed yet is waited for and then seen (a 404), instead
            # of leaving a limit of a project that is gone (which would
            # apply again to a project created later with that id).
            tree.lock_tree(session.connection(), exclusive=False)
            tree.require_project(session, values['project_id'])
        existing = _equal_limit(session, model, values)
        if existing is not None:
            raise _exists_already(existing)
        row = model(id=values.pop('id', None) or uuid.uuid4().hex, **values)
        session.add(row)
        _flush(session)
        return row


def update_limit(db, ctx, model, limit_id, values):
    with db.writer.using(ctx) as session:
        row = _get(session, model, limit_id, lock=True)
        for name, value in values.items():
            setattr(row, name, value)
        _flush(session)
        return row


def delete_limit(db, ctx, model, limit_id):
    with db.writer.using(ctx) as session:
        session.delete(_get(session, model, limit_id, lock=True))
