"""A person's requests to join VOs, indexed in their list order.

``GET /v1/users/{user_id}/requests`` lists the requests one person made,
oldest first, across VOs.  Without an index led by ``user_id`` a page of
them was a scan of every VO's requests; ``(user_id, created_at, id)`` is
the list's order, so a page is one range of the index however large the
table.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('requests_user_page_idx', 'requests',
                    ['user_id', 'created_at', 'id'])


def downgrade():
    op.drop_index('requests_user_page_idx', table_name='requests')
