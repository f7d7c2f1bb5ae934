"""Refresh tokens indexed by client.

The deletion of an OIDC client deletes its refresh tokens and reads the
hashes of those whose access tokens may still be valid, both by
``client_id``, which no index covered: each deletion read the whole
``refresh_tokens`` table (every client's tokens, the used ones kept for
30 days), holding the client's row locked meanwhile.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_refresh_tokens_client_id', 'refresh_tokens',
                    ['client_id'])


def downgrade():
    op.drop_index('ix_refresh_tokens_client_id',
                  table_name='refresh_tokens')
