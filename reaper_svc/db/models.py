"""SQLAlchemy models of reaper_svc.

* ``actions``: one preemption each, a persisted state machine (see
  :mod:`reaper_svc.action_states`) with what triggered it, the request it
  makes room for, its victims (``action_victims``) and its timestamps;
* ``victim_claims``: the servers that an unfinished action is preempting,
  one row per server (the primary key): two actions planned at once on
  two engine hosts cannot both take a server, the second insert fails;
* ``pending_requests``: servers a user asked for, to be built when room
  frees;
* ``processed_notifications``: ids of the notifications already handled,
  so that a redelivered one is acknowledged without acting twice;
* ``server_guarantees``: the guaranteed minimum runtime of the servers
  the promoter built (server id -> guaranteed until), applied by the
  drivers' snapshots so that every strategy respects it.
"""

import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


class Action(Base):
    __tablename__ = 'actions'
    # One action per trigger: the engines on two hosts that receive two
    # notifications of one boot (legacy and versioned, or the instances
    # of a multi-create) cannot both plan victims for it.
    __table_args__ = (
        sa.Index('actions_trigger_idx', 'trigger', 'trigger_id',
                 unique=True),
        # Lists filtered by state are sorted and paged by id: each page is
        # one range of this index (migration 0005).
        sa.Index('ix_actions_state_id', 'state', 'id'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    state = sa.Column(sa.String(16), nullable=False)
    trigger = sa.Column(sa.String(32), nullable=False)
    trigger_id = sa.Column(sa.String(255), nullable=True)
    project_id = sa.Column(sa.String(64), nullable=True, index=True)
    strategy = sa.Column(sa.String(32), nullable=False)
    request = sa.Column(sa.JSON, nullable=False)
    wasted = sa.Column(sa.Float, nullable=False, default=0.0)
    reason = sa.Column(sa.Text, nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)
    noticed_at = sa.Column(sa.DateTime, nullable=True)
    delete_after = sa.Column(sa.DateTime, nullable=True)
    finished_at = sa.Column(sa.DateTime, nullable=True)

    victims = orm.relationship('ActionVictim', lazy='selectin',
                               order_by='ActionVictim.server_id',
                               cascade='all, delete-orphan')


class ActionVictim(Base):
    __tablename__ = 'action_victims'

    action_id = sa.Column(sa.String(36), sa.ForeignKey('actions.id'),
                          primary_key=True)
    server_id = sa.Column(sa.String(64), primary_key=True)
    host = sa.Column(sa.String(255), nullable=False)
    project_id = sa.Column(sa.String(64), nullable=True, index=True)
    resources = sa.Column(sa.JSON, nullable=False)
    state = sa.Column(sa.String(16), nullable=False)


class VictimClaim(Base):
    __tablename__ = 'victim_claims'

    server_id = sa.Column(sa.String(64), primary_key=True)
    action_id = sa.Column(sa.String(36), sa.ForeignKey('actions.id'),
                          nullable=False, index=True)


#: The predicate of the partial index of the requests whose interrupted
#: builds are still looked for (see pending.swept_query).
SWEPT = 'interruptions > 0 AND build_token IS NOT NULL'


class PendingRequest(Base):
    __tablename__ = 'pending_requests'
    # Lists filtered by state or project are sorted and paged by id: each
    # page is one range of one of these (migration 0005).
    __table_args__ = (
        sa.Index('ix_pending_requests_state_id', 'state', 'id'),
        sa.Index('ix_pending_requests_project_id_id', 'project_id', 'id'),
        # The largest submission_seq, read at each insert off PostgreSQL
        # (migration 0008).
        sa.Index('ix_pending_requests_submission_seq', 'submission_seq'),
        # The few requests whose interrupted builds are still looked for
        # (pending.swept_query), read at every pass of the promoter
        # among every request ever built (migration 0008).
        sa.Index('ix_pending_requests_swept', 'updated_at', 'id',
                 postgresql_where=sa.text(SWEPT),
                 sqlite_where=sa.text(SWEPT)),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    user_id = sa.Column(sa.String(64), nullable=True)
    servers = sa.Column(sa.JSON, nullable=False)
    count = sa.Column(sa.Integer, nullable=False)
    all_or_nothing = sa.Column(sa.Boolean, nullable=False)
    min_runtime = sa.Column(sa.Integer, nullable=True)
    deadline = sa.Column(sa.DateTime, nullable=True)
    trust_id = sa.Column(sa.String(64), nullable=True)
    state = sa.Column(sa.String(16), nullable=False)
    reason = sa.Column(sa.Text, nullable=True)
    server_ids = sa.Column(sa.JSON, nullable=True)
    # Builds of it that the cloud's outage interrupted (migration 0006).
    interruptions = sa.Column(sa.Integer, nullable=False, default=0,
                              server_default='0')
    # The secret the promoter puts in the metadata of the servers it
    # builds for it, to tell them from servers a user tagged with the
    # request's id (migration 0007); never shown.  None before its
    # first build, and once what its interrupted builds left is cleaned.
    build_token = sa.Column(sa.String(64), nullable=True)
    # When its first build started (with the token): a server created
    # before is not one the promoter built for it (migration 0007).
    build_started_at = sa.Column(sa.DateTime, nullable=True)
    # The Nova user the promoter creates its servers as (the trustor
    # with the request's trust, else the reaper's service user), from
    # its first build: a server another user created is not one the
    # promoter built for it (migration 0007).
    build_user_id = sa.Column(sa.String(64), nullable=True)
    # The order it was submitted in (migration 0008): between requests
    # of one created_at (one tick of the database's clock) the first
    # submitted is served first.  Set by pending.create_request.
    submission_seq = sa.Column(sa.BigInteger, nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)


class ProcessedNotification(Base):
    __tablename__ = 'processed_notifications'

    message_id = sa.Column(sa.String(64), primary_key=True)
    event_type = sa.Column(sa.String(255), nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False, index=True)


class ServerGuarantee(Base):
    __tablename__ = 'server_guarantees'

    server_id = sa.Column(sa.String(64), primary_key=True)
    guaranteed_until = sa.Column(sa.DateTime, nullable=False, index=True)
    pending_id = sa.Column(sa.String(36), nullable=True)
    # When guaranteed_until was last set (recorded, or moved later):
    # [preemption] max_guaranteed_runtime counts from there.
    created_at = sa.Column(sa.DateTime, nullable=False)
