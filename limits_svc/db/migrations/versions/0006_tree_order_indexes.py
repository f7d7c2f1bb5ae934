"""Indexes that give a page of a subtree's usage report what it holds.

``GET /v1/projects/{id}/usage?subtree=true`` draws the subtree depth
first, each project's children sorted by id in code-point order (Python's
order).  A page reads the runs of children it draws: ``(parent_id, id)``
gives them in that order (on PostgreSQL the ``id`` part in the "C"
collation, which compares code points whatever the database's collation
is); it replaces the ``parent_id`` index of 0002, which it serves as well.
``project_limits (resource_name)`` lists the names of the limited
resources (one look-up per name) and the projects that limit one.

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
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('projects_children_idx', 'projects',
                        ['parent_id', sa.text('id COLLATE "C"')])
    else:
        op.create_index('projects_children_idx', 'projects',
                        ['parent_id', 'id'])
    op.drop_index('ix_projects_parent_id', table_name='projects')
    op.create_index('project_limits_resource_idx', 'project_limits',
                    ['resource_name'])


def downgrade():
    op.drop_index('project_limits_resource_idx', table_name='project_limits')
    op.create_index('ix_projects_parent_id', 'projects', ['parent_id'])
    op.drop_index('projects_children_idx', table_name='projects')
