"""The images Glance announced as deleted.

An ``image.create`` or ``image.update`` of an image that Glance
delivered after the image's ``image.delete`` (a redelivery after a
failed attempt, a notification that waited in a queue, two engine hosts
of one pool) added the image to its family again, in ``testing``: a
member that Glance no longer has.  Glance never gives a deleted image's
id to another image, so the ids of the images it announced as deleted
are kept, and a later notification of one of them is ignored.

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'glance_deleted_images',
        sa.Column('image_id', sa.String(64), primary_key=True),
        sa.Column('deleted_at', sa.DateTime, nullable=False))
    op.create_index('glance_deleted_images_deleted_idx',
                    'glance_deleted_images', ['deleted_at'])


def downgrade():
    op.drop_index('glance_deleted_images_deleted_idx',
                  table_name='glance_deleted_images')
    op.drop_table('glance_deleted_images')
