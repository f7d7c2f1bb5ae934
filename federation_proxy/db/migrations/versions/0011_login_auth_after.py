"""A login that must be a fresh authentication at the upstream IdP.

A relying party's ``prompt=login`` or ``max_age`` sent the person to log
in again at the proxy, but the proxy did not pass either on: an upstream
IdP with a session of its own let the person through without asking,
and the proxy took that for a new login.  The login request now keeps
the earliest upstream ``auth_time`` it accepts (seconds since the
epoch; null when any will do), and the callback refuses an ID token
that authenticated the person earlier, or does not say when.

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('login_requests', sa.Column('auth_after', sa.BigInteger(),
                                              nullable=True))


def downgrade():
    with op.batch_alter_table('login_requests') as batch:
        batch.drop_column('auth_after')
