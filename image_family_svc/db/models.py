"""SQLAlchemy models of image_family_svc.

* ``families``: a family, its owner (a project, or none for a system-owned
  public family), the JSON schema its members' properties must satisfy,
  its retention rule, and ``latest_id``, the newest ``active`` member,
  kept in the same transaction as every change of its members' states
  (writers of one family serialise on its row).
* ``family_images``: the members; an image belongs to one family at most;
  for a ``deleted`` one, when Glance was found without it.
* ``scheduled_transitions``: transitions asked for a later time; the
  engine applies them when due.
* ``transitions``: the history, one row per state change (joining and
  leaving included) with who, when and why.
* ``image_servers`` and ``image_usage``: which servers use which image
  (the image each runs from, from Nova's notifications; those its
  volumes were made from, from Cinder) and the count per image.
* ``processed_messages``: ids of the notifications already handled, per
  listener endpoint, written in the transaction of their effect.
* ``glance_writes``: the images whose current state Glance may not show
  yet, recorded in the transaction of each change
  (:mod:`image_family_svc.db.glance_writes`).
* ``glance_deleted_images``: the images Glance announced as deleted
  (``image.delete``), so that a notification of one of them that arrives
  later does not bring it back (:mod:`image_family_svc.db.ingest`).
"""

import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


class Family(Base):
    __tablename__ = 'families'

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(64), nullable=False, unique=True)
    project_id = sa.Column(sa.String(64), nullable=True, index=True)
    visibility = sa.Column(sa.String(16), nullable=False)
    properties_schema = sa.Column(sa.JSON, nullable=False)
    keep_superseded = sa.Column(sa.Integer, nullable=True)
    description = sa.Column(sa.Text, nullable=True)
    latest_id = sa.Column(sa.String(64), nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=True)


class FamilyImage(Base):
    __tablename__ = 'family_images'
    __table_args__ = (
        # A family's members in a state, and ``GET /v1/images`` of a
        # family and state, in the order it lists them.
        sa.Index('family_images_family_state_idx', 'family_id', 'state',
                 'image_id'),
        # ``GET /v1/images?family=...`` in the order it lists them.
        sa.Index('family_images_family_image_idx', 'family_id',
                 'image_id'),
        # ``GET /v1/images?state=...`` in the order it lists them.
        sa.Index('family_images_state_image_idx', 'state', 'image_id'),
        # A family's members in the order they are listed.
        sa.Index('family_images_family_joined_idx', 'family_id',
                 'joined_at', 'image_id'),
        # ... and those in a state (``GET /v1/families/{name}/images
        # ?state=...``).
        sa.Index('family_images_family_state_joined_idx', 'family_id',
                 'state', 'joined_at', 'image_id'),
        # The deleted images whose deletion in Glance is not confirmed.
        sa.Index('family_images_glance_delete_idx', 'state',
                 'glance_deleted_at'),
    )

    image_id = sa.Column(sa.String(64), primary_key=True)
    family_id = sa.Column(sa.String(36), sa.ForeignKey('families.id'),
                          nullable=False)
    version = sa.Column(sa.String(255), nullable=True)
    state = sa.Column(sa.String(16), nullable=False)
    properties = sa.Column(sa.JSON, nullable=False)
    successor_id = sa.Column(sa.String(64), nullable=True)
    joined_at = sa.Column(sa.DateTime, nullable=False)
    state_changed_at = sa.Column(sa.DateTime, nullable=False)
    #: When the engine found the image gone from Glance (its DELETE
    #: answered 204 or 404), for a ``deleted`` image; None until then
    #: (see :mod:`image_family_svc.glance_deletes`).
    glance_deleted_at = sa.Column(sa.DateTime, nullable=True)


class ScheduledTransition(Base):
    __tablename__ = 'scheduled_transitions'
    __table_args__ = (
        sa.Index('scheduled_transitions_due_idx', 'status', 'due_at'),
        sa.Index('scheduled_transitions_image_idx', 'image_id'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    image_id = sa.Column(sa.String(64), nullable=False)
    to_state = sa.Column(sa.String(16), nullable=False)
    due_at = sa.Column(sa.DateTime, nullable=False)
    reason = sa.Column(sa.Text, nullable=True)
    user_id = sa.Column(sa.String(64), nullable=True)
    project_id = sa.Column(sa.String(64), nullable=True)
    # pending, done or failed (with the reason in detail).
    status = sa.Column(sa.String(16), nullable=False)
    detail = sa.Column(sa.Text, nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False)


class Transition(Base):
    __tablename__ = 'transitions'
    __table_args__ = (
        sa.Index('transitions_image_idx', 'image_id', 'id'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    image_id = sa.Column(sa.String(64), nullable=False)
    family_id = sa.Column(sa.String(36), nullable=False)
    # None when the image joins; to_state None when it leaves.
    from_state = sa.Column(sa.String(16), nullable=True)
    to_state = sa.Column(sa.String(16), nullable=True)
    at = sa.Column(sa.DateTime, nullable=False)
    user_id = sa.Column(sa.String(64), nullable=True)
    project_id = sa.Column(sa.String(64), nullable=True)
    reason = sa.Column(sa.Text, nullable=True)
    # request, scheduled, retention, usage, glance
    cause = sa.Column(sa.String(16), nullable=False)


#: ``image_servers.source`` of the image a server runs from (Nova's
#: notifications and lists of servers): one at most per server.
RUNS_FROM = 'nova'
#: ... of an image one of its volumes was made from (Cinder's
#: ``volume_image_metadata``, read by the usage reconciliation).
VOLUME = 'cinder'


class ImageServer(Base):
    """An image a server uses, and how that was learnt (``source``:
    :data:`RUNS_FROM` or :data:`VOLUME`); a server counts once for an
    image, whatever rows say so."""

    __tablename__ = 'image_servers'
    __table_args__ = (
        sa.Index('image_servers_image_idx', 'image_id', 'server_id'),
        # A server runs from one image.
        sa.Index('image_servers_runs_from_idx', 'server_id', unique=True,
                 sqlite_where=sa.text("source = 'nova'"),
                 postgresql_where=sa.text("source = 'nova'")),
    )

    server_id = sa.Column(sa.String(64), primary_key=True)
    image_id = sa.Column(sa.String(64), primary_key=True)
    source = sa.Column(sa.String(16), primary_key=True)
    created_at = sa.Column(sa.DateTime, nullable=False)
    #: When Nova sent the notification last applied to the server (its
    #: metadata's timestamp; None: unknown): an older one is stale.
    #: Of the row of the image the server runs from only.
    event_at = sa.Column(sa.DateTime, nullable=True)


class ImageUsage(Base):
    __tablename__ = 'image_usage'

    image_id = sa.Column(sa.String(64), primary_key=True)
    servers = sa.Column(sa.Integer, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)


class ProcessedMessage(Base):
    __tablename__ = 'processed_messages'
    __table_args__ = (
        sa.Index('processed_messages_created_idx', 'created_at'),
    )

    endpoint = sa.Column(sa.String(32), primary_key=True)
    message_id = sa.Column(sa.String(255), primary_key=True)
    created_at = sa.Column(sa.DateTime, nullable=False)


class GlanceWrite(Base):
    __tablename__ = 'glance_writes'
    __table_args__ = (
        sa.Index('glance_writes_marked_idx', 'marked_at'),
    )

    image_id = sa.Column(sa.String(64), primary_key=True)
    #: New at each change of the image: a write that read the state of
    #: an older change leaves the row of a newer one.
    token = sa.Column(sa.String(32), nullable=False)
    #: When the image last changed (or a write of it last failed); for
    #: an image found still uploading, later than that, so that the
    #: engine checks it less and less often
    #: (:mod:`image_family_svc.db.glance_writes`).
    marked_at = sa.Column(sa.DateTime, nullable=False)
    #: How many checks in a row found the image still uploading in
    #: Glance since its last change.
    upload_checks = sa.Column(sa.Integer, nullable=False, default=0,
                              server_default='0')


class GlanceDeletedImage(Base):
    __tablename__ = 'glance_deleted_images'
    __table_args__ = (
        sa.Index('glance_deleted_images_deleted_idx', 'deleted_at'),
    )

    image_id = sa.Column(sa.String(64), primary_key=True)
    #: When the engine applied the image's ``image.delete``; the row is
    #: forgotten after ``[image_family] processed_message_retention``.
    deleted_at = sa.Column(sa.DateTime, nullable=False)
