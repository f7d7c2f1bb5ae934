"""Make projects and limits equal a snapshot of Keystone's."""

import sqlalchemy as sa

from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.db import usages


def replace_from_keystone(db, ctx, snapshot):
    """Make projects and limits equal a Keystone snapshot, in one go.

    Projects that left Keystone but still hold allocations are kept (their
    allocations must be freed first); the others are removed.  Subtree
    counters are recomputed for the new shape of the tree.
    :returns: ``{'projects': n, 'registered_limits': n, 'limits': n}``.
    """
    with db.writer.using(ctx) as session:
        return _replace(session, snapshot)


def _replace(session, snapshot):
    tree.lock_tree(session.connection(), exclusive=True)
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
    usages.recompute_subtree_usage(session)
    return {'projects': len(snapshot.projects),
            'registered_limits': len(snapshot.registered_limits),
            'limits': len(snapshot.project_limits)}
