"""The VO manager on whose authority an invitation was made.

An invitation is its inviter's approval of the role it offers.  One made
by a VO manager stayed good after the manager was removed from the VO,
suspended or expired: whoever held the token was granted the role by
somebody who no longer could.  ``invitations.inviting_manager`` names
the manager, who must still manage the VO when the invitation is
accepted; it is None for an operator's invitation, which needs no
manager.

The invitations made before do not say in which capacity they were
made.  A pending one whose creator manages its VO now is taken for that
manager's (it goes if they go); the others (an operator's, or a manager's
who is gone already) are left as operator invitations.

Revision ID: 0015
Revises: 0014
"""

import datetime

from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('invitations', sa.Column('inviting_manager',
                                           sa.String(64), nullable=True))
    invitations = sa.table(
        'invitations', sa.column('vo_id', sa.String),
        sa.column('status', sa.String),
        sa.column('created_by', sa.String),
        sa.column('inviting_manager', sa.String))
    memberships = sa.table(
        'memberships', sa.column('vo_id', sa.String),
        sa.column('user_id', sa.String), sa.column('role', sa.String),
        sa.column('status', sa.String),
        sa.column('expires_at', sa.DateTime))
    now = datetime.datetime.utcnow()
    manages = sa.select(sa.literal(1)).where(
        memberships.c.vo_id == invitations.c.vo_id,
        memberships.c.user_id == invitations.c.created_by,
        memberships.c.role == 'manager', memberships.c.status == 'active',
        sa.or_(memberships.c.expires_at.is_(None),
               memberships.c.expires_at > now)).exists()
    op.execute(invitations.update().where(
        invitations.c.status == 'pending', manages).values(
            inviting_manager=invitations.c.created_by))


def downgrade():
    with op.batch_alter_table('invitations') as batch:
        batch.drop_column('inviting_manager')
