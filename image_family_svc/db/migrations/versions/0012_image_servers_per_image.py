"""A server recorded for each image it uses, and how it was found.

``image_servers`` had one row per server (primary key ``server_id``),
for one image: a server that runs from one member of a family and
holds a volume made from another (or holds volumes made from two
members) was counted for one of them only, and the other could be
deleted under it once obsolete.  A row is now one image a server uses,
and how that was learnt (``source``): ``nova``, the image the server
runs from (Nova's notifications, or Nova's list of the image's
servers), at most one per server; ``cinder``, an image one of its
volumes was made from (Cinder's ``volume_image_metadata``), one per
image.  A server counts once per image, whichever rows say so.

The rows written before are taken for the images their servers run
from (``nova``): which of them the reconciliation found through Cinder
is not recorded, and its next run records those again.  The table is
copied (SQLite cannot change a primary key in place); on PostgreSQL
it is locked meanwhile.

Downgrading keeps one row per server: the image it runs from if it has
one, else the first image of its volumes; counts stay as they are (at
least the rows) until the reconciliation of the older release.

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_NOVA = sa.text("source = 'nova'")


def _columns(with_source):
    columns = [sa.Column('server_id', sa.String(64), nullable=False),
               sa.Column('image_id', sa.String(64), nullable=False)]
    if with_source:
        columns.append(sa.Column('source', sa.String(16), nullable=False))
    return columns + [sa.Column('created_at', sa.DateTime, nullable=False),
                      sa.Column('event_at', sa.DateTime, nullable=True)]


def _lock():
    """On PostgreSQL, hold off the writers of ``image_servers`` (an
    engine of the release before still running) until the migration
    commits: a row one of them wrote after the copy read the table was
    dropped with it (a server counting for no image)."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('LOCK TABLE image_servers IN EXCLUSIVE MODE')


def _replace_table(with_source, copy_sql):
    """Copy ``image_servers`` into a table of the new shape, and put it
    in its place under the table's names."""
    keys = ['server_id', 'image_id', 'source'] if with_source else [
        'server_id']
    op.create_table('image_servers_copy', *_columns(with_source),
                    sa.PrimaryKeyConstraint(*keys))
    op.execute(copy_sql)
    op.drop_index('image_servers_image_idx', table_name='image_servers')
    if not with_source:
        op.drop_index('image_servers_runs_from_idx',
                      table_name='image_servers')
    op.drop_table('image_servers')
    op.rename_table('image_servers_copy', 'image_servers')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE image_servers RENAME CONSTRAINT '
                   'image_servers_copy_pkey TO image_servers_pkey')


def upgrade():
    _lock()
    _replace_table(True, "INSERT INTO image_servers_copy (server_id, "
                   "image_id, source, created_at, event_at) SELECT "
                   "server_id, image_id, 'nova', created_at, event_at "
                   "FROM image_servers")
    op.create_index('image_servers_image_idx', 'image_servers',
                    ['image_id', 'server_id'])
    op.create_index('image_servers_runs_from_idx', 'image_servers',
                    ['server_id'], unique=True, sqlite_where=_NOVA,
                    postgresql_where=_NOVA)


def downgrade():
    _lock()
    # One row per server: its image if it runs from one, else the first
    # of its volumes'.
    op.execute("DELETE FROM image_servers WHERE source <> 'nova' AND ("
               "EXISTS (SELECT 1 FROM image_servers n WHERE n.server_id "
               "= image_servers.server_id AND n.source = 'nova') OR "
               "image_id > (SELECT min(c.image_id) FROM image_servers c "
               "WHERE c.server_id = image_servers.server_id))")
    _replace_table(False, "INSERT INTO image_servers_copy (server_id, "
                   "image_id, created_at, event_at) SELECT server_id, "
                   "image_id, created_at, event_at FROM image_servers")
    op.create_index('image_servers_image_idx', 'image_servers',
                    ['image_id'])
