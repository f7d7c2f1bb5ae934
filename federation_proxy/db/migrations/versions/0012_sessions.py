"""Proxy sessions kept server-side, and the session of each grant.

A session cookie was only a signed token: a logout cleared the
browser's cookie, but a copy of it (stolen, or left in another
browser profile) stayed good until it expired.  A session is now a row
of ``sessions`` that the cookie names; a logout deletes it, so every
copy of the cookie stops working.  Authorization codes, device codes
and refresh tokens keep the session that authorized them, so that a
logout also revokes the grants made in that session.  Cookies made
before this migration name no session and are refused: people log in
again.

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_TABLES = ('authorization_codes', 'refresh_tokens', 'device_codes')


def upgrade():
    op.create_table(
        'sessions',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('user_id', sa.String(64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False))
    op.create_index(op.f('ix_sessions_user_id'), 'sessions', ['user_id'])
    op.create_index(op.f('ix_sessions_expires_at'), 'sessions',
                    ['expires_at'])
    for table in _TABLES:
        op.add_column(table, sa.Column('session_id', sa.String(64),
                                       nullable=True))
        op.create_index(op.f('ix_%s_session_id' % table), table,
                        ['session_id'])


def downgrade():
    for table in _TABLES:
        op.drop_index(op.f('ix_%s_session_id' % table), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column('session_id')
    op.drop_index(op.f('ix_sessions_expires_at'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_user_id'), table_name='sessions')
    op.drop_table('sessions')
