"""How many times in a row an image was found still uploading.

An image that joins from Glance's ``image.create`` is written to Glance
once it is active; until then the engine's leader checks it again at
every pass of its retry.  An image left ``queued`` in Glance for ever
was read once a minute and logged at every check, without end.  The
count of checks that found it uploading (``upload_checks``, back to 0
at every change of the image) spaces the checks out
(:mod:`image_family_svc.db.glance_writes`).

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('glance_writes',
                  sa.Column('upload_checks', sa.Integer, nullable=False,
                            server_default='0'))


def downgrade():
    op.drop_column('glance_writes', 'upload_checks')
