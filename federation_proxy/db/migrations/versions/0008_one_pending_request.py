"""One pending request per person and VO: a partial unique index.

A person could ask to join a VO several times before any decision; the
managers saw each request, and approving the second failed once the
first had made the membership.  The API now answers a second pending
request with 409 ``federation.request_pending``; this index makes that
hold when two requests come at once.

Before the index, the pending duplicates that the old code let in are
decided, not deleted: the earliest pending request of a person and VO
(by creation, then id) stays pending, and each later one becomes
``rejected`` now, with no decider and an audit record that says why,
so that the managers' list and the trail show what happened.

The index is partial (``WHERE status = 'pending'``), which PostgreSQL
and SQLite support; on another database it is not made, and the API's
check alone refuses a second request.

Revision ID: 0008
Revises: 0007
"""

import datetime
import json

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_WHERE = sa.text("status = 'pending'")
_DIALECTS = ('postgresql', 'sqlite')


def _reject_duplicates(conn):
    """Reject every pending request of a ``(vo_id, user_id)`` but the
    earliest, and audit each rejection."""
    requests = sa.table('requests', sa.column('id'), sa.column('vo_id'),
                        sa.column('user_id'), sa.column('status'),
                        sa.column('decided_at'), sa.column('created_at'))
    audit = sa.table('audit', sa.column('at'), sa.column('actor'),
                     sa.column('vo_id'), sa.column('action'),
                     sa.column('object_type'), sa.column('object_id'),
                     sa.column('detail'))
    pending = requests.c.status == 'pending'
    pairs = conn.execute(
        sa.select(requests.c.vo_id, requests.c.user_id).where(pending)
        .group_by(requests.c.vo_id, requests.c.user_id)
        .having(sa.func.count() > 1)).all()
    now = datetime.datetime.utcnow().replace(microsecond=0)
    for vo_id, user_id in pairs:
        ids = conn.execute(
            sa.select(requests.c.id).where(
                pending, requests.c.vo_id == vo_id,
                requests.c.user_id == user_id)
            .order_by(requests.c.created_at, requests.c.id)).scalars().all()
        kept, later = ids[0], ids[1:]
        conn.execute(requests.update().where(requests.c.id.in_(later))
                     .values(status='rejected', decided_at=now))
        conn.execute(audit.insert(), [
            {'at': now, 'actor': None, 'vo_id': vo_id,
             'action': 'rejected', 'object_type': 'request',
             'object_id': request_id,
             'detail': json.dumps({'reason': 'duplicate pending request',
                                   'kept': kept}, sort_keys=True)}
            for request_id in later])


def upgrade():
    conn = op.get_bind()
    _reject_duplicates(conn)
    if conn.dialect.name in _DIALECTS:
        op.create_index('requests_one_pending_idx', 'requests',
                        ['vo_id', 'user_id'], unique=True,
                        sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade():
    if op.get_bind().dialect.name in _DIALECTS:
        op.drop_index('requests_one_pending_idx', table_name='requests')
