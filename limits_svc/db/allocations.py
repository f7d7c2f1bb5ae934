"""Allocations: the decision, and the write path that never over-commits.

A PUT that frees nothing (a new consumer, or one that only grows in its
project) takes the decision on the figures its one upsert returns
(:func:`limits_svc.db.usages.add_usage`) and a refusal rolls the whole
transaction back; any other PUT locks every row involved first, decides,
frees and takes.  Writers of one consumer's allocation take turns on the
consumer itself (:func:`limits_svc.db.tree.lock_for_ledger`), even when it
holds no rows yet.
"""

import collections
import datetime
import itertools

from oslo_db import api as oslo_db_api
from oslo_log import log as logging
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect

from limits_svc.db import limits
from limits_svc.db import models
from limits_svc.db import tree
from limits_svc.db import usages
from limits_svc import quota_tree
from svc_common import errors

LOG = logging.getLogger(__name__)


class AllocationNotFound(errors.NotFound):
    code = 'allocation_not_found'


class AllocationAbsent(errors.ApiError):
    """412: a PUT that may only replace the consumer's allocation
    (``If-Match: *``) found none: never made, freed, or a reservation that
    expired.  Nothing is written."""
    status = 412
    code = 'allocation_absent'


class AllocationChanged(errors.ApiError):
    """412: a write that may only change the allocation of the ETag it
    names (``If-Match: "<etag>"``) found another one: written since,
    freed, or a reservation that expired.  Nothing is written."""
    status = 412
    code = 'allocation_changed'


#: 409: an allocation that would grow in a project kept after it left
#: Keystone, or below one (see :func:`check_kept`).
ProjectDeleted = usages.ProjectDeleted


def _project_deleted(project_id, kept):
    return usages.project_deleted(
        project_id, kept, 'they can only be reduced, moved to another '
        'project or deleted, not grown.')


class AllocationPresent(errors.ApiError):
    """412: a write that may only make the consumer's allocation
    (``If-None-Match: *``) found one (a confirmed allocation, or a
    reservation that has not expired), or one that may not find the
    allocation of an ETag it names (``If-None-Match: "<etag>"``) found
    that one.  Nothing is written."""
    status = 412
    code = 'allocation_exists'


_ALLOCATION = models.Allocation.__table__


def utcnow():
    """This host's clock, as naive UTC."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _database_clock():
    """The statements that read the database server's clock, as naive
    UTC, per supported dialect (SQLite's is that of the one host that
    opens the file; millisecond precision)."""
    return {
        'postgresql': sa.select(sa.func.timezone(
            'UTC', sa.func.statement_timestamp())),
        'sqlite': sa.select(sa.type_coerce(
            sa.func.strftime('%Y-%m-%d %H:%M:%f', 'now'), sa.DateTime)),
    }


_DATABASE_CLOCK = _database_clock()


def database_now(conn):
    """The database's clock now, as naive UTC.

    Reservations expire by this one clock: it sets their ``expires_at``
    and decides whether they ran out, whichever API host or engine asks.
    The hosts' own clocks may differ by seconds, or jump (a stepped NTP
    correction, a resumed VM); compared with them, a reservation made on
    one host and swept on another lived as much shorter or longer, and an
    engine whose clock ran an hour ahead freed every reservation of the
    last hour while its builds still needed it.
    """
    return conn.scalar(_DATABASE_CLOCK[conn.dialect.name])


# The depth column of the rows of these queries that are not levels.
_REGISTERED = -1
_HELD = -2
_PROJECT_LIMIT = -3
_NOW = -4
_GENERATION = -5
_LEFT_KEYSTONE = -6

_EPOCH = datetime.datetime(1970, 1, 1)


def _chain_and_limits_selects(lateral):
    """The SELECTs, for a UNION ALL, of one query for the chain of
    ``:project_id`` and the limits of ``:names`` that apply along it.

    Rows ``(depth, project_id, resource, scope, limit)``: one row per
    level of the chain (with ``lateral``, one per project limit the level
    carries, or one with NULLs), the project limits with depth -3 (without
    ``lateral``), one row of depth -6 per level kept after it left
    Keystone (none, almost always), then one row per registered limit
    with depth -1.
    Reading the limits on every decision (no cache) is what makes a limit
    change count from the very next allocation, in every API process.

    Either way the limits are found by index look-ups per level, so that
    the cost does not grow with the number of projects or limits.
    PostgreSQL expects a recursive CTE to return dozens of rows and then
    prefers a hash join over *every* project limit to a few index look-ups
    (1 ms against 0.3 ms a query with 5,000 limits); with ``lateral`` the
    limits are looked up per level, behind ``OFFSET 0`` so that the
    planner cannot turn the lateral join back into a plain one.  SQLite,
    once ``ANALYZE`` or ``PRAGMA optimize`` has given it statistics, puts
    a Bloom filter on the inner table of a join, built by reading all of
    it on every execution (17 ms a query at 100,000 projects): there the
    limits are read by a query of their own table alone, ``project_id
    IN`` the chain, which it answers with the (project, resource) index.
    """
    walk = tree.walk_cte(downwards=False, left_keystone=True)
    project_limits = models.ProjectLimit.__table__
    registered = models.RegisteredLimit.__table__
    if lateral:
        # One array parameter: the statement's text does not depend on
        # how many names there are, so it is not rendered anew for each
        # execution as an expanding IN list is.
        names = sa.bindparam('names', type_=pg_dialect.ARRAY(sa.String))

        def among_names(column):
            return column == sa.any_(names)
    else:
        names = sa.bindparam('names', expanding=True)

        def among_names(column):
            return column.in_(names)
    if lateral:
        found = sa.select(
            project_limits.c.resource_name, project_limits.c.scope,
            project_limits.c.resource_limit).where(
            project_limits.c.project_id == walk.c.id,
            among_names(project_limits.c.resource_name)).offset(0).lateral()
        selects = [sa.select(
            walk.c.depth, walk.c.id, found.c.resource_name, found.c.scope,
            found.c.resource_limit).select_from(
            walk.outerjoin(found, sa.true()))]
    else:
        selects = [
            sa.select(walk.c.depth, walk.c.id, sa.null(), sa.null(),
                      sa.null()),
            sa.select(
                sa.literal(_PROJECT_LIMIT, sa.Integer),
                project_limits.c.project_id, project_limits.c.resource_name,
                project_limits.c.scope, project_limits.c.resource_limit).where(
                project_limits.c.project_id.in_(sa.select(walk.c.id)),
                among_names(project_limits.c.resource_name))]
    # The levels kept after they left Keystone, from the rows the walk
    # read: no look-up of its own.  The depth is written in the text, not
    # bound (a bound literal costs each execution its processing).
    selects.append(sa.select(
        sa.literal_column(str(_LEFT_KEYSTONE), sa.Integer), walk.c.id,
        sa.null(), sa.null(), sa.null()).where(
        walk.c.left_keystone_at.is_not(None)))
    defaults = sa.select(
        sa.literal(_REGISTERED, sa.Integer), sa.null(),
        registered.c.resource_name, sa.null(),
        registered.c.default_limit).where(
        among_names(registered.c.resource_name))
    return selects + [defaults]


def _held_selects():
    """The allocation rows of ``:consumer_id``, locked, as rows of depth
    -2 ``(depth, project_id, resource, NULL, amount)``, and their
    generation as one row of depth -5 ``(depth, NULL, NULL, NULL,
    generation)`` (NULL without rows).

    The locking read sits in a CTE: PostgreSQL refuses ``FOR UPDATE`` on a
    UNION, not on a WITH query (``FOR UPDATE`` renders as nothing on
    SQLite, whose transaction holds the database already).
    """
    held = sa.select(
        _ALLOCATION.c.project_id, _ALLOCATION.c.resource_name,
        _ALLOCATION.c.amount, _ALLOCATION.c.generation).where(
        _ALLOCATION.c.consumer_id == sa.bindparam('consumer_id')
    ).with_for_update().cte('held')
    return [sa.select(sa.literal(_HELD, sa.Integer), held.c.project_id,
                      held.c.resource_name, sa.null(), held.c.amount),
            sa.select(sa.literal(_GENERATION, sa.Integer), sa.null(),
                      sa.null(), sa.null(), sa.func.max(held.c.generation))]


def _clock_select(dialect_name):
    """The database's clock (:func:`database_now`) as a row of depth -4
    ``(depth, NULL, NULL, NULL, microseconds since 1970 UTC)``: a PUT
    that makes a reservation reads it in its first round trip."""
    if dialect_name == 'postgresql':
        micros = sa.extract('epoch', sa.func.statement_timestamp()) * 1000000
    else:
        micros = (sa.func.julianday('now') - 2440587.5) * 86400000000.0
    return sa.select(sa.literal(_NOW, sa.Integer), sa.null(), sa.null(),
                     sa.null(), sa.cast(sa.func.round(micros), sa.BigInteger))


_CHAIN_AND_LIMITS = {
    'postgresql': sa.union_all(*_chain_and_limits_selects(lateral=True)),
    'sqlite': sa.union_all(*_chain_and_limits_selects(lateral=False)),
}


_HELD_CHAIN_AND_LIMITS = {
    'postgresql': sa.union_all(
        *_held_selects(), _clock_select('postgresql'),
        *_chain_and_limits_selects(lateral=True)),
    'sqlite': sa.union_all(
        *_held_selects(), _clock_select('sqlite'),
        *_chain_and_limits_selects(lateral=False)),
}


_LOCKED_HELD_CHAIN_AND_LIMITS = tree.LockedRead(_HELD_CHAIN_AND_LIMITS)


_Held = collections.namedtuple('_Held', 'resource_name project_id amount')


def _read_levels(rows, project_id, no_limit_policy):
    """``(held, chain, catalog, now, generation, kept)`` from the rows of
    those queries (``now``: the database's clock, ``generation``: that of
    the held rows; None from a query without them; ``kept``: the levels
    of the chain kept after they left Keystone, nearest first)."""
    held = []
    kept = {}
    chain = {}
    registered = []
    overrides = []
    now = None
    generation = None
    for depth, level, name, scope, value in rows:
        if depth == _HELD:
            held.append(_Held(name, level, value))
        elif depth == _GENERATION:
            generation = value
        elif depth == _NOW:
            now = _EPOCH + datetime.timedelta(microseconds=value)
        elif depth == _REGISTERED:
            registered.append((name, value))
        elif depth == _PROJECT_LIMIT:
            overrides.append((level, name, scope, value))
        elif depth == _LEFT_KEYSTONE:
            kept[level] = True
        else:
            chain[depth] = level
            if name is not None:
                overrides.append((level, name, scope, value))
    if not chain:
        raise tree.ProjectNotFound('No project %s.'
                                   % errors.quoted_id(project_id))
    tree.check_depth(project_id, list(chain))
    chain = [chain[depth] for depth in sorted(chain)]
    return (sorted(held), chain,
            limits.build_catalog(registered, overrides, no_limit_policy),
            now, generation,
            [level for level in chain if level in kept] if kept else [])


def chain_and_limits(conn, project_id, resource_names, no_limit_policy):
    """``(chain, catalog, kept)``: :func:`tree.chain_ids` and
    :func:`limit_catalog` of the chain, and its levels kept after they
    left Keystone, in one round trip."""
    query = _CHAIN_AND_LIMITS[conn.dialect.name]
    rows = conn.execute(query, {'project_id': project_id,
                                'names': sorted(resource_names)})
    _held, chain, catalog, _now, _generation, kept = _read_levels(
        rows, project_id, no_limit_policy)
    return chain, catalog, kept


def locked_held_chain_and_limits(conn, consumer_id, project_id,
                                 resource_names, no_limit_policy):
    """``(held, chain, catalog, now, generation, kept)`` for a PUT: the
    ledger's locks (:func:`limits_svc.db.tree.lock_for_ledger`), then the
    consumer's allocation rows, locked, and their generation,
    :func:`chain_and_limits` and the database's clock, in one round
    trip."""
    rows = _LOCKED_HELD_CHAIN_AND_LIMITS.rows(conn, consumer_id, {
        'consumer_id': consumer_id, 'project_id': project_id,
        'names': sorted(resource_names)})
    return _read_levels(rows, project_id, no_limit_policy)


def _levels(chain, figures, catalog, resource_names, project_id):
    """The decision's view of the chain, from the locked usage rows."""
    tree = quota_tree.ProjectTree(dict(zip(chain, chain[1:] + [None])))
    own = {project_id: {name: figures.get((project_id, name), (0, 0))[0]
                        for name in resource_names}}
    subtree = {level: {name: figures.get((level, name), (0, 0))[1]
                       for name in resource_names} for level in chain}
    return quota_tree.build_chain(tree, project_id, catalog, own, subtree,
                                  resource_names)


def _current_allocation_statement(lock):
    query = sa.select(_ALLOCATION.c.resource_name, _ALLOCATION.c.project_id,
                      _ALLOCATION.c.amount, _ALLOCATION.c.expires_at,
                      _ALLOCATION.c.generation).where(
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
            'expires_at': rows[0].expires_at,
            'generation': rows[0].generation}


def _is_live(rows, now):
    return bool(rows) and (rows[0].expires_at is None or
                           rows[0].expires_at > now)


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


def decide(db, ctx, consumer_id, project_id, resources, no_limit_policy,
           refuse_kept=True):
    """The decision a PUT would get (the dry run), written nowhere.

    The consumer's previous allocation (even an expired reservation that
    was not purged yet: the ledger still counts it) is replaced.
    :returns: a :class:`Decision`.
    :raises ProjectDeleted: see :func:`put_allocation`.
    """
    with db.reader.connection.using(ctx) as conn:
        old_rows = (_current_allocation(conn, consumer_id, lock=False)
                    if consumer_id else [])
        chain, catalog, kept = chain_and_limits(
            conn, project_id, set(resources) | {
                row.resource_name for row in old_rows}, no_limit_policy)
        if refuse_kept and kept:
            check_kept(project_id, kept, _live_rows(conn, old_rows),
                       resources)
        old, old_chain, chain, deltas, violations = _decide(
            conn, old_rows, project_id, resources, no_limit_policy,
            lock=False, chain=chain, catalog=catalog)
    return Decision(old_rows[0].project_id if old_rows else None, deltas,
                    violations)


def _decide(conn, old_rows, project_id, resources, no_limit_policy, lock,
            chain=None, catalog=None):
    """:func:`decide` once the consumer's allocation rows are read.

    ``chain`` and ``catalog`` are :func:`chain_and_limits` of the
    requested resources when the caller has them already (only growing
    resources, which the request names, are checked against limits).
    """
    old = {row.resource_name: row.amount for row in old_rows}
    old_project = old_rows[0].project_id if old_rows else None
    names = sorted(set(resources) | set(old))
    if chain is None:
        chain, catalog, _kept = chain_and_limits(conn, project_id, names,
                                                 no_limit_policy)
    old_chain = (chain if old_project in (None, project_id) else
                 tree.chain_or_orphan(conn, old_project))
    if old_project == project_id:
        deltas = quota_tree.replacement_deltas(old, resources)
    else:
        deltas = {name: amount for name, amount in resources.items()
                  if amount}
    pairs = [(level, name) for level in chain for name in names]
    pairs += [(level, name) for level in old_chain for name in old]
    figures = (usages.locked_usages(conn, pairs) if lock else
               usages.read_usages(conn, pairs))
    if old and old_project != project_id:
        cancels = quota_tree.cancelled_by_give_back(
            old, usages.negative_adjustments(conn, old_project, old))
        figures = quota_tree.freed_usages(
            figures, old_project, old_chain,
            {name: amount - cancels[name] for name, amount in old.items()})
    violations = quota_tree.check_allocation(
        _levels(chain, figures, catalog, names, project_id), deltas)
    return old, old_chain, chain, deltas, violations


def _live_rows(conn, rows):
    """``rows`` (the consumer's allocation rows, with their expiry) if
    they are a live allocation, else none: a reservation that expired
    and was not swept yet is no allocation any more."""
    if (rows and rows[0].expires_at is not None and
            not _is_live(rows, database_now(conn))):
        return []
    return rows


def check_kept(project_id, kept, old_rows, resources):
    """Refuse (:class:`ProjectDeleted`) an allocation in ``project_id``
    that grows any resource there when ``kept`` (the levels of its chain
    kept after they left Keystone) is not empty.

    ``old_rows`` are the consumer's live allocation rows: a reservation
    that expired counts as nothing, so that a write of its amounts (a
    plain ``PUT`` made it live again, for good without an expiry, and
    the sweep no longer freed it) is a growth like any other.

    Keystone deleted the limits of a kept project with it, and those of
    the projects above it that went too: a growth there was taken with
    no limit at all.  A level above the project counts as well: the
    limits above a kept project are gone once it is detached, and a
    project of Keystone's never hangs below a kept one (the resync keeps
    nothing that Keystone has).  An allocation that shrinks, stays as it
    is (a reservation confirmed) or leaves the project is let through,
    so that it can be freed.
    """
    if not kept:
        return
    if old_rows and old_rows[0].project_id == project_id:
        old = {row.resource_name: row.amount for row in old_rows}
    else:
        old = {}
    if any(amount > old.get(name, 0) for name, amount in resources.items()):
        raise _project_deleted(project_id, kept)


def _only_grows(old_rows, project_id, resources):
    """True when the PUT frees nothing: a new consumer, or one that stays
    in its project and whose amounts do not shrink."""
    if not old_rows:
        return True
    return (old_rows[0].project_id == project_id and
            all(resources.get(row.resource_name, 0) >= row.amount
                for row in old_rows))


def _take(conn, old_rows, project_id, chain, catalog, resources, written):
    """The PUT that frees nothing, in one statement on the counters.

    The growth is added to every level's counters (rows created and locked
    in sorted order by the same statement) and the decision is taken on
    the figures they held before; a refusal raises, and the transaction
    rolls the counters back.  On PostgreSQL the same statement writes the
    consumer's allocation rows (``written``: their parameters, see
    :func:`_write_allocation`).

    :returns: whether the allocation rows were written.
    """
    old = {row.resource_name: row.amount for row in old_rows}
    deltas = quota_tree.replacement_deltas(old, resources)
    changes = usages.changes_of(project_id, chain, deltas)
    if not changes:
        return False
    if conn.dialect.name == 'postgresql':
        after = usages.add_usage(conn, changes,
                                 _TAKE_AND_WRITE[bool(old_rows)], written)
    else:
        after = usages.add_usage(conn, changes)
    before = {key: (own - changes[key][0], sub - changes[key][1])
              for key, (own, sub) in after.items()}
    violations = quota_tree.check_allocation(
        _levels(chain, before, catalog, sorted(deltas), project_id), deltas)
    if violations:
        raise usages.OverLimit(violations)
    return conn.dialect.name == 'postgresql'


def _replace(conn, old_rows, project_id, resources, no_limit_policy, chain,
             catalog):
    """Any other PUT: lock every row involved, decide, free, take."""
    old, old_chain, chain, deltas, violations = _decide(
        conn, old_rows, project_id, resources, no_limit_policy, lock=True,
        chain=chain, catalog=catalog)
    if violations:
        raise usages.OverLimit(violations)
    old_project = old_rows[0].project_id if old_rows else None
    if old and old_project != project_id:
        usages.give_back(conn, old_project, old_chain, old)
    usages.apply(conn, project_id, chain,
                 {name: d for name, d in deltas.items() if d > 0})
    usages.give_back(conn, project_id, chain,
                     {name: -d for name, d in deltas.items() if d < 0})


_DELETE_ALLOCATION = _ALLOCATION.delete().where(
    _ALLOCATION.c.consumer_id == sa.bindparam('consumer_id'))


_INSERT_ALLOCATION = _ALLOCATION.insert()


def _write_rows_ctes(replaces):
    """The data-modifying CTEs that make the allocation rows of
    ``:consumer_id`` what :func:`_rows_parameters` says, on PostgreSQL:
    rows of the resources it names are inserted or overwritten and, with
    ``replaces``, rows of the other resources deleted.

    The two touch different rows: PostgreSQL runs the sub-statements of
    one statement on one snapshot, in no set order, and a row inserted
    by one and deleted by the other would be left to that order.
    """
    names = sa.bindparam('a_name', type_=pg_dialect.ARRAY(sa.String))
    rows = usages.unnest(('a_name', sa.String),
                         ('a_amount', sa.BigInteger))
    insert = pg_dialect.insert(_ALLOCATION).from_select(
        ['consumer_id', 'resource_name', 'project_id', 'amount',
         'expires_at', 'generation'],
        sa.select(sa.cast(sa.bindparam('consumer_id'), sa.String),
                  rows.c.a_name,
                  sa.cast(sa.bindparam('project_id'), sa.String),
                  rows.c.a_amount,
                  sa.cast(sa.bindparam('expires_at'), sa.DateTime),
                  sa.cast(sa.bindparam('generation'), sa.BigInteger)))
    insert = insert.on_conflict_do_update(
        index_elements=[_ALLOCATION.c.consumer_id,
                        _ALLOCATION.c.resource_name],
        set_={'project_id': insert.excluded.project_id,
              'amount': insert.excluded.amount,
              'expires_at': insert.excluded.expires_at,
              'generation': insert.excluded.generation,
              'updated_at': sa.func.now()})
    ctes = [insert.cte('written_rows')]
    if replaces:
        ctes.append(_ALLOCATION.delete().where(
            _ALLOCATION.c.consumer_id == sa.bindparam('consumer_id'),
            _ALLOCATION.c.resource_name != sa.all_(names)).cte(
            'dropped_rows'))
    return ctes


def _write_rows_statement(replaces):
    """:func:`_write_rows_ctes` as one statement of their own."""
    return sa.select(sa.literal_column('1')).add_cte(
        *_write_rows_ctes(replaces))


# PostgreSQL, keyed by whether the consumer had rows before.
_WRITE_ROWS = {replaces: _write_rows_statement(replaces)
               for replaces in (False, True)}
_TAKE_AND_WRITE = {
    replaces: usages.UPSERT_FROM_ARRAYS.add_cte(*_write_rows_ctes(replaces))
    for replaces in (False, True)}


def _rows_parameters(consumer_id, project_id, resources, expires_at,
                     generation):
    """The consumer's allocation rows after the PUT: one per resource
    whose amount is not 0, each of ``generation``."""
    taken = sorted((name, amount) for name, amount in resources.items()
                   if amount)
    return {'consumer_id': consumer_id, 'project_id': project_id,
            'a_name': [name for name, _ in taken],
            'a_amount': [amount for _, amount in taken],
            'expires_at': expires_at, 'generation': generation}


def _next_generation(held_generation, had_rows, now):
    """The generation of the consumer's allocation after a write.

    One more than the one it replaces.  An allocation made where the
    consumer holds nothing starts at the database's clock in microseconds
    since 1970, not at 1: a consumer freed and allocated again never gets
    back a generation it had before (it would take a write every
    microsecond since it was first made), so an ``If-Match`` of an ETag
    read before the free never matches the new allocation.
    """
    if had_rows:
        return (held_generation or 0) + 1
    return (now - _EPOCH) // datetime.timedelta(microseconds=1)


def _write_allocation(conn, rows, replaces):
    """Make the consumer's allocation rows ``rows`` (see
    :func:`_rows_parameters`); ``replaces``: it had rows before."""
    if conn.dialect.name == 'postgresql':
        conn.execute(_WRITE_ROWS[replaces], rows)
        return
    if replaces:
        conn.execute(_DELETE_ALLOCATION,
                     {'consumer_id': rows['consumer_id']})
    if rows['a_name']:
        conn.execute(_INSERT_ALLOCATION, [
            {'consumer_id': rows['consumer_id'], 'resource_name': name,
             'project_id': rows['project_id'], 'amount': amount,
             'expires_at': rows['expires_at'],
             'generation': rows['generation']}
            for name, amount in zip(rows['a_name'], rows['a_amount'])])


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def put_allocation(db, ctx, consumer_id, project_id, resources,
                   no_limit_policy, expires_at=None, check_held=None,
                   only_existing=False, expires_in=None, only_absent=False,
                   generations=None, unwanted_generations=None,
                   refuse_kept=True):
    """Replace the consumer's allocation, atomically, or raise OverLimit.

    :param expires_in: make it a reservation that expires this many
        seconds from now by the database's clock (:func:`database_now`);
        ``expires_at`` gives the time itself instead.

    :param check_held: called with the project the consumer's allocation
        is in now, under the consumer's lock, when that is another project
        than ``project_id`` (the request also acts there); it raises to
        refuse, and nothing is written.
    :param only_existing: replace the consumer's live allocation only;
        without one, raise :class:`AllocationAbsent` and write nothing.
        Decided under the consumer's lock, so a free that commits first
        wins and the allocation is not made again.
    :param only_absent: make the consumer's allocation only if it has no
        live one; with one, raise :class:`AllocationPresent` and write
        nothing (a reservation whose request arrives after a retry of it
        and the confirmation does not undo the confirmation).
    :param generations: replace the consumer's live allocation only if
        its generation is one of these (``If-Match: "<etag>"``);
        otherwise raise :class:`AllocationChanged` and write nothing.
        Decided under the consumer's lock: a request that read the
        allocation before another write (a late resize prep, after the
        resize ended) writes nothing.
    :param unwanted_generations: write only if the consumer has no live
        allocation of one of these generations (``If-None-Match:
        "<etag>"``); otherwise raise :class:`AllocationPresent` and
        write nothing.  Decided under the consumer's lock, after
        ``generations`` (as HTTP evaluates If-Match first).

    :param refuse_kept: refuse (:class:`ProjectDeleted`) a write that
        grows anything in a project kept after it left Keystone, or below
        one (:func:`check_kept`); False in local mode, where the marks of
        a database once synced from Keystone mean nothing.

    Every write gives the allocation a new generation (returned as
    ``generation``; None when nothing is left), also a write that
    changes no amount.
    """
    with db.writer.connection.using(ctx) as conn:
        old_rows, chain, catalog, now, held_generation, kept = (
            locked_held_chain_and_limits(conn, consumer_id, project_id,
                                         resources, no_limit_policy))
        if expires_in:
            expires_at = now + datetime.timedelta(seconds=expires_in)
        _check_condition(conn, consumer_id, old_rows, now, only_existing,
                         only_absent, generations, unwanted_generations)
        if (check_held is not None and old_rows and
                old_rows[0].project_id != project_id):
            check_held(old_rows[0].project_id)
        if kept and refuse_kept:
            # (Read again, with their expiry, in a kept project only.)
            current = (_current_allocation(conn, consumer_id, lock=False)
                       if old_rows else [])
            check_kept(project_id, kept,
                       current if _is_live(current, now) else [], resources)
        rows = _rows_parameters(
            consumer_id, project_id, resources, expires_at,
            _next_generation(held_generation, bool(old_rows), now))
        written = False
        if _only_grows(old_rows, project_id, resources):
            written = _take(conn, old_rows, project_id, chain, catalog,
                            resources, rows)
        else:
            _replace(conn, old_rows, project_id, resources, no_limit_policy,
                     chain, catalog)
        if not written:
            _write_allocation(conn, rows, replaces=bool(old_rows))
        return {'consumer_id': consumer_id, 'project_id': project_id,
                'resources': dict(zip(rows['a_name'], rows['a_amount'])),
                'expires_at': expires_at if rows['a_name'] else None,
                'generation': (rows['generation'] if rows['a_name']
                               else None)}


def _has_condition(only_existing, only_absent, generations,
                   unwanted_generations):
    return (only_existing or only_absent or generations is not None or
            unwanted_generations is not None)


def _check_condition(conn, consumer_id, old_rows, now, only_existing,
                     only_absent, generations, unwanted_generations=None):
    """Raise if the consumer's allocation, read under its lock, fails a
    condition of the request (``If-Match``, ``If-None-Match``)."""
    if not _has_condition(only_existing, only_absent, generations,
                          unwanted_generations):
        return
    # (Read again only for this: the held rows of the PUT's one round
    # trip carry no expiry.)
    current = (_current_allocation(conn, consumer_id, lock=False)
               if old_rows else [])
    live = _is_live(current, now)
    if generations is not None and not (
            live and current[0].generation in generations):
        raise AllocationChanged(
            'The allocation of consumer %s is not the one of the ETag '
            'given (If-Match): it was written or freed since.'
            % errors.quoted_id(consumer_id))
    if only_existing and not live:
        raise AllocationAbsent(
            'No allocation for consumer %s to replace (If-Match: *).'
            % errors.quoted_id(consumer_id))
    if only_absent and live:
        raise AllocationPresent(
            'Consumer %s has an allocation already (If-None-Match: *).'
            % errors.quoted_id(consumer_id))
    if (unwanted_generations is not None and live and
            current[0].generation in unwanted_generations):
        raise AllocationPresent(
            'The allocation of consumer %s is still the one of an ETag '
            'given (If-None-Match): "%d".'
            % (errors.quoted_id(consumer_id), current[0].generation))


def _free(conn, consumer_id, rows):
    old = {row.resource_name: row.amount for row in rows}
    project_id = rows[0].project_id
    chain = tree.chain_or_orphan(conn, project_id)
    usages.locked_usages(conn, [(level, name) for level in chain
                                for name in old])
    usages.give_back(conn, project_id, chain, old)
    conn.execute(_DELETE_ALLOCATION, {'consumer_id': consumer_id})


@oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True,
                           retry_interval=0.05, inc_retry_interval=True)
def delete_allocation(db, ctx, consumer_id, check_held=None,
                      only_existing=False, generations=None,
                      only_absent=False, unwanted_generations=None):
    """Free the consumer's allocation.

    :param check_held: called with the allocation's project under the
        consumer's lock; it raises to refuse, and nothing is written.
    :param only_existing: free only a live allocation (``If-Match: *``):
        a reservation that expired is :class:`AllocationAbsent`.
    :param generations: free it only if its generation is one of these
        (``If-Match: "<etag>"``), else :class:`AllocationChanged`.
    :param only_absent: free only rows that are no live allocation
        (``If-None-Match: *``: a reservation that expired and was not
        swept yet), else :class:`AllocationPresent`.
    :param unwanted_generations: free it only if it is not a live
        allocation of one of these generations (``If-None-Match:
        "<etag>"``), else :class:`AllocationPresent`.

    A consumer with no rows is :class:`AllocationNotFound` unless an
    ``If-Match`` condition fails first.
    """
    with db.writer.connection.using(ctx) as conn:
        tree.lock_for_ledger(conn, consumer_id)
        rows = _current_allocation(conn, consumer_id, lock=True)
        if not rows and not (only_existing or generations is not None):
            raise AllocationNotFound('No allocation for consumer %s.'
                                     % errors.quoted_id(consumer_id))
        if rows and check_held is not None:
            check_held(rows[0].project_id)
        if _has_condition(only_existing, only_absent, generations,
                          unwanted_generations):
            _check_condition(conn, consumer_id, rows, database_now(conn),
                             only_existing, only_absent, generations,
                             unwanted_generations)
        _free(conn, consumer_id, rows)


def _expired_statement(first):
    """At most ``:batch`` consumers whose reservation expired at ``:now``,
    as ``(expires_at, consumer_id)`` in that order, after the marker
    ``(:after_expiry, :after_consumer)`` unless ``first``.

    Read through ``allocations_expiring_idx`` (reservations only, in this
    order), it touches the expired reservations and nothing else however
    large the table is.
    """
    expires_at = _ALLOCATION.c.expires_at
    consumer_id = _ALLOCATION.c.consumer_id
    query = sa.select(expires_at, consumer_id).where(
        expires_at.is_not(None), expires_at <= sa.bindparam('now'))
    if not first:
        query = query.where(sa.tuple_(expires_at, consumer_id) > sa.tuple_(
            sa.bindparam('after_expiry', type_=sa.DateTime),
            sa.bindparam('after_consumer', type_=sa.String)))
    return query.distinct().order_by(expires_at, consumer_id).limit(
        sa.bindparam('batch'))


_EXPIRED = {first: _expired_statement(first) for first in (True, False)}


def _free_expired(db, ctx, consumer_id, now):
    """Free the consumer's allocation if it is a reservation that expired
    at ``now`` (in a transaction of its own); returns 1 if it did."""
    with db.writer.connection.using(ctx) as conn:
        tree.lock_for_ledger(conn, consumer_id)
        rows = _current_allocation(conn, consumer_id, lock=True)
        if rows and not _is_live(rows, now):
            _free(conn, consumer_id, rows)
            return 1
    return 0


def purge_expired(db, ctx, now=None, batch=100, stopping=None):
    """Free reservations whose time ran out; returns how many.

    Every expired reservation is freed, ``batch`` consumers a read (each
    read an index range of expired reservations only: its cost does not
    grow with the allocations that never expire), each consumer in its
    own short transaction (a burst of expiries never holds the ledger
    long); ``stopping()``, when given, is asked between batches (a
    graceful stop does not wait for a long sweep).  A reservation the
    ledger refuses to free (:class:`errors.ApiError`) is left with a
    warning, and the sweep goes on with the others.

    :param now: the time reservations are compared with; by default the
        database's clock (:func:`database_now`), by which they were made.
    """
    freed = 0
    params = {'now': now, 'batch': batch}
    marker = None
    while True:
        with db.reader.connection.using(ctx) as conn:
            if now is None:
                now = params['now'] = database_now(conn)
            expired = conn.execute(_EXPIRED[marker is None],
                                   params).all()
        for expires_at, consumer_id in expired:
            try:
                freed += _free_expired(db, ctx, consumer_id, now)
            except errors.ApiError as exc:
                # The ledger refuses this one (a project kept after it
                # left Keystone and now hanging too deep to walk): the
                # others, behind it in every sweep, are still freed.
                LOG.warning('Cannot free the expired reservation of '
                            'consumer %(consumer)s (%(code)s): %(detail)s',
                            {'consumer': consumer_id, 'code': exc.code,
                             'detail': exc.detail})
        if len(expired) < batch or (stopping is not None and stopping()):
            return freed
        marker = expired[-1]
        params.update(after_expiry=marker[0], after_consumer=marker[1])


def get_allocation(db, ctx, consumer_id):
    with db.reader.connection.using(ctx) as conn:
        rows = _current_allocation(conn, consumer_id, lock=False)
    if not rows:
        raise AllocationNotFound('No allocation for consumer %s.'
                                 % errors.quoted_id(consumer_id))
    return _as_allocation(consumer_id, rows)


def list_allocations(db, ctx, limit, marker=None, project_id=None):
    """Allocations by consumer id, at most ``limit`` consumers.

    One statement (the page of consumer ids is its subquery), so one
    snapshot on PostgreSQL too: an allocation freed, moved or replaced
    while the list is read is listed as it was or not at all, never
    half (two statements could find a consumer in the first and not in
    the second, a 500, or list rows the filter no longer matches).
    """
    allocation = models.Allocation.__table__
    page = sa.select(allocation.c.consumer_id).distinct()
    if project_id is not None:
        page = page.where(allocation.c.project_id == project_id)
    if marker is not None:
        page = page.where(allocation.c.consumer_id > marker)
    page = page.order_by(allocation.c.consumer_id).limit(limit)
    query = sa.select(allocation.c.consumer_id, allocation.c.resource_name,
                      allocation.c.project_id, allocation.c.amount,
                      allocation.c.expires_at, allocation.c.generation).where(
        allocation.c.consumer_id.in_(page.scalar_subquery())).order_by(
        allocation.c.consumer_id, allocation.c.resource_name)
    with db.reader.connection.using(ctx) as conn:
        rows = conn.execute(query).all()
    return [_as_allocation(consumer_id, list(group)) for consumer_id, group
            in itertools.groupby(rows, key=lambda row: row.consumer_id)]
