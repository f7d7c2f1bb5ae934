"""The grant of each refresh token.

A refresh token and every successor that rotating it makes belong to one
grant (one authorization of one client by one person); the access tokens
issued with them are the grant's.  Revoking one of them (RFC 7009) ends
the grant: the provider refuses every access token of the grant at once,
not only the one issued with the revoked token.  Tokens made before
this revision have no grant recorded; the first rotation after it gives
the successor the grant of the token it replaces.

Revision ID: 0017
Revises: 0016
"""

from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('refresh_tokens', sa.Column('grant_id', sa.String(64),
                                              nullable=True))
    op.create_index('ix_refresh_tokens_grant_id', 'refresh_tokens',
                    ['grant_id'])


def downgrade():
    op.drop_index('ix_refresh_tokens_grant_id', table_name='refresh_tokens')
    with op.batch_alter_table('refresh_tokens') as batch:
        batch.drop_column('grant_id')
