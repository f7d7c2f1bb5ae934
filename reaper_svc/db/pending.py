"""Pending requests: servers to build when room frees.

States: ``queued`` (waiting), ``built`` (the promoter built them),
``expired`` (the deadline passed first), ``cancelled`` (the user or an
operator withdrew it), ``failed``.  Every public function takes ``(db,
ctx, ...)`` and runs in its own transaction.
"""

import uuid

import sqlalchemy as sa

from reaper_svc.db import actions
from reaper_svc.db import models
from svc_common import errors

QUEUED = 'queued'
BUILT = 'built'
EXPIRED = 'expired'
CANCELLED = 'cancelled'
FAILED = 'failed'
STATES = (QUEUED, BUILT, EXPIRED, CANCELLED, FAILED)


def no_such_request(request_id):
    return errors.NotFound('Pending request %s does not exist.' % request_id,
                           code='pending_not_found')


def pending_dict(row):
    return {'id': row.id, 'project_id': row.project_id,
            'user_id': row.user_id, 'servers': row.servers,
            'count': row.count, 'all_or_nothing': row.all_or_nothing,
            'min_runtime': row.min_runtime, 'deadline': row.deadline,
            'state': row.state, 'reason': row.reason,
            'created_at': row.created_at, 'updated_at': row.updated_at}


def create_request(db, ctx, project_id, user_id, servers, all_or_nothing,
                   min_runtime=None, deadline=None, trust_id=None):
    """Queue a request; its dict.

    :param servers: ``[{'name', 'flavor', 'image', 'networks', 'count'}]``
    :param trust_id: the Keystone trust the promoter will build with
    """
    now = actions.utcnow()
    row = models.PendingRequest(
        id=str(uuid.uuid4()), project_id=project_id, user_id=user_id,
        servers=servers, count=sum(s.get('count', 1) for s in servers),
        all_or_nothing=all_or_nothing, min_runtime=min_runtime,
        deadline=deadline, trust_id=trust_id, state=QUEUED,
        created_at=now, updated_at=now)
    with db.writer.using(ctx) as session:
        session.add(row)
        session.flush()
        return pending_dict(row)


def get_request(db, ctx, request_id):
    with db.reader.using(ctx) as session:
        row = session.get(models.PendingRequest, request_id)
        if row is None:
            raise no_such_request(request_id)
        return pending_dict(row)


def list_requests(db, ctx, limit, marker=None, project_id=None, state=None):
    query = sa.select(models.PendingRequest).order_by(
        models.PendingRequest.id)
    if project_id is not None:
        query = query.where(models.PendingRequest.project_id == project_id)
    if state is not None:
        query = query.where(models.PendingRequest.state == state)
    if marker is not None:
        query = query.where(models.PendingRequest.id > marker)
    with db.reader.using(ctx) as session:
        return [pending_dict(r) for r in session.scalars(query.limit(limit))]


def cancel_request(db, ctx, request_id, check=None):
    """Withdraw a queued request.

    :param check: called with the request's project id before anything
        changes (the caller's policy check)
    :raises errors.Conflict: it is not queued any more
    """
    with db.writer.using(ctx) as session:
        row = session.get(models.PendingRequest, request_id)
        if row is None:
            raise no_such_request(request_id)
        if check is not None:
            check(row.project_id)
        if row.state != QUEUED:
            raise errors.Conflict(
                'Pending request %s is %s already.' % (request_id, row.state),
                code='pending_not_queued')
        row.state = CANCELLED
        row.updated_at = actions.utcnow()
