"""When the person authenticated, kept with each grant (``auth_time``).

ID tokens said ``auth_time`` was the moment the token was made, also
for a token made from a refresh token weeks after the login; a relying
party that asks for a recent login (``max_age``, ``prompt=login``) was
told one had just happened.  The login time of the proxy session that
authorized a code or a device code is now kept with it, and with the
refresh tokens of the grant, so that every ID token of the grant says
when the person really logged in.  Rows made before have none (the ID
tokens of those grants carry no ``auth_time``).

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_TABLES = ('authorization_codes', 'refresh_tokens', 'device_codes')


def upgrade():
    for table in _TABLES:
        op.add_column(table, sa.Column('auth_time', sa.BigInteger(),
                                       nullable=True))


def downgrade():
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('auth_time')
