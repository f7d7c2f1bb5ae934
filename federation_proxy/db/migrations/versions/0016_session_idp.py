"""The IdP of each proxy session.

A session is made by a login through an upstream IdP; an operator who
disables or deletes that IdP (one it no longer trusts) ends the sessions
made through it, and with them the grants they authorized.  Sessions
made before this revision have no IdP recorded and are left as they
are (they last an hour).

Revision ID: 0016
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('sessions', sa.Column('idp_id', sa.String(64),
                                        nullable=True))
    op.create_index('ix_sessions_idp_id', 'sessions', ['idp_id'])


def downgrade():
    op.drop_index('ix_sessions_idp_id', table_name='sessions')
    with op.batch_alter_table('sessions') as batch:
        batch.drop_column('idp_id')
