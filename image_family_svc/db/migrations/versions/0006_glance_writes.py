"""Images whose state Glance may not show yet.

Every change of an image's family, state or successor records the image
in ``glance_writes`` in the transaction of the change; the ``glance``
driver writes the image's current state to Glance under a per-image
lock and then removes the row if no later change replaced it, and the
engine's leader writes again the images whose row stays (a write that
failed, or a process that stopped before it wrote).  ``token`` changes
with every change, so that a write that read an older state does not
remove the row of a newer one.

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
    op.create_table(
        'glance_writes',
        sa.Column('image_id', sa.String(64), primary_key=True),
        sa.Column('token', sa.String(32), nullable=False),
        sa.Column('marked_at', sa.DateTime, nullable=False))
    op.create_index('glance_writes_marked_idx', 'glance_writes',
                    ['marked_at'])


def downgrade():
    op.drop_index('glance_writes_marked_idx', table_name='glance_writes')
    op.drop_table('glance_writes')
