"""Whether each proxy session's cookie has the ``__Host-`` name.

Under an https issuer the session cookie is ``__Host-federation_session``
(see :mod:`federation_proxy.api.cookies`); an earlier release named it
``federation_session``, which the proxy no longer reads.  A session whose
browser holds only the old name can no longer be logged out, and the
grants it authorized lived on until it expired.  Sessions made before
this revision are marked as not having the ``__Host-`` name; an API
process that starts under an https issuer ends them, with their grants,
as a logout would (:mod:`federation_proxy.startup`).

Revision ID: 0019
Revises: 0018
"""

from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('sessions', sa.Column('host_prefixed', sa.Boolean(),
                                        nullable=False,
                                        server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('sessions') as batch:
        batch.drop_column('host_prefixed')
