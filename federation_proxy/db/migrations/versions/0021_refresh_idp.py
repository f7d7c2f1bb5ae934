"""The IdP of the login that authorized each refresh token's grant.

Disabling or deleting an IdP, and unlinking a person's identity at one,
end the proxy sessions of the logins there and the grants those
sessions authorized.  A session is forgotten a day after it expires,
while its grants (refresh tokens, rotated at each use) live on: found
through their session only, the grants of older sessions outlived the
IdP's disabling or the identity's unlinking.  Each refresh token now
records the IdP of its session's login (kept by its successors), so
that they are found without the session.  The tokens of the sessions
still kept take their session's IdP here; the others stay without one
(their grants end as before: by the client's revocation or their
expiry).

Revision ID: 0021
Revises: 0020
"""

from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('refresh_tokens', sa.Column('idp_id', sa.String(64),
                                              nullable=True))
    op.create_index('ix_refresh_tokens_idp_id', 'refresh_tokens',
                    ['idp_id'])
    refresh = sa.table('refresh_tokens', sa.column('session_id'),
                       sa.column('idp_id'))
    sessions = sa.table('sessions', sa.column('id'), sa.column('idp_id'))
    # Only the tokens of the sessions kept (a day's logins), not every
    # token a rotation left.
    kept = sa.select(sessions.c.id).where(sessions.c.idp_id.isnot(None))
    idp_of_session = sa.select(sessions.c.idp_id).where(
        sessions.c.id == refresh.c.session_id).scalar_subquery()
    op.execute(refresh.update().where(
        refresh.c.session_id.in_(kept)).values(idp_id=idp_of_session))


def downgrade():
    op.drop_index('ix_refresh_tokens_idp_id', table_name='refresh_tokens')
    with op.batch_alter_table('refresh_tokens') as batch:
        batch.drop_column('idp_id')
