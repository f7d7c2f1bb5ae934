"""The identity of the login whose session issued each authorization
code and approved each device code.

Migration 0022 made sessions and refresh tokens record their login's
identity, so that unlinking an identity ends what the logins through it
obtained and no more.  A code, though, takes the identity of its grant
from its session when it is exchanged; and a login again in the same
browser (``prompt=login``, or the login of a link) hands the codes of
the browser's session to the new one.  A code issued in the session of
a login through one identity and exchanged after a login through
another became a grant of the other, which outlived the unlinking of
the first (and the codes themselves, handed over, outlived it too).
Codes now record the identity; the grant made with one takes it.

Existing codes (short-lived) stay without one, their grants take their
session's identity when exchanged, as before.

Revision ID: 0023
Revises: 0022
"""

from alembic import op
import sqlalchemy as sa

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

TABLES = ('authorization_codes', 'device_codes')


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
