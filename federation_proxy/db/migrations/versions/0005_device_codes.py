"""Device authorization requests (RFC 8628).

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'device_codes',
        sa.Column('device_code_hash', sa.String(64), primary_key=True),
        sa.Column('user_code_hash', sa.String(64), nullable=False),
        sa.Column('client_id', sa.String(64), nullable=False),
        sa.Column('scope', sa.String(255), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('user_id', sa.String(64), nullable=True),
        sa.Column('interval', sa.Integer(), nullable=False),
        sa.Column('last_polled_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('user_code_hash',
                            name='uniq_device_codes0user_code_hash'))
    op.create_index('ix_device_codes_expires_at', 'device_codes',
                    ['expires_at'])


def downgrade():
    op.drop_index('ix_device_codes_expires_at', 'device_codes')
    op.drop_table('device_codes')
