"""The start of image_family_svc's schema history: no tables yet.

Revision ID: 0001
Revises:
"""

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
