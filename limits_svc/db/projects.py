"""The projects of the tree: create, read, rename, move, delete.

A move holds the tree lock exclusively (see :mod:`limits_svc.db.tree`) and
carries the moved subtree's usage from the chain it leaves to the chain it
joins.
"""

from oslo_db import api as oslo_db_api
import sqlalchemy as sa

from limits_svc.db import limits
from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.db import usages
from limits_svc import quota_tree
from svc_common import errors

_USAGE = models.Usage.__table__


class _Unset(object):
    """Marks an argument that was not given (None is a value here)."""


UNSET = _Unset()


def get_project(db, ctx, project_id):
    with db.reader.using(ctx) as session:
        return tree.require_project(session, project_id)


def list_projects(db, ctx, limit, marker=None, parent_id=None, only=None):
    """Projects by id, at most ``limit`` after ``marker``; ``only``: the
    one project a project-scoped caller may see."""
    query = sa.select(models.Project).order_by(models.Project.id)
    if only is not None:
        query = query.where(models.Project.id == only)
    if parent_id is not None:
        query = query.where(models.Project.parent_id == parent_id)
    if marker is not None:
        query = query.where(models.Project.id > marker)
    with db.reader.using(ctx) as session:
        return session.scalars(query.limit(limit)).all()


def create_project(db, ctx, project_id, name=None, parent_id=None,
                   domain_id='default'):
    """Add a project under ``parent_id`` (or a root).

    A new project changes the tree's shape, so it holds the tree lock
    exclusively, as a move and a delete do: a parent deleted, or moved
    deeper, by a transaction that has not committed yet is waited for and
    then seen, instead of getting a child that hangs from nothing (whose
    allocations would escape the limits of the ancestors it was created
    under) or that sits deeper than :data:`tree.MAX_DEPTH`.
    """
    with db.writer.using(ctx) as session:
        tree.lock_tree(session.connection(), exclusive=True)
        if session.get(models.Project, project_id) is not None:
            raise errors.Conflict('Project %s exists already.'
                                  % errors.quoted_id(project_id),
                                  code='project_exists')
        if (parent_id is not None and
                len(tree.chain_ids(session, parent_id)) >= tree.MAX_DEPTH):
            raise tree.too_deep(project_id)
        project = models.Project(id=project_id, name=name,
                                 parent_id=parent_id, domain_id=domain_id)
        session.add(project)
        session.flush()
        session.refresh(project)
        return project


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
            tree.lock_tree(session.connection(), exclusive=True)
        project = tree.require_project(session, project_id)
        if name is not UNSET:
            project.name = name
        if parent_id is not UNSET and parent_id != project.parent_id:
            _move(session, project, parent_id, no_limit_policy)
        session.flush()
        session.refresh(project)
        return project


def _subtree_own_usage_statement():
    walk = tree.walk_cte(downwards=True)
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
    new_chain = ([] if parent_id is None else
                 tree.chain_ids(conn, parent_id))
    if project.id in new_chain:
        raise errors.Conflict(
            'Project %s cannot move under its own subtree.'
            % errors.quoted_id(project.id), code='project_cycle')
    if len(new_chain) + tree.height(conn, project.id) > tree.MAX_DEPTH:
        raise tree.too_deep(project.id)
    # The chain the project's allocations were counted along (a parent
    # that is gone is not in it, as for the allocations themselves).
    old_chain = tree.chain_ids(conn, project.id)[1:]
    moved = {name: int(amount) for name, amount in conn.execute(
        _SUBTREE_OWN_USAGE, {'project_id': project.id}) if amount}
    losing, gaining = quota_tree.move_levels(old_chain, new_chain)
    changes = {}
    for name, amount in moved.items():
        for level in losing:
            changes[(level, name)] = (0, -amount)
        for level in gaining:
            changes[(level, name)] = (0, amount)
    after = usages.add_usage(conn, changes)
    if gaining and moved:
        catalog = limits.catalog_for(conn, gaining, sorted(moved),
                                     no_limit_policy)
        before = {level: {name: after[(level, name)][1] - amount
                          for name, amount in moved.items()}
                  for level in gaining}
        violations = quota_tree.check_move(
            [quota_tree.subtree_level(level, before[level], catalog)
             for level in gaining], moved)
        if violations:
            raise usages.OverLimit(violations)
    project.parent_id = parent_id


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def delete_project(db, ctx, project_id):
    """Delete a project with no children and no allocations, and its
    limits and counters (under the tree lock, so that no allocation can
    slip into it meanwhile).

    Its own usage is then what reconciliation set (adjustments, see
    :func:`limits_svc.db.usages.reconcile_usage`); that usage leaves the
    subtree counters of its ancestors with it, as a resync from Keystone
    leaves it out of the recomputed counters.  Deleting the counters alone
    left it counted in every ancestor for ever (refusing allocations
    there, and a drift in the usage audit).
    """
    with db.writer.using(ctx) as session:
        tree.lock_tree(session.connection(), exclusive=True)
        project = tree.require_project(session, project_id)
        child = session.scalar(sa.select(models.Project.id).where(
            models.Project.parent_id == project_id).limit(1))
        if child is not None:
            raise errors.Conflict(
                'Project %s still has child projects.'
                % errors.quoted_id(project_id), code='project_has_children')
        used = session.scalar(sa.select(models.Allocation.consumer_id).where(
            models.Allocation.project_id == project_id).limit(1))
        if used is not None:
            raise errors.Conflict(
                'Project %s still has allocations.'
                % errors.quoted_id(project_id), code='project_in_use')
        conn = session.connection()
        own = {name: amount for name, amount in conn.execute(
            sa.select(_USAGE.c.resource_name, _USAGE.c.own_used).where(
                _USAGE.c.project_id == project_id)) if amount}
        ancestors = tree.chain_ids(conn, project_id)[1:]
        usages.add_usage(conn, {(level, name): (0, -amount)
                                for level in ancestors
                                for name, amount in own.items()})
        session.execute(sa.delete(models.ProjectLimit).where(
            models.ProjectLimit.project_id == project_id))
        session.execute(sa.delete(models.Usage).where(
            models.Usage.project_id == project_id))
        session.delete(project)
