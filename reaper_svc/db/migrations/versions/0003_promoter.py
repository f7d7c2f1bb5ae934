"""The promoter: server ids of a promoted request, guarantees of minimum
runtime.

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pending_requests') as batch:
        batch.add_column(sa.Column('server_ids', sa.JSON, nullable=True))
    op.create_table(
        'server_guarantees',
        sa.Column('server_id', sa.String(64), primary_key=True),
        sa.Column('guaranteed_until', sa.DateTime, nullable=False),
        sa.Column('pending_id', sa.String(36), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False))
    op.create_index('ix_server_guarantees_guaranteed_until',
                    'server_guarantees', ['guaranteed_until'])


def downgrade():
    op.drop_table('server_guarantees')
    with op.batch_alter_table('pending_requests') as batch:
        batch.drop_column('server_ids')
