"""How many times the cloud's outage interrupted a request's build.

A build that Nova's outage interrupts is queued again in its place; a
request whose build is interrupted every time (a request the cloud
cannot take, behind a proxy that answers 502 for it) was queued again
for good, in front of every request queued after it.  The promoter
counts the interruptions of each request and fails it at ``[preemption]
max_build_interruptions``.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pending_requests') as batch:
        batch.add_column(sa.Column('interruptions', sa.Integer(),
                                   nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('pending_requests') as batch:
        batch.drop_column('interruptions')
