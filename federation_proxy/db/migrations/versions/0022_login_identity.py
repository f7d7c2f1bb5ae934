"""The identity of the login that made each proxy session, and of the
login that authorized each refresh token's grant.

Unlinking a person's identity ends what the logins through it obtained
(the sessions, the grants they authorized).  Sessions and refresh
tokens recorded only their login's IdP (migrations 0016 and 0021), so
that a person with two identities at one IdP who unlinked one lost the
sessions and grants of both.  They now record the identity (the id of
its row in ``identities``; a refresh token's successors keep it).

Existing rows stay without one: which of the person's identities at the
IdP their login went through was not recorded.  Unlinking any of the
person's identities at their IdP ends them, as before.

Revision ID: 0022
Revises: 0021
"""

from alembic import op
import sqlalchemy as sa

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

TABLES = ('sessions', 'refresh_tokens')


def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column('identity_id', sa.String(64),
                                       nullable=True))
        op.create_index('ix_%s_identity_id' % table, table,
                        ['identity_id'])


def downgrade():
    for table in TABLES:
        op.drop_index('ix_%s_identity_id' % table, table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column('identity_id')
