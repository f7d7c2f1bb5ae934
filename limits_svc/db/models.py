"""SQLAlchemy models of limits_svc.

``usages`` is the ledger the allocation decision reads and writes: per
project and resource, the project's own usage and its subtree usage (own
plus every descendant's), kept current by every allocation in the same
transaction as the allocation rows themselves.
"""

import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


class _Timestamps(object):
    # now() is UTC: svc_common's Database sets each PostgreSQL session's
    # TimeZone to UTC (svc_common.db.database.set_utc_time_zone).
    created_at = sa.Column(sa.DateTime, nullable=False,
                           server_default=sa.func.now())
    updated_at = sa.Column(sa.DateTime, nullable=True,
                           onupdate=sa.func.now())


class Project(_Timestamps, Base):
    __tablename__ = 'projects'
    __table_args__ = (
        # A project's children in code-point order of their ids, the
        # order in which a subtree is drawn.  On PostgreSQL, whose own
        # collation may sort otherwise, migration 0006 makes the id part
        # COLLATE "C" (which reflection, and so this model, leaves out);
        # SQLite compares code points already.
        sa.Index('projects_children_idx', 'parent_id', 'id'),
        # The projects kept after they left Keystone, which a resync
        # reads: a handful, whatever the number of projects.
        sa.Index('projects_left_keystone_idx', 'id',
                 sqlite_where=sa.text('left_keystone_at IS NOT NULL'),
                 postgresql_where=sa.text('left_keystone_at IS NOT NULL')),
    )

    id = sa.Column(sa.String(64), primary_key=True)
    name = sa.Column(sa.String(255), nullable=True)
    parent_id = sa.Column(sa.String(64), nullable=True)
    domain_id = sa.Column(sa.String(64), nullable=False, default='default')
    # When a resync found the project gone from Keystone and kept it
    # because it holds allocations (see limits_svc.db.keystone); NULL for
    # a project Keystone has, and for every project in local mode.  An
    # allocation may shrink or leave such a project, never grow in it.
    left_keystone_at = sa.Column(sa.DateTime, nullable=True)


def _same_limit_index(name, *columns):
    """A unique index over ``columns`` in which NULL equals the empty
    string: a plain unique constraint counts every NULL as distinct, so
    two limits with no region would both be accepted."""
    return sa.Index(name, *[sa.func.coalesce(sa.text(c), '') if optional
                            else sa.text(c) for c, optional in columns],
                    unique=True)


REGISTERED_LIMIT_IDENTITY = (('service_id', False), ('region_id', True),
                             ('resource_name', False))
PROJECT_LIMIT_IDENTITY = (('project_id', True), ('domain_id', True),
                          ('service_id', False), ('region_id', True),
                          ('resource_name', False), ('scope', False))


class RegisteredLimit(_Timestamps, Base):
    __tablename__ = 'registered_limits'
    __table_args__ = (
        sa.UniqueConstraint('service_id', 'region_id', 'resource_name',
                            name='uniq_registered_limits0service_region_res'),
        _same_limit_index('uniq_registered_limits0identity',
                          *REGISTERED_LIMIT_IDENTITY),
    )

    id = sa.Column(sa.String(64), primary_key=True)
    service_id = sa.Column(sa.String(64), nullable=False)
    region_id = sa.Column(sa.String(64), nullable=True)
    resource_name = sa.Column(sa.String(255), nullable=False, index=True)
    default_limit = sa.Column(sa.BigInteger, nullable=False)
    description = sa.Column(sa.Text, nullable=True)


class ProjectLimit(_Timestamps, Base):
    __tablename__ = 'project_limits'
    __table_args__ = (
        sa.UniqueConstraint('project_id', 'domain_id', 'service_id',
                            'region_id', 'resource_name', 'scope',
                            name='uniq_project_limits0target_res_scope'),
        sa.Index('project_limits_project_resource_idx', 'project_id',
                 'resource_name'),
        # The names of the limited resources, and who limits one.
        sa.Index('project_limits_resource_idx', 'resource_name'),
        _same_limit_index('uniq_project_limits0identity',
                          *PROJECT_LIMIT_IDENTITY),
    )

    id = sa.Column(sa.String(64), primary_key=True)
    project_id = sa.Column(sa.String(64), nullable=True)
    domain_id = sa.Column(sa.String(64), nullable=True)
    service_id = sa.Column(sa.String(64), nullable=False)
    region_id = sa.Column(sa.String(64), nullable=True)
    resource_name = sa.Column(sa.String(255), nullable=False)
    resource_limit = sa.Column(sa.BigInteger, nullable=False)
    scope = sa.Column(sa.String(16), nullable=False, default='project')
    description = sa.Column(sa.Text, nullable=True)


class Allocation(_Timestamps, Base):
    __tablename__ = 'allocations'
    __table_args__ = (
        # A project's allocations in the order they are listed.
        sa.Index('allocations_project_consumer_idx', 'project_id',
                 'consumer_id'),
        # Reservations only, in the order the purge frees them: the purge
        # reads the expired ones and nothing else, and an allocation
        # without an expiry (almost all of them) costs this index nothing.
        sa.Index('allocations_expiring_idx', 'expires_at', 'consumer_id',
                 sqlite_where=sa.text('expires_at IS NOT NULL'),
                 postgresql_where=sa.text('expires_at IS NOT NULL')),
    )

    consumer_id = sa.Column(sa.String(64), primary_key=True)
    resource_name = sa.Column(sa.String(255), primary_key=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    amount = sa.Column(sa.BigInteger, nullable=False)
    expires_at = sa.Column(sa.DateTime, nullable=True)
    # The same on every row of a consumer: changed by every write of its
    # allocation, answered as its ETag (see limits_svc.db.allocations).
    generation = sa.Column(sa.BigInteger, nullable=False,
                           server_default='0')


class Usage(Base):
    __tablename__ = 'usages'

    project_id = sa.Column(sa.String(64), primary_key=True)
    resource_name = sa.Column(sa.String(255), primary_key=True)
    own_used = sa.Column(sa.BigInteger, nullable=False, default=0)
    subtree_used = sa.Column(sa.BigInteger, nullable=False, default=0)
    # Part of own_used that no allocation explains: set by reconciliation
    # with an outside count (e.g. Placement's usages).
    adjustment = sa.Column(sa.BigInteger, nullable=False, default=0)
