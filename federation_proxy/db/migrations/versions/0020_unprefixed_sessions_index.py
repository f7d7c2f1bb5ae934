"""An index of the proxy sessions whose cookie has the plain name.

Each API process that starts under an https issuer looks for the live
sessions whose cookie has the plain name (``host_prefixed`` false,
migration 0019) to end them (:mod:`federation_proxy.startup`).  Once the
first start after the upgrade has ended them there are none left, but
without an index the look-up read every live session of every person,
at every start of every process.  A partial index of those sessions
alone, in ID order (the order the start ends them in), holds nothing
once they are ended (and what an http issuer made, until it is https):
a start then reads an empty index.

Revision ID: 0020
Revises: 0019
"""

from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_WHERE = sa.column('host_prefixed').is_(False)


def upgrade():
    op.create_index('sessions_unprefixed_idx', 'sessions', ['id'],
                    sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade():
    op.drop_index('sessions_unprefixed_idx', table_name='sessions')
