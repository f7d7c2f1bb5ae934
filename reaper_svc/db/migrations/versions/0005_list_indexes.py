"""Lists filtered by state or project read a page, not the table.

``GET /v1/actions?state=...`` and ``GET /v1/pending?state=...`` (and
``?project_id=...`` for pending requests) are sorted by id and paged by
an id marker.  With an index on the filtered column alone, a database
either walked the primary key in id order testing every row (SQLite did,
for a state few rows are in: the whole table for each page) or read
every row of the state and sorted them.  An index on the column and the
id gives each page as one range of the index, from the marker on.

The indexes on the column alone are replaced: the new ones serve every
look-up those served (their first column is the same).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

#: (old index, new index, table, columns of the new one)
INDEXES = (
    ('ix_actions_state', 'ix_actions_state_id', 'actions',
     ['state', 'id']),
    ('ix_pending_requests_state', 'ix_pending_requests_state_id',
     'pending_requests', ['state', 'id']),
    ('ix_pending_requests_project_id', 'ix_pending_requests_project_id_id',
     'pending_requests', ['project_id', 'id']),
)


def upgrade():
    for old, new, table, columns in INDEXES:
        op.create_index(new, table, columns)
        op.drop_index(old, table_name=table)


def downgrade():
    for old, new, table, columns in INDEXES:
        op.create_index(old, table, columns[:1])
        op.drop_index(new, table_name=table)
