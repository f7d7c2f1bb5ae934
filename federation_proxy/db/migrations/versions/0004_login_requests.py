"""Logins through upstream IdPs that are under way.

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
    op.create_table(
        'login_requests',
        sa.Column('state_hash', sa.String(64), primary_key=True),
        sa.Column('idp_id', sa.String(64), nullable=False),
        sa.Column('nonce', sa.String(255), nullable=False),
        sa.Column('code_verifier', sa.String(128), nullable=False),
        sa.Column('link_user_id', sa.String(64), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False))
    op.create_index('ix_login_requests_expires_at', 'login_requests',
                    ['expires_at'])


def downgrade():
    op.drop_index('ix_login_requests_expires_at', 'login_requests')
    op.drop_table('login_requests')
