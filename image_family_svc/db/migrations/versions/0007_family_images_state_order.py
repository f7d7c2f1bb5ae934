"""Indexes of the images listed by state in the order of their ids.

``GET /v1/images?latest=false&state=<state>`` (and with ``family``)
lists members by image id; without an index in that order the database
read every member to find a page of a state few images are in (2.2 s on
SQLite for an empty page among 150,000 members).  ``(state, image_id)``
serves the state alone; ``family_images_family_state_idx`` gains
``image_id`` to serve a family and a state.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('family_images_family_state_idx',
                  table_name='family_images')
    op.create_index('family_images_family_state_idx', 'family_images',
                    ['family_id', 'state', 'image_id'])
    op.create_index('family_images_state_image_idx', 'family_images',
                    ['state', 'image_id'])


def downgrade():
    op.drop_index('family_images_state_image_idx',
                  table_name='family_images')
    op.drop_index('family_images_family_state_idx',
                  table_name='family_images')
    op.create_index('family_images_family_state_idx', 'family_images',
                    ['family_id', 'state'])
