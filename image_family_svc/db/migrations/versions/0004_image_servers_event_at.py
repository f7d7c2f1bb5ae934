"""When Nova sent the notification last applied to a server's count.

A server rebuilt twice (onto B, then onto C) whose first
``instance.rebuild.end`` comes after the second (a redelivery after a
failed attempt, or two engine hosts of one pool) was moved back to B:
C, counted without it, could be deleted under it.  With the time Nova
sent each notification recorded, an older one than the last applied is
skipped.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('image_servers',
                  sa.Column('event_at', sa.DateTime, nullable=True))


def downgrade():
    op.drop_column('image_servers', 'event_at')
