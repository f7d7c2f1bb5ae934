"""A secret token per pending request's builds, to know its servers.

The promoter found the servers of an interrupted build by their
metadata ``arbiter:pending_request=<request id>`` alone, and deleted or
adopted them.  Server metadata is the server owner's to write and a
project's request ids are listed to its readers: any member could get
any server of the project deleted (with the reaper's credentials, past
Nova's lock) or a preemptible server guaranteed.  The promoter now
puts a random token, kept in the request's row and never shown, in the
metadata of the servers it creates, and recognises as its own only the
servers that carry it and were created after its first build started
(the token is readable on the servers it built, and could be copied
onto an older server) by the user it created them as (``build_user_id``:
a member can copy the token onto a server of their own too).

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
    with op.batch_alter_table('pending_requests') as batch:
        batch.add_column(sa.Column('build_token', sa.String(64),
                                   nullable=True))
        batch.add_column(sa.Column('build_started_at', sa.DateTime(),
                                   nullable=True))
        batch.add_column(sa.Column('build_user_id', sa.String(64),
                                   nullable=True))


def downgrade():
    with op.batch_alter_table('pending_requests') as batch:
        batch.drop_column('build_user_id')
        batch.drop_column('build_started_at')
        batch.drop_column('build_token')
