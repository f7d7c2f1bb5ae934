"""Pending requests: servers to build when room frees.

States (see :mod:`reaper_svc.promoter` for the picture): ``queued``
(waiting), ``building`` (the promoter is building them), ``active``
(built; ``server_ids`` holds them), ``expired`` (the deadline passed
first), ``cancelled`` (the user or an operator withdrew it), ``failed``
(the cloud refused the build for another reason than room).  A state
change is a compare-and-set on the state it was read in, so that two
engines never build one request twice.  Every public function takes
``(db, ctx, ...)`` and runs in its own transaction.

Timestamps are the database's time
(:func:`~reaper_svc.db.clock.session_now`): ``[preemption]
build_timeout`` runs from the ``updated_at`` of a request that went
``building``, and the fair order serves the oldest request first by
``created_at``, whichever API or engine host wrote them, and between
requests of one ``created_at`` (one tick of that clock) the first
submitted, by ``submission_seq`` (:func:`create_request`).
"""

import uuid

import sqlalchemy as sa

from reaper_svc.db import clock
from reaper_svc.db import models
from svc_common import errors

QUEUED = 'queued'
BUILDING = 'building'
ACTIVE = 'active'
EXPIRED = 'expired'
CANCELLED = 'cancelled'
FAILED = 'failed'
STATES = (QUEUED, BUILDING, ACTIVE, EXPIRED, CANCELLED, FAILED)
FINAL = frozenset([ACTIVE, EXPIRED, CANCELLED, FAILED])

#: The edges of a pending request's state machine.
TRANSITIONS = {
    QUEUED: frozenset([BUILDING, EXPIRED, CANCELLED]),
    BUILDING: frozenset([ACTIVE, QUEUED, FAILED]),
    ACTIVE: frozenset(),
    EXPIRED: frozenset(),
    CANCELLED: frozenset(),
    FAILED: frozenset(),
}


def no_such_request(request_id):
    return errors.NotFound('Pending request %s does not exist.'
                           % errors.quoted_id(request_id),
                           code='pending_not_found')


def pending_dict(row):
    return {'id': row.id, 'project_id': row.project_id,
            'user_id': row.user_id, 'servers': row.servers,
            'count': row.count, 'all_or_nothing': row.all_or_nothing,
            'min_runtime': row.min_runtime, 'deadline': row.deadline,
            'state': row.state, 'reason': row.reason,
            'server_ids': list(row.server_ids or ()),
            'trusted': row.trust_id is not None,
            'created_at': row.created_at, 'updated_at': row.updated_at}


def internal_dict(row):
    """A request as the promoter needs it: with its trust, the count of
    its builds that an outage interrupted and the secret token of its
    builds (never in an API answer or a notification)."""
    return dict(pending_dict(row), trust_id=row.trust_id,
                interruptions=row.interruptions or 0,
                build_token=row.build_token,
                build_started_at=row.build_started_at,
                build_user_id=row.build_user_id,
                submission_seq=row.submission_seq)


class TooManyPending(errors.Conflict):
    """The project has as many unfinished requests as it may."""

    def __init__(self, project_id, most):
        super().__init__(
            'Project %s has %d pending requests queued or building, the '
            'most it may have; withdraw one or wait until one is built.'
            % (project_id, most), code='too_many_pending', limit=most)


#: pg_advisory_xact_lock class of a project's queue of requests ("RPQ").
_QUEUE_LOCK_CLASS = 0x525051


def lock_queue(connection, project_id):
    """Hold ``project_id``'s queue for the rest of the transaction, so that
    two submissions at once count one after the other (PostgreSQL; a
    writer on SQLite holds the whole database already).  ``connection`` is
    a SQLAlchemy session or connection."""
    dialect = (connection.dialect if isinstance(connection, sa.Connection)
               else connection.get_bind().dialect)
    if dialect.name == 'postgresql':
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(
            _QUEUE_LOCK_CLASS, sa.func.hashtext(project_id))))


def _unfinished_count(session, project_id):
    model = models.PendingRequest
    return session.scalar(sa.select(sa.func.count()).select_from(
        model).where(model.project_id == project_id,
                     model.state.in_([QUEUED, BUILDING])))


#: The PostgreSQL sequence of ``submission_seq`` (migration 0008).
SUBMISSION_SEQUENCE = 'pending_requests_submission_seq'


def _next_submission(session):
    """The ``submission_seq`` of a request inserted in ``session``'s
    transaction: the next number of a sequence on PostgreSQL (two API
    processes inserting at once take two numbers, in the order they ask
    for them); elsewhere the largest number plus one (SQLite's writer
    holds the whole database until it commits)."""
    if session.get_bind().dialect.name == 'postgresql':
        return session.scalar(sa.select(sa.func.nextval(
            SUBMISSION_SEQUENCE)))
    model = models.PendingRequest
    return session.scalar(sa.select(
        sa.func.coalesce(sa.func.max(model.submission_seq), 0) + 1))


def check_room(db, ctx, project_id, most):
    """Raise :class:`TooManyPending` when ``project_id`` has ``most``
    requests queued or building already (before a trust is taken for
    one more)."""
    with db.reader.using(ctx) as session:
        if _unfinished_count(session, project_id) >= most:
            raise TooManyPending(project_id, most)


def create_request(db, ctx, project_id, user_id, servers, all_or_nothing,
                   min_runtime=None, deadline=None, trust_id=None,
                   most=None):
    """Queue a request; its dict.

    :param servers: ``[{'name', 'flavor', 'image', 'networks', 'count'}]``
    :param trust_id: the Keystone trust the promoter will build with
    :param most: the most requests the project may have queued or
        building (None: no limit); counted under :func:`lock_queue`, in
        the transaction of the insert, so requests submitted at the same
        moment cannot pass it together
    :raises TooManyPending: the project has ``most`` already
    """
    with db.writer.using(ctx) as session:
        if most is not None:
            lock_queue(session, project_id)
            if _unfinished_count(session, project_id) >= most:
                raise TooManyPending(project_id, most)
        now = clock.session_now(session)
        row = models.PendingRequest(
            submission_seq=_next_submission(session),
            id=str(uuid.uuid4()), project_id=project_id, user_id=user_id,
            servers=servers, count=sum(s.get('count', 1) for s in servers),
            all_or_nothing=all_or_nothing, min_runtime=min_runtime,
            deadline=deadline, trust_id=trust_id, state=QUEUED,
            created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return pending_dict(row)


def get_request(db, ctx, request_id):
    with db.reader.using(ctx) as session:
        row = session.get(models.PendingRequest, request_id)
        if row is None:
            raise no_such_request(request_id)
        return pending_dict(row)


def list_query(limit, marker=None, project_id=None, state=None):
    """The SELECT of :func:`list_requests`: by id, from ``marker`` on.

    A filter on state or project and the order by id are one range of
    an index on (state, id) or (project_id, id) (migration 0005): a page
    reads its rows, not the whole table nor all of a project's or a
    state's rows."""
    query = sa.select(models.PendingRequest).order_by(
        models.PendingRequest.id)
    if project_id is not None:
        query = query.where(models.PendingRequest.project_id == project_id)
    if state is not None:
        query = query.where(models.PendingRequest.state == state)
    if marker is not None:
        query = query.where(models.PendingRequest.id > marker)
    return query.limit(limit)


def list_requests(db, ctx, limit, marker=None, project_id=None, state=None):
    """Pending requests by id (see :func:`list_query`)."""
    query = list_query(limit, marker, project_id, state)
    with db.reader.using(ctx) as session:
        return [pending_dict(r) for r in session.scalars(query)]


def cancel_request(db, ctx, request_id, check=None):
    """Withdraw a queued request; its ``trust_id`` (None without one),
    for the caller to give up.

    :param check: called with the request's project id before anything
        changes (the caller's policy check)
    :raises errors.Conflict: it is not queued any more
    """
    model = models.PendingRequest
    with db.writer.using(ctx) as session:
        row = session.get(model, request_id)
        if row is None:
            raise no_such_request(request_id)
        if check is not None:
            check(row.project_id)
        # A compare-and-set on the state, as every other move: the
        # promoter may have taken the request (queued -> building) since
        # it was read, and a blind write would have cancelled a request
        # whose servers it is building.
        moved = session.execute(sa.update(model).where(
            model.id == request_id, model.state == QUEUED).values(
            state=CANCELLED,
            updated_at=clock.session_now(session))).rowcount
        if moved != 1:
            state = session.scalar(sa.select(model.state).where(
                model.id == request_id))
            raise errors.Conflict(
                'Pending request %s is %s already.' % (request_id, state),
                code='pending_not_queued')
        return row.trust_id


def queued(db, ctx):
    """Every queued request (with ``trust_id``), oldest first, then
    first submitted."""
    model = models.PendingRequest
    query = sa.select(model).where(model.state == QUEUED).order_by(
        model.created_at, model.submission_seq, model.id)
    with db.reader.using(ctx) as session:
        return [internal_dict(r) for r in session.scalars(query)]


def trust_ids(db, ctx, request_ids):
    """``{request id: trust id}`` of those of ``request_ids`` that hold
    a trust."""
    if not request_ids:
        return {}
    model = models.PendingRequest
    with db.reader.using(ctx) as session:
        return dict(session.execute(sa.select(model.id, model.trust_id).where(
            model.id.in_(list(request_ids)),
            model.trust_id.is_not(None))).all())


def live_trust_ids(db, ctx):
    """The trust ids that unfinished requests (any state but those of
    :data:`FINAL`: queued, building) name: their trusts are still needed
    (see :mod:`reaper_svc.leaked_trusts`)."""
    model = models.PendingRequest
    with db.reader.using(ctx) as session:
        return set(session.scalars(sa.select(model.trust_id).where(
            model.state.not_in(sorted(FINAL)),
            model.trust_id.is_not(None))))


def stale_building(db, ctx, before):
    """Requests (with ``trust_id``) that went ``building`` at or before
    ``before`` and are still: an engine that stopped mid-build left them."""
    model = models.PendingRequest
    query = sa.select(model).where(
        model.state == BUILDING, model.updated_at <= before).order_by(
        model.updated_at, model.id)
    with db.reader.using(ctx) as session:
        return [internal_dict(r) for r in session.scalars(query)]


def transition(db, ctx, request_id, current, new, since=None, **fields):
    """Move a request from ``current`` to ``new`` (and set ``fields``:
    ``reason``, ``server_ids``, ``trust_id``, ``build_token``,
    ``build_started_at``, ``build_user_id``); the ``updated_at`` it
    wrote (for a later ``since``), or False
    when it was not in ``current`` any more (another engine or the user
    moved it), or, with ``since``, when its ``updated_at`` is not
    ``since`` any more (it moved and came back to ``current``).

    :raises ValueError: ``current`` -> ``new`` is no edge
    """
    if new not in TRANSITIONS[current]:
        raise ValueError('a pending request cannot go from %s to %s'
                         % (current, new))
    with db.writer.using(ctx) as session:
        values = dict(fields, state=new,
                      updated_at=clock.session_now(session))
        query = sa.update(models.PendingRequest).where(
            models.PendingRequest.id == request_id,
            models.PendingRequest.state == current)
        if since is not None:
            query = query.where(models.PendingRequest.updated_at == since)
        result = session.execute(query.values(**values))
        return values['updated_at'] if result.rowcount == 1 else False


def interrupted(db, ctx, request_id, reason=None, since=None):
    """Count one more interruption of the build of ``request_id`` (still
    ``building``, with ``since`` as its ``updated_at`` when given: the
    start of that build, which this keeps) and set its ``reason`` if one
    is given; the count, or None when it was not building any more."""
    model = models.PendingRequest
    values = {'interruptions': model.interruptions + 1}
    if reason is not None:
        values['reason'] = reason
    query = sa.update(model).where(model.id == request_id,
                                   model.state == BUILDING)
    if since is not None:
        query = query.where(model.updated_at == since)
    with db.writer.using(ctx) as session:
        result = session.execute(query.values(**values))
        if result.rowcount != 1:
            return None
        return session.scalar(sa.select(model.interruptions).where(
            model.id == request_id))


def swept_query():
    """The SELECT of :func:`swept_after_interruptions`: one range of the
    partial index ``ix_pending_requests_swept`` (migration 0008), whose
    predicate its conditions repeat as written (``interruptions > 0``,
    not a bound parameter, so that SQLite sees that the index has the
    rows)."""
    model = models.PendingRequest
    return sa.select(model).where(
        model.interruptions > sa.literal_column('0'),
        model.build_token.is_not(None),
        model.state.in_([QUEUED, ACTIVE, FAILED, CANCELLED,
                         EXPIRED])).order_by(model.updated_at, model.id)


def swept_after_interruptions(db, ctx):
    """Requests (with ``build_token``) queued again, built, or ended
    without being built (failed, withdrawn or expired) after a build of
    theirs was interrupted, whose servers are still looked for: a
    create that Nova carried out after its connection broke, or
    answered with a 500, may leave one at any time until
    ``[preemption] build_timeout`` after it was sent.  Once nothing
    more is looked for, the token of a finished request is forgotten
    (:func:`forget_build_token`); a queued one keeps it for its next
    build.  Not those ``building``: what a build in progress makes
    carries the token too."""
    with db.reader.using(ctx) as session:
        return [internal_dict(r) for r in session.scalars(swept_query())]


def unmoved(db, ctx, requests):
    """The ids of ``requests`` (as read) still in the state, with the
    interruptions and ``updated_at``, they were read with: no build of
    theirs started or ended since (a build moves a queued request to
    ``building``; one that ends queued again counts an interruption or
    has what it built deleted, and moves ``updated_at`` anyway)."""
    if not requests:
        return set()
    model = models.PendingRequest
    read = {r['id']: (r['state'], r.get('interruptions', 0),
                      r['updated_at']) for r in requests}
    with db.reader.using(ctx) as session:
        rows = session.execute(sa.select(
            model.id, model.state, model.interruptions,
            model.updated_at).where(model.id.in_(list(read)))).all()
    return {row.id for row in rows
            if read[row.id] == (row.state, row.interruptions or 0,
                                row.updated_at)}


def forget_build_token(db, ctx, request_id):
    """What the builds of finished ``request_id`` left was cleaned: its
    token is not needed any more."""
    model = models.PendingRequest
    with db.writer.using(ctx) as session:
        session.execute(sa.update(model).where(
            model.id == request_id, model.state.in_(list(FINAL))).values(
            build_token=None))


def expire(db, ctx, now):
    """Queued requests whose deadline is past ``now`` become
    ``expired``; their ids."""
    model = models.PendingRequest
    with db.writer.using(ctx) as session:
        ids = list(session.scalars(sa.select(model.id).where(
            model.state == QUEUED, model.deadline.is_not(None),
            model.deadline <= now)))
        if ids:
            session.execute(sa.update(model).where(
                model.id.in_(ids), model.state == QUEUED).values(
                state=EXPIRED, updated_at=clock.session_now(session),
                reason='The deadline passed before there was room.'))
        return ids
