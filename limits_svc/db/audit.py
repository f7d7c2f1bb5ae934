"""Check the usage counters against the allocation rows, and repair them.

Every allocation keeps the ledger (``usages``) current in its own
transaction, so the counters should always equal what the allocation rows
say: a project's own usage is the sum of its allocations plus its
reconciliation adjustment, and its subtree usage is the sum of the own
usage of every project of its subtree.  Whatever the cause of a drift (a
bug, a hand edit, a restore of one table and not the other), an operator
can see it and repair it here: ``limits-manage usage audit [--fix]`` and
the ``limits-status upgrade check``.

The audit reads the counters and the allocations as one consistent
picture (one snapshot, no lock); a repair holds the tree lock exclusively
(see :mod:`limits_svc.db.tree`) and writes every counter in the
transaction that read them.
"""

import collections

import sqlalchemy as sa

from limits_svc.db import models
from limits_svc.db import tree
from limits_svc import quota_tree

_USAGE = models.Usage.__table__
_ALLOCATION = models.Allocation.__table__
_PROJECT = models.Project.__table__


class Drift(collections.namedtuple(
        'Drift', 'project_id resource_name stored expected')):
    """One usage row whose counters differ from what the allocations say.

    ``stored`` and ``expected`` are ``(own_used, subtree_used)``.
    """

    def describe(self):
        return ('%s %s: own %d (should be %d), subtree %d (should be %d)'
                % (self.project_id, self.resource_name, self.stored[0],
                   self.expected[0], self.stored[1], self.expected[1]))


def expected_usages(conn):
    """``{(project_id, resource): (own, subtree)}`` from the allocation
    rows, the adjustments and the tree."""
    parents = dict(conn.execute(sa.select(_PROJECT.c.id,
                                          _PROJECT.c.parent_id)).all())
    own = collections.defaultdict(dict)

    def add(project_id, name, amount):
        own[project_id][name] = own[project_id].get(name, 0) + int(amount)

    for project_id, name, amount in conn.execute(sa.select(
            _ALLOCATION.c.project_id, _ALLOCATION.c.resource_name,
            sa.func.sum(_ALLOCATION.c.amount)).group_by(
            _ALLOCATION.c.project_id, _ALLOCATION.c.resource_name)):
        add(project_id, name, amount)
    for project_id, name, amount in conn.execute(sa.select(
            _USAGE.c.project_id, _USAGE.c.resource_name,
            _USAGE.c.adjustment).where(_USAGE.c.adjustment != 0)):
        add(project_id, name, amount)
    # A project that is gone but still counted (or whose parent is gone)
    # is a root of its own.
    for project_id in own:
        parents.setdefault(project_id, None)
    parents = {pid: (parent if parent in parents else None)
               for pid, parent in parents.items()}
    sums = quota_tree.subtree_usages(quota_tree.ProjectTree(parents), own)
    return {(project_id, name): (own[project_id].get(name, 0), amount)
            for project_id, resources in sums.items()
            for name, amount in resources.items()}


def stored_usages(conn):
    """``{(project_id, resource): (own, subtree)}`` as the ledger holds
    them."""
    return {(row.project_id, row.resource_name):
            (row.own_used, row.subtree_used)
            for row in conn.execute(sa.select(
                _USAGE.c.project_id, _USAGE.c.resource_name,
                _USAGE.c.own_used, _USAGE.c.subtree_used))}


def find_drift(conn):
    """Every :class:`Drift`, sorted by project and resource."""
    stored = stored_usages(conn)
    expected = expected_usages(conn)
    drifts = []
    for key in sorted(set(stored) | set(expected)):
        have = stored.get(key, (0, 0))
        want = expected.get(key, (0, 0))
        if have != want:
            drifts.append(Drift(key[0], key[1], have, want))
    return drifts


_SET_USAGE = _USAGE.update().where(
    _USAGE.c.project_id == sa.bindparam('p'),
    _USAGE.c.resource_name == sa.bindparam('r')).values(
    own_used=sa.bindparam('own'), subtree_used=sa.bindparam('sub'))


def _repair(conn, drifts):
    stored = stored_usages(conn)
    missing = [d for d in drifts
               if (d.project_id, d.resource_name) not in stored]
    present = [d for d in drifts
               if (d.project_id, d.resource_name) in stored]
    if missing:
        conn.execute(_USAGE.insert(), [
            {'project_id': d.project_id, 'resource_name': d.resource_name,
             'own_used': d.expected[0], 'subtree_used': d.expected[1],
             'adjustment': 0} for d in missing])
    if present:
        conn.execute(_SET_USAGE, [
            {'p': d.project_id, 'r': d.resource_name, 'own': d.expected[0],
             'sub': d.expected[1]} for d in present])


_SNAPSHOT = sa.text('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ '
                    'READ ONLY')


def audit(db, ctx, fix=False):
    """The drifts found; with ``fix``, repaired in the same transaction.

    Without ``fix`` nothing is locked: the counters and the allocations
    are read in one snapshot (a repeatable-read transaction on
    PostgreSQL; on SQLite a reader's transaction in WAL mode is one), so
    checking a live cloud holds off no allocation.  A repair holds the
    tree lock exclusively while it reads and writes.
    :returns: the list of :class:`Drift` found (before any repair).
    """
    if not fix:
        with db.reader.connection.using(ctx) as conn:
            if conn.dialect.name == 'postgresql':
                conn.execute(_SNAPSHOT)
            return find_drift(conn)
    with db.writer.connection.using(ctx) as conn:
        tree.lock_tree(conn, exclusive=True)
        drifts = find_drift(conn)
        if drifts:
            _repair(conn, drifts)
        return drifts
