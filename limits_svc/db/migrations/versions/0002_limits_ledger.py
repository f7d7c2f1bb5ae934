"""Projects, limits, allocations and the usage ledger.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _timestamps():
    return [sa.Column('created_at', sa.DateTime, nullable=False,
                      server_default=sa.func.now()),
            sa.Column('updated_at', sa.DateTime, nullable=True)]


def upgrade():
    op.create_table(
        'projects',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('name', sa.String(255), nullable=True),
        sa.Column('parent_id', sa.String(64), nullable=True),
        sa.Column('domain_id', sa.String(64), nullable=False),
        *_timestamps())
    op.create_index('ix_projects_parent_id', 'projects', ['parent_id'])
    op.create_table(
        'registered_limits',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('service_id', sa.String(64), nullable=False),
        sa.Column('region_id', sa.String(64), nullable=True),
        sa.Column('resource_name', sa.String(255), nullable=False),
        sa.Column('default_limit', sa.BigInteger, nullable=False),
        sa.Column('description', sa.Text, nullable=True),
        *_timestamps(),
        sa.UniqueConstraint('service_id', 'region_id', 'resource_name',
                            name='uniq_registered_limits0service_region_res'))
    op.create_index('ix_registered_limits_resource_name',
                    'registered_limits', ['resource_name'])
    op.create_table(
        'project_limits',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('project_id', sa.String(64), nullable=True),
        sa.Column('domain_id', sa.String(64), nullable=True),
        sa.Column('service_id', sa.String(64), nullable=False),
        sa.Column('region_id', sa.String(64), nullable=True),
        sa.Column('resource_name', sa.String(255), nullable=False),
        sa.Column('resource_limit', sa.BigInteger, nullable=False),
        sa.Column('scope', sa.String(16), nullable=False),
        sa.Column('description', sa.Text, nullable=True),
        *_timestamps(),
        sa.UniqueConstraint('project_id', 'domain_id', 'service_id',
                            'region_id', 'resource_name', 'scope',
                            name='uniq_project_limits0target_res_scope'))
    op.create_index('project_limits_project_resource_idx', 'project_limits',
                    ['project_id', 'resource_name'])
    op.create_table(
        'allocations',
        sa.Column('consumer_id', sa.String(64), primary_key=True),
        sa.Column('resource_name', sa.String(255), primary_key=True),
        sa.Column('project_id', sa.String(64), nullable=False),
        sa.Column('amount', sa.BigInteger, nullable=False),
        sa.Column('expires_at', sa.DateTime, nullable=True),
        *_timestamps())
    op.create_index('allocations_project_idx', 'allocations', ['project_id'])
    op.create_index('allocations_expires_idx', 'allocations', ['expires_at'])
    op.create_table(
        'usages',
        sa.Column('project_id', sa.String(64), primary_key=True),
        sa.Column('resource_name', sa.String(255), primary_key=True),
        sa.Column('own_used', sa.BigInteger, nullable=False),
        sa.Column('subtree_used', sa.BigInteger, nullable=False),
        sa.Column('adjustment', sa.BigInteger, nullable=False))


def downgrade():
    for table in ('usages', 'allocations', 'project_limits',
                  'registered_limits', 'projects'):
        op.drop_table(table)
