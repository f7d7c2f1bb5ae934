"""An index of a family's images in the order of their ids.

``GET /v1/images?latest=false&family=<name>`` lists a family's members
by image id; without an index in that order the database read every
member of every family to find those of a small one (0.8 s on SQLite for
a family of 10 images among 150,000, and 0.5 s for a caller who may not
even see the family).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('family_images_family_image_idx', 'family_images',
                    ['family_id', 'image_id'])


def downgrade():
    op.drop_index('family_images_family_image_idx',
                  table_name='family_images')
