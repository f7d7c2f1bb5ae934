"""Indexes on the columns that refer to a group.

Deleting a group (alone, or every group of a VO that is deleted) makes
the database check that no membership, request, invitation or subgroup
still refers to it; without an index on the referring column each check
reads the whole table: deleting a VO of 100,000 members and 5,000 groups
spent 5 s there on PostgreSQL.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# (table, column) of every reference to groups.id.
_REFERENCES = (('memberships', 'group_id'), ('requests', 'group_id'),
               ('invitations', 'group_id'), ('groups', 'parent_id'))


def upgrade():
    for table, column in _REFERENCES:
        op.create_index('ix_%s_%s' % (table, column), table, [column])


def downgrade():
    for table, column in _REFERENCES:
        op.drop_index('ix_%s_%s' % (table, column), table_name=table)
