"""The order in which pending requests were submitted.

The promoter serves the oldest request first by ``created_at``, which
is the database's clock to its tick (a millisecond on SQLite, a
microsecond on PostgreSQL), then by id: requests submitted within one
tick were served in the order of their random ids.  Each request now
takes the next number of a sequence when it is inserted
(``submission_seq``), which breaks those ties.  Existing requests are
numbered in the order they were served in, by ``(created_at, id)``.

On PostgreSQL the numbers come from the sequence
``pending_requests_submission_seq`` (two API processes inserting at once
take two numbers), also the column's default there, so that the
previous release's processes still insert requests after the sync;
elsewhere from the largest number plus one, in the
transaction of the insert (SQLite's writer holds the whole database),
read through an index.

It also adds a partial index of the requests whose interrupted builds
the promoter still looks for (``interruptions > 0`` and a
``build_token``): a handful, read at every pass among every request
ever built, which was a scan of the table's final states.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

SEQUENCE = 'pending_requests_submission_seq'
#: The predicate of ix_pending_requests_swept.
SWEPT = 'interruptions > 0 AND build_token IS NOT NULL'


def upgrade():
    with op.batch_alter_table('pending_requests') as batch:
        batch.add_column(sa.Column('submission_seq', sa.BigInteger(),
                                   nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # In one statement (a table of months of requests was one
        # UPDATE per row); ids in code point order, as the promoter's
        # fair order compares them, not in the database's collation.
        bind.execute(sa.text(
            'UPDATE pending_requests SET submission_seq = numbered.seq '
            'FROM (SELECT id, row_number() OVER (ORDER BY created_at, '
            'id COLLATE "C") AS seq FROM pending_requests) AS numbered '
            'WHERE pending_requests.id = numbered.id'))
        count = bind.execute(sa.text(
            'SELECT count(*) FROM pending_requests')).scalar_one()
    else:
        table = sa.table('pending_requests', sa.column('id', sa.String),
                         sa.column('created_at', sa.DateTime),
                         sa.column('submission_seq', sa.BigInteger))
        rows = bind.execute(sa.select(table.c.id,
                                      table.c.created_at)).all()
        # Python's order of the ids, as the promoter's fair order
        # compares them.
        ordered = sorted(rows, key=lambda row: (row.created_at, row.id))
        if ordered:
            bind.execute(
                table.update().where(table.c.id == sa.bindparam('row_id'))
                .values(submission_seq=sa.bindparam('seq')),
                [{'row_id': row.id, 'seq': seq}
                 for seq, row in enumerate(ordered, 1)])
        count = len(ordered)
    if bind.dialect.name == 'postgresql':
        op.execute(sa.schema.CreateSequence(
            sa.Sequence(SEQUENCE, start=count + 1)))
        # The default of the column too: an API or engine of the
        # previous release, still running after the sync, inserts
        # requests without it.
        op.execute("ALTER TABLE pending_requests ALTER COLUMN "
                   "submission_seq SET DEFAULT nextval('%s')" % SEQUENCE)
    with op.batch_alter_table('pending_requests') as batch:
        batch.alter_column('submission_seq', existing_type=sa.BigInteger(),
                           nullable=False)
        batch.create_index('ix_pending_requests_submission_seq',
                           ['submission_seq'])
        batch.create_index('ix_pending_requests_swept', ['updated_at', 'id'],
                           postgresql_where=sa.text(SWEPT),
                           sqlite_where=sa.text(SWEPT))


def downgrade():
    with op.batch_alter_table('pending_requests') as batch:
        batch.drop_index('ix_pending_requests_swept')
        batch.drop_index('ix_pending_requests_submission_seq')
        batch.drop_column('submission_seq')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(sa.schema.DropSequence(sa.Sequence(SEQUENCE)))
