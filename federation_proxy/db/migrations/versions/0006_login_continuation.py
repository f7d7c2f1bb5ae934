"""Where a login continues: the authorization request that started it.

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
    op.add_column('login_requests',
                  sa.Column('next_url', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('login_requests', 'next_url')
