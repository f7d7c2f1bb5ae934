"""A generation per consumer's allocation, for conditional writes.

Every write of a consumer's allocation gives all its rows a new
generation, which the API answers as the allocation's ``ETag`` and
compares with ``If-Match: "<etag>"`` (a late request that saw an older
allocation writes nothing).

The column is added with a constant server default, which neither
PostgreSQL (11 and later) nor SQLite rewrites the table for: on a big
table the migration is a change of the catalog only.  Allocations made
before it have generation 0 until their next write.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('allocations', sa.Column(
        'generation', sa.BigInteger, nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('allocations') as batch:
        batch.drop_column('generation')
