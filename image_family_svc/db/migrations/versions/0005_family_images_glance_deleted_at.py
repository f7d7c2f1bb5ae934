"""When a deleted image was found gone from Glance.

The Glance driver deletes an image in Glance when its lifecycle reaches
``deleted``; when that DELETE failed (Glance down, a 5xx, a timeout)
nothing tried again and the image stayed in Glance for ever.  The engine
now retries the deleted images whose deletion Glance has not confirmed
(``glance_deleted_at`` NULL); those deleted before this revision are
checked once too (a 404 confirms them).

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('family_images',
                  sa.Column('glance_deleted_at', sa.DateTime, nullable=True))
    op.create_index('family_images_glance_delete_idx', 'family_images',
                    ['state', 'glance_deleted_at'])


def downgrade():
    op.drop_index('family_images_glance_delete_idx',
                  table_name='family_images')
    op.drop_column('family_images', 'glance_deleted_at')
