"""An index of a family's images in a state in the order they joined.

``GET /v1/families/{name}/images?state=<state>`` lists the family's
members in that state in the order they joined (``joined_at, image_id``).
No index served both the state and that order: the database read the
family's members in order (``family_images_family_joined_idx``) and kept
those in the state, or read those in the state and sorted them, the
whole family or the whole state for every page.  ``(family_id, state,
joined_at, image_id)`` gives a page, first or after a marker, by reading
the page.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('family_images_family_state_joined_idx',
                    'family_images',
                    ['family_id', 'state', 'joined_at', 'image_id'])


def downgrade():
    op.drop_index('family_images_family_state_joined_idx',
                  table_name='family_images')
