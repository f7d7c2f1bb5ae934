"""Reservations indexed by expiry, without the allocations that never expire.

The purge of expired reservations read the allocations in consumer order
and filtered on the expiry, which read the whole table's key on every
sweep (tens of milliseconds at 200,000 rows).  It now reads
``(expires_at, consumer_id)`` of the expired reservations only, through
this index; the index leaves out the allocations without an expiry
(partial on SQLite and PostgreSQL), so that it replaces the plain
``expires_at`` index of 0002 at less cost for every write.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_WHERE = sa.text('expires_at IS NOT NULL')


def upgrade():
    op.create_index('allocations_expiring_idx', 'allocations',
                    ['expires_at', 'consumer_id'], sqlite_where=_WHERE,
                    postgresql_where=_WHERE)
    op.drop_index('allocations_expires_idx', table_name='allocations')


def downgrade():
    op.create_index('allocations_expires_idx', 'allocations',
                    ['expires_at'])
    op.drop_index('allocations_expiring_idx', table_name='allocations')
