"""Actions and their victims, victim claims, pending requests, processed
notifications.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'actions',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('trigger', sa.String(32), nullable=False),
        sa.Column('trigger_id', sa.String(255), nullable=True),
        sa.Column('project_id', sa.String(64), nullable=True),
        sa.Column('strategy', sa.String(32), nullable=False),
        sa.Column('request', sa.JSON, nullable=False),
        sa.Column('wasted', sa.Float, nullable=False),
        sa.Column('reason', sa.Text, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False),
        sa.Column('noticed_at', sa.DateTime, nullable=True),
        sa.Column('delete_after', sa.DateTime, nullable=True),
        sa.Column('finished_at', sa.DateTime, nullable=True))
    op.create_index('ix_actions_state', 'actions', ['state'])
    op.create_index('ix_actions_project_id', 'actions', ['project_id'])
    op.create_table(
        'action_victims',
        sa.Column('action_id', sa.String(36), sa.ForeignKey('actions.id'),
                  primary_key=True),
        sa.Column('server_id', sa.String(64), primary_key=True),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('project_id', sa.String(64), nullable=True),
        sa.Column('resources', sa.JSON, nullable=False),
        sa.Column('state', sa.String(16), nullable=False))
    op.create_index('ix_action_victims_project_id', 'action_victims',
                    ['project_id'])
    op.create_table(
        'victim_claims',
        sa.Column('server_id', sa.String(64), primary_key=True),
        sa.Column('action_id', sa.String(36), sa.ForeignKey('actions.id'),
                  nullable=False))
    op.create_index('ix_victim_claims_action_id', 'victim_claims',
                    ['action_id'])
    op.create_table(
        'pending_requests',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(64), nullable=False),
        sa.Column('user_id', sa.String(64), nullable=True),
        sa.Column('servers', sa.JSON, nullable=False),
        sa.Column('count', sa.Integer, nullable=False),
        sa.Column('all_or_nothing', sa.Boolean, nullable=False),
        sa.Column('min_runtime', sa.Integer, nullable=True),
        sa.Column('deadline', sa.DateTime, nullable=True),
        sa.Column('trust_id', sa.String(64), nullable=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('reason', sa.Text, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False))
    op.create_index('ix_pending_requests_project_id', 'pending_requests',
                    ['project_id'])
    op.create_index('ix_pending_requests_state', 'pending_requests',
                    ['state'])
    op.create_table(
        'processed_notifications',
        sa.Column('message_id', sa.String(64), primary_key=True),
        sa.Column('event_type', sa.String(255), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False))
    op.create_index('ix_processed_notifications_created_at',
                    'processed_notifications', ['created_at'])


def downgrade():
    for table in ('processed_notifications', 'pending_requests',
                  'victim_claims', 'action_victims', 'actions'):
        op.drop_table(table)
