"""One action per trigger: a unique index on (trigger, trigger_id).

Two engine hosts that receive two notifications of one failed boot (its
legacy and versioned forms, or the failures of the instances of one
multi-create) could each plan an action for it; the index lets only the
first be written.  Actions without a trigger id (NULL) are not
constrained.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('actions_trigger_idx', 'actions',
                    ['trigger', 'trigger_id'], unique=True)


def downgrade():
    op.drop_index('actions_trigger_idx', table_name='actions')
