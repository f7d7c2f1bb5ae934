"""Unique limit identity in which an empty region or domain is one value.

The unique constraints of 0002 count every NULL as distinct, so two
concurrent creations of the same limit with no region both succeeded.
Before the index is built, such duplicates are folded into the most
restrictive one (the one the allocation decision already used).

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_TABLES = (
    ('registered_limits', 'default_limit', 'uniq_registered_limits0identity',
     (('service_id', False), ('region_id', True), ('resource_name', False))),
    ('project_limits', 'resource_limit', 'uniq_project_limits0identity',
     (('project_id', True), ('domain_id', True), ('service_id', False),
      ('region_id', True), ('resource_name', False), ('scope', False))),
)


def _strictness(value):
    # -1 is unlimited: the least strict of all.
    return float('inf') if value < 0 else value


def _fold_duplicates(conn, table, value_column, columns):
    names = [name for name, _ in columns]
    query = 'SELECT id, %s, %s FROM %s' % (value_column, ', '.join(names),
                                           table)
    rows = conn.execute(sa.text(query)).all()
    groups = {}
    for row in rows:
        key = tuple(row[2 + i] or '' for i in range(len(names)))
        groups.setdefault(key, []).append(row)
    for duplicates in groups.values():
        if len(duplicates) < 2:
            continue
        keep = min(duplicates, key=lambda r: (_strictness(r[1]), r[0]))
        for row in duplicates:
            if row[0] != keep[0]:
                conn.execute(sa.text('DELETE FROM %s WHERE id = :id'
                                     % table), {'id': row[0]})


def upgrade():
    conn = op.get_bind()
    for table, value_column, index, columns in _TABLES:
        _fold_duplicates(conn, table, value_column, columns)
        op.create_index(index, table, [
            sa.func.coalesce(sa.text(name), '') if optional
            else sa.text(name) for name, optional in columns], unique=True)


def downgrade():
    for table, _, index, _ in _TABLES:
        op.drop_index(index, table_name=table)
