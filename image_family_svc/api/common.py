"""What image_family_svc's controllers share: policy targets of a family,
the answers' shapes, and publishing what a request changed."""

import logging

from keystoneauth1 import exceptions as ks_exc
import pecan

from image_family_svc.db import families as families_db
from image_family_svc.db import glance_deletes
from image_family_svc.db import members as members_db
from image_family_svc import glance
from image_family_svc import lifecycle
from image_family_svc import notifications
from svc_common.api import controller
from svc_common.api import validation
from svc_common import errors
from svc_common import policy

LOG = logging.getLogger(__name__)


def owner_target(project_id):
    """A project's family targets its project; a system-owned one the
    system."""
    if project_id:
        return policy.project_target(project_id)
    return policy.SYSTEM


def write_target(family):
    return owner_target(family.project_id)


def read_target(family):
    """A public family is read like a list (the caller's own view);
    others like a write."""
    if family.visibility == families_db.PUBLIC:
        return controller.list_target()
    return write_target(family)


def authorize_read(action, family, not_found):
    controller.authorize(action, read_target(family), not_found=not_found)


def authorize_write(action, family, not_found):
    """A caller who cannot see the family gets ``not_found``; one who
    sees it (it is public) but may not change it a 403."""
    hidden = family.visibility != families_db.PUBLIC
    controller.authorize(action, write_target(family),
                         not_found=not_found if hidden else None)


def require_owned_image(family, image_id):
    """Refuse to add ``image_id`` to a project's ``family`` unless Glance
    says the family's project owns it (with the ``glance`` driver; the
    ``noop`` driver cannot ask Glance).

    A member's lifecycle hides it in Glance, makes the Nova filter refuse
    boots from it and deletes it in Glance, all with the service's
    credentials: a project's member added any image ID to a family of
    their own (a public image of the cloud, another project's) and could
    take it there.  A missing image and another project's get the same
    answer, so that the answer does not tell which images exist.  A
    system-owned family is changed by cloud administrators only.
    """
    if family.project_id is None:
        return
    driver = glance.load_driver(pecan.request.conf, pecan.request.db)
    if not isinstance(driver, glance.GlanceApiDriver):
        return
    try:
        image = driver.get_image(image_id)
    except (glance.GlanceDriverError, ks_exc.ClientException) as exc:
        LOG.warning('Could not ask Glance who owns image %s: %s', image_id,
                    exc)
        raise errors.ApiError(
            'Glance could not be asked who owns image %s; try again later.'
            % image_id, code='glance_unavailable', status=503)
    if image is None or image.get('owner') != family.project_id:
        raise errors.BadRequest(
            'Invalid field image_id: %s is not an image of project %s in '
            'Glance; a project\'s family takes the project\'s own images.'
            % (image_id, family.project_id), code='image_not_owned',
            field='image_id')


def leave(family_name, image_id):
    """Take ``image_id`` out of ``family_name`` for the request; returns
    the events.

    With the ``glance`` driver, a ``deleted`` member that Glance was not
    yet found without (:class:`members_db.StillInGlance`) is looked up in
    Glance, with no database lock held: gone (404), it is recorded gone,
    as the engine's retry of deletions does, and leaves; still there, or
    Glance not answering, the 409 stays, saying which.  Without the look
    up, an image deleted in Glance whose ``image.delete`` was missed
    (with ``[glance] delete_images = false`` nothing else looks) stayed
    in its family for good, and so did the family.
    """
    req = pecan.request
    driver = glance.load_driver(req.conf, req.db)
    writes = isinstance(driver, glance.GlanceApiDriver)
    try:
        return members_db.leave(req.db, req.context, family_name, image_id,
                                deleted_must_be_gone=writes)
    except members_db.StillInGlance:
        try:
            image = driver.get_image(image_id)
        except (glance.GlanceDriverError, ks_exc.ClientException) as exc:
            LOG.warning('Could not ask Glance whether it still has image '
                        '%s (deleted in its family): %s', image_id, exc)
            raise members_db.StillInGlance(
                'Image %s is deleted in its family, and Glance could not '
                'be asked whether it still has it; try again later. It '
                'stays in the family until Glance is found without it.'
                % image_id)
        if image is not None:
            raise members_db.StillInGlance(
                'Image %s is deleted in its family but Glance still has it '
                '(its deletion failed, or [glance] delete_images is off): '
                'it stays in the family, hidden in Glance, until Glance '
                'deletes it, and then leaves by itself or may be removed.'
                % image_id)
    LOG.info('Image %s, deleted in its family, is gone from Glance: '
             'recorded so, it leaves its family.', image_id)
    glance_deletes.confirm(req.db, req.context, image_id)
    return members_db.leave(req.db, req.context, family_name, image_id,
                            deleted_must_be_gone=True)


def publish(events):
    """Announce what the request changed, once committed."""
    req = pecan.request
    notifications.publish(req.notifier, req.context, events,
                          glance.load_driver(req.conf, req.db))


def family_dict(family):
    return {'name': family.name, 'project_id': family.project_id,
            'visibility': family.visibility,
            'properties_schema': family.properties_schema,
            'keep_superseded': family.keep_superseded,
            'description': family.description,
            'latest_id': family.latest_id,
            'created_at': controller.isoformat(family.created_at),
            'updated_at': controller.isoformat(family.updated_at)}


def shows_actor(family):
    """Whether the caller may see who moved the images of ``family`` and
    why (rule ``image:transition:show_actor`` on the family's owner).

    Anyone who reads an image sees its transitions (states and times);
    the user IDs and free-text reasons of the owning project are its own
    business, so that callers of other projects reading a public family
    get them as null.
    """
    req = pecan.request
    rule = '%s:image:transition:show_actor' % req.spec.namespace
    return req.enforcer.enforce(rule, write_target(family), req.context,
                                do_raise=False)


def scheduled_dict(scheduled, show_actor):
    """A scheduled transition; without ``show_actor`` (see
    :func:`shows_actor`) its ``user_id`` and ``reason`` are null."""
    return {'id': scheduled.id, 'to': scheduled.to_state,
            'at': controller.isoformat(scheduled.due_at),
            'reason': scheduled.reason if show_actor else None,
            'user_id': scheduled.user_id if show_actor else None,
            'status': scheduled.status, 'detail': scheduled.detail}


def image_dict(view):
    row = view.row
    show_actor = bool(view.scheduled) and shows_actor(view.family)
    return {'image_id': row.image_id, 'family': view.family.name,
            'family_project_id': view.family.project_id,
            'version': row.version, 'state': row.state,
            'joined_at': controller.isoformat(row.joined_at),
            'state_changed_at': controller.isoformat(row.state_changed_at),
            'successor_id': row.successor_id,
            'latest_id': view.family.latest_id,
            'scheduled': [scheduled_dict(s, show_actor)
                          for s in view.scheduled],
            'may_boot': lifecycle.may_boot(row.state),
            'usage': {'servers': view.servers},
            'properties': row.properties}


def history_dict(row, show_actor):
    """An entry of an image's history; without ``show_actor`` (see
    :func:`shows_actor`) its ``user_id`` and ``reason`` are null."""
    return {'id': str(row.id), 'from': row.from_state, 'to': row.to_state,
            'at': controller.isoformat(row.at),
            'user_id': row.user_id if show_actor else None,
            'reason': row.reason if show_actor else None,
            'cause': row.cause}


def future_time(text, field='at'):
    """An ISO 8601 time in the future as naive UTC (a time without a zone
    is UTC); see :func:`svc_common.api.validation.future_time`.  The
    future by the database's clock, the one the engine applies a
    scheduled transition by (:func:`families_db.database_now`)."""
    req = pecan.request
    with req.db.reader.using(req.context) as session:
        now = families_db.database_now(session)
    return validation.future_time(text, field, now)
