"""A mark on the projects kept after they left Keystone.

A resync keeps a project that Keystone deleted while it still held
allocations (they must be freed first).  Keystone deleted its limits
with it, and those of its parents when they went too, so an allocation
that grew there was taken with no limit at all.  ``left_keystone_at``
says since when such a project is kept; the allocation decision refuses
growth in it (409 ``limits.project_deleted``), and the resync clears it
when Keystone has the project again.

The column is added without a default (no table rewrite on either
database): every project is unmarked until the next resync marks the
kept ones.  The partial index holds the marked projects only, which the
resync reads.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('projects', sa.Column('left_keystone_at', sa.DateTime,
                                        nullable=True))
    op.create_index('projects_left_keystone_idx', 'projects', ['id'],
                    sqlite_where=sa.text('left_keystone_at IS NOT NULL'),
                    postgresql_where=sa.text('left_keystone_at IS NOT NULL'))


def downgrade():
    op.drop_index('projects_left_keystone_idx', table_name='projects')
    with op.batch_alter_table('projects') as batch:
        batch.drop_column('left_keystone_at')
