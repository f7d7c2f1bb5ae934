"""The endpoints of an upstream IdP, given or discovered.

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
    op.add_column('idps', sa.Column('endpoints', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('idps') as batch:
        batch.drop_column('endpoints')
