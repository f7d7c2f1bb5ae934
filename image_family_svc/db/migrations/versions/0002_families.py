"""Families, members, scheduled transitions, history, usage, processed
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
        'families',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(64), nullable=False, unique=True),
        sa.Column('project_id', sa.String(64), nullable=True),
        sa.Column('visibility', sa.String(16), nullable=False),
        sa.Column('properties_schema', sa.JSON, nullable=False),
        sa.Column('keep_superseded', sa.Integer, nullable=True),
        sa.Column('description', sa.Text, nullable=True),
        sa.Column('latest_id', sa.String(64), nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True))
    op.create_index('ix_families_project_id', 'families', ['project_id'])
    op.create_table(
        'family_images',
        sa.Column('image_id', sa.String(64), primary_key=True),
        sa.Column('family_id', sa.String(36), sa.ForeignKey('families.id'),
                  nullable=False),
        sa.Column('version', sa.String(255), nullable=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('properties', sa.JSON, nullable=False),
        sa.Column('successor_id', sa.String(64), nullable=True),
        sa.Column('joined_at', sa.DateTime, nullable=False),
        sa.Column('state_changed_at', sa.DateTime, nullable=False))
    op.create_index('family_images_family_state_idx', 'family_images',
                    ['family_id', 'state'])
    op.create_table(
        'scheduled_transitions',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('image_id', sa.String(64), nullable=False),
        sa.Column('to_state', sa.String(16), nullable=False),
        sa.Column('due_at', sa.DateTime, nullable=False),
        sa.Column('reason', sa.Text, nullable=True),
        sa.Column('user_id', sa.String(64), nullable=True),
        sa.Column('project_id', sa.String(64), nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('detail', sa.Text, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False))
    op.create_index('scheduled_transitions_due_idx', 'scheduled_transitions',
                    ['status', 'due_at'])
    op.create_index('scheduled_transitions_image_idx',
                    'scheduled_transitions', ['image_id'])
    op.create_table(
        'transitions',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('image_id', sa.String(64), nullable=False),
        sa.Column('family_id', sa.String(36), nullable=False),
        sa.Column('from_state', sa.String(16), nullable=True),
        sa.Column('to_state', sa.String(16), nullable=True),
        sa.Column('at', sa.DateTime, nullable=False),
        sa.Column('user_id', sa.String(64), nullable=True),
        sa.Column('project_id', sa.String(64), nullable=True),
        sa.Column('reason', sa.Text, nullable=True),
        sa.Column('cause', sa.String(16), nullable=False))
    op.create_index('transitions_image_idx', 'transitions',
                    ['image_id', 'id'])
    op.create_table(
        'image_servers',
        sa.Column('server_id', sa.String(64), primary_key=True),
        sa.Column('image_id', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False))
    op.create_index('image_servers_image_idx', 'image_servers', ['image_id'])
    op.create_table(
        'image_usage',
        sa.Column('image_id', sa.String(64), primary_key=True),
        sa.Column('servers', sa.Integer, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False))
    op.create_table(
        'processed_messages',
        sa.Column('endpoint', sa.String(32), primary_key=True),
        sa.Column('message_id', sa.String(255), primary_key=True),
        sa.Column('created_at', sa.DateTime, nullable=False))
    op.create_index('processed_messages_created_idx', 'processed_messages',
                    ['created_at'])


def downgrade():
    for table in ('processed_messages', 'image_usage', 'image_servers',
                  'transitions', 'scheduled_transitions', 'family_images',
                  'families'):
        op.drop_table(table)
