"""One action per trigger: a unique index on (trigger, trigger_id).

Two engine hosts that receive two notifications of one failed boot (its
legacy and versioned forms, or the failures of the instances of one
multi-create) could each plan an action for it; the index lets only the
first be written.  Actions without a trigger id (NULL) are not
constrained.

Before the index, the duplicates that the old code could write (one
action per failure of a multi-create) are kept, not deleted: every action
of a trigger but its earliest gets ``#<action id>`` after its trigger id,
so that its history (victims, states) stays readable and the index can be
built.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _keep_duplicates_apart(conn):
    """Give every action of a ``(trigger, trigger_id)`` but the earliest
    (by creation, then id) a trigger id of its own."""
    actions = sa.table('actions', sa.column('id'), sa.column('trigger'),
                       sa.column('trigger_id'), sa.column('created_at'))
    groups = conn.execute(
        sa.select(actions.c.trigger, actions.c.trigger_id)
        .where(actions.c.trigger_id.isnot(None))
        .group_by(actions.c.trigger, actions.c.trigger_id)
        .having(sa.func.count() > 1)).all()
    for trigger, trigger_id in groups:
        later = conn.execute(
            sa.select(actions.c.id)
            .where(actions.c.trigger == trigger,
                   actions.c.trigger_id == trigger_id)
            .order_by(actions.c.created_at, actions.c.id)).scalars().all()
        for action_id in later[1:]:
            conn.execute(actions.update().where(actions.c.id == action_id)
                         .values(trigger_id='%s#%s' % (trigger_id,
                                                       action_id)))


def upgrade():
    _keep_duplicates_apart(op.get_bind())
    op.create_index('actions_trigger_idx', 'actions',
                    ['trigger', 'trigger_id'], unique=True)


def downgrade():
    op.drop_index('actions_trigger_idx', table_name='actions')
