"""Families: create, read, list, change, delete.

A family is addressed by its name, unique in the deployment.  A project
owns at most ``[image_family] max_families_per_project`` families,
counted under a lock of the project (:func:`create_family`).  Writers that
change a family's members or their states hold the family's row lock
(:func:`lock_family`), so that two promotions in one family run one after
the other and ``latest_id`` always names the newest active member.
"""

import datetime
import uuid

from oslo_db import exception as db_exc
import sqlalchemy as sa

from image_family_svc.db import models
from svc_common import errors

PUBLIC = 'public'
PRIVATE = 'private'

#: What every member must carry when a family names no schema: the
#: properties Glance's common image properties and the Sovereign Cloud
#: Stack image-metadata standard use.
DEFAULT_PROPERTIES_SCHEMA = {
    'type': 'object',
    'properties': {
        'os_distro': {'type': 'string', 'minLength': 1},
        'os_version': {'type': 'string', 'minLength': 1},
        'architecture': {'type': 'string', 'minLength': 1},
    },
    'required': ['os_distro', 'os_version', 'architecture'],
}


class FamilyNotFound(errors.NotFound):
    code = 'family_not_found'


class FamilyExists(errors.Conflict):
    code = 'family_exists'


class FamilyNotEmpty(errors.Conflict):
    code = 'family_not_empty'


class TooManyFamilies(errors.Conflict):
    code = 'too_many_families'


#: Advisory lock class of a project's family count (PostgreSQL).
PROJECT_LOCK_CLASS = 0x494650


def no_such_family(name):
    return FamilyNotFound('No image family %s.' % errors.quoted_id(name))


def now():
    """The current time as stored: naive UTC."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


#: The database's current UTC time, per SQLAlchemy dialect.
_DATABASE_NOW = {
    'postgresql': "SELECT clock_timestamp() AT TIME ZONE 'UTC'",
    'sqlite': "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
}


def database_now(session):
    """The database's current time, naive UTC, read in ``session``.

    The times that decide when something happens (a scheduled
    transition's ``at``) are compared with this clock, shared by every
    host of a deployment, not with the host's (:func:`now`): an engine
    host whose clock was ahead made images obsolete before the time
    their owners had announced.  On SQLite, which one host uses, it is
    that host's clock as SQLite reads it.  :func:`now` for another
    backend.
    """
    query = _DATABASE_NOW.get(session.get_bind().dialect.name)
    if query is None:
        return now()
    value = session.execute(sa.text(query)).scalar_one()
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def require_family(session, name, lock=False):
    """The family called ``name``; FamilyNotFound if there is none.

    :param lock: hold its row until the transaction ends (see
        :func:`lock_family`).  A writer locks the family as it finds it:
        found first and locked after, a family deleted in between (the
        lock waited for its deletion) was changed or given a member as
        if it still existed, a 500.
    """
    query = sa.select(models.Family).where(models.Family.name == name)
    if lock:
        query = query.with_for_update().execution_options(
            populate_existing=True)
    family = session.scalar(query)
    if family is None:
        raise no_such_family(name)
    return family


def lock_family(session, family_id):
    """Hold the family's row until the transaction ends (PostgreSQL and
    MySQL; a SQLite writer holds the whole database already); the family
    as it is once locked (None: it was deleted)."""
    return session.scalar(sa.select(models.Family).where(
        models.Family.id == family_id).with_for_update().execution_options(
        populate_existing=True))


def get_family(db, ctx, name):
    with db.reader.using(ctx) as session:
        return require_family(session, name)


def visible_clause(only):
    """Families a caller whose view is project ``only`` sees: public ones
    and its own project's (None: every family)."""
    if only is None:
        return sa.true()
    return sa.or_(models.Family.visibility == PUBLIC,
                  models.Family.project_id == only)


def list_families(db, ctx, limit, marker=None, only=None, project_id=None,
                  visibility=None):
    """Families by name, at most ``limit`` after ``marker``."""
    query = sa.select(models.Family).where(visible_clause(only)).order_by(
        models.Family.name)
    if project_id is not None:
        query = query.where(models.Family.project_id == project_id)
    if visibility is not None:
        query = query.where(models.Family.visibility == visibility)
    if marker is not None:
        query = query.where(models.Family.name > marker)
    with db.reader.using(ctx) as session:
        return session.scalars(query.limit(limit)).all()


def _lock_project(session, project_id):
    """Hold the lock of ``project_id``'s family count until the
    transaction ends (PostgreSQL: an advisory lock; a SQLite writer holds
    the whole database already), so that two creations at once cannot
    both find room for one more."""
    if session.get_bind().dialect.name == 'postgresql':
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            PROJECT_LOCK_CLASS, sa.func.hashtext(project_id))))


def create_family(db, ctx, name, project_id, visibility, properties_schema,
                  keep_superseded=None, description=None,
                  max_per_project=0):
    """Create a family.

    :param max_per_project: the most families a project owns (0: no
        limit); system-owned families are not counted.
    :raises FamilyExists: the name is taken.
    :raises TooManyFamilies: the project owns ``max_per_project``
        already.
    """
    family = models.Family(
        id=str(uuid.uuid4()), name=name, project_id=project_id,
        visibility=visibility, properties_schema=properties_schema,
        keep_superseded=keep_superseded, description=description,
        created_at=now())
    try:
        with db.writer.using(ctx) as session:
            if project_id is not None and max_per_project:
                _lock_project(session, project_id)
                owned = session.scalar(sa.select(sa.func.count()).where(
                    models.Family.project_id == project_id))
                if owned >= max_per_project:
                    raise TooManyFamilies(
                        'Project %s owns %d image families, the most '
                        '[image_family] max_families_per_project allows; '
                        'delete one first.' % (project_id, owned),
                        limit=max_per_project)
            if session.scalar(sa.select(models.Family.id).where(
                    models.Family.name == name)) is not None:
                raise FamilyExists('Image family %s exists already.' % name)
            session.add(family)
            session.flush()
    except db_exc.DBDuplicateEntry:
        raise FamilyExists('Image family %s exists already.' % name)
    return family


def delete_family(db, ctx, name):
    """Delete a family that has no member left."""
    with db.writer.using(ctx) as session:
        family = require_family(session, name, lock=True)
        member = session.scalar(sa.select(models.FamilyImage.image_id).where(
            models.FamilyImage.family_id == family.id).limit(1))
        if member is not None:
            raise FamilyNotEmpty(
                'Image family %s still has images; remove them from the '
                'family first.' % name)
        session.delete(family)
