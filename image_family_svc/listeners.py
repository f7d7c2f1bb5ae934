"""The notification endpoints of ``image-family-engine`` (pool
``image_family``): Glance's image events and Nova's instance events.

Each handler writes the message id in the transaction of its effect
(:mod:`image_family_svc.db.messages`), so a redelivered notification
changes nothing, and is idempotent by itself too (an image that is a
member already does not join twice, a server counted already is not
counted twice).
"""

import logging

import oslo_messaging

from image_family_svc.db import families as families_db
from image_family_svc.db import members as members_db
from image_family_svc.db import messages
from image_family_svc.db import models
from image_family_svc.db import usage as usage_db
from image_family_svc import notifications
from svc_common import context
from svc_common import errors

LOG = logging.getLogger(__name__)

POOL = 'image_family'
HANDLED = oslo_messaging.NotificationResult.HANDLED


def _message_id(metadata):
    return (metadata or {}).get('message_id')


class _Endpoint(object):

    #: Name of the endpoint in ``processed_messages``.
    name = None

    def __init__(self, conf, db, notifier=None, driver=None):
        self.conf = conf
        self.db = db
        self.notifier = notifier
        self.driver = driver
        self.ctx = context.admin_context()
        self.ctx.user_id = 'image-family-engine'

    def publish(self, events):
        notifications.publish(self.notifier, self.ctx, events, self.driver)


class GlanceEndpoint(_Endpoint):
    """``image.create|update|activate``: an image carrying the family
    property (``[image_family] family_property``) joins that family, with
    ``[image_family] version_property`` as its version, if its properties
    satisfy the family's schema; ``image.delete``: it leaves."""

    name = 'glance'
    filter_rule = oslo_messaging.NotificationFilter(
        event_type=r'^image\.(create|update|activate|delete)$')

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        image_id = (payload or {}).get('id')
        if not image_id:
            return HANDLED
        if event_type == 'image.delete':
            events = self._leave(image_id, _message_id(metadata))
        else:
            events = self._join(image_id, payload, _message_id(metadata))
        self.publish(events)
        return HANDLED

    def _properties(self, payload):
        """Glance puts custom properties under ``properties``; standard
        ones like ``architecture`` may also be at the top."""
        found = {key: payload[key] for key in ('os_distro', 'os_version',
                                               'architecture')
                 if payload.get(key) is not None}
        found.update(payload.get('properties') or {})
        return found

    def _join(self, image_id, payload, message_id):
        opts = self.conf.image_family
        properties = self._properties(payload)
        name = properties.get(opts.family_property)
        if not name:
            return []
        version = properties.get(opts.version_property)
        try:
            with self.db.writer.using(self.ctx) as session:
                if not messages.claim(session, self.name, message_id):
                    return []
                if session.get(models.FamilyImage, image_id) is not None:
                    return []
                family = families_db.require_family(session, name)
                families_db.lock_family(session, family.id)
                _, events = members_db.join_in_session(
                    session, self.ctx, family, image_id,
                    str(version) if version is not None else None,
                    properties, opts.initial_state, 'glance',
                    'Announced by Glance (%s).' % payload.get('status'))
                return events
        except errors.ApiError as exc:
            # No such family, or properties the family refuses: the image
            # stays outside; nothing to retry.
            LOG.warning('Image %s does not join image family %s: %s',
                        image_id, name, exc.detail)
            self._remember(message_id)
            return []

    def _remember(self, message_id):
        with self.db.writer.using(self.ctx) as session:
            messages.claim(session, self.name, message_id)

    def _leave(self, image_id, message_id):
        with self.db.writer.using(self.ctx) as session:
            if not messages.claim(session, self.name, message_id):
                return []
            if session.get(models.FamilyImage, image_id) is None:
                return []
            return members_db.leave_in_session(
                session, self.ctx, image_id, 'glance',
                'The image was deleted in Glance.')


def _instance_fields(payload):
    """``(server id, image id)`` of a versioned or legacy Nova payload;
    the image is None for a volume-backed server."""
    data = (payload or {}).get('nova_object.data', payload or {})
    server_id = data.get('uuid') or data.get('instance_id')
    image_id = data.get('image_uuid')
    if not image_id:
        ref = data.get('image_ref_url') or ''
        image_id = ref.rstrip('/').rsplit('/', 1)[-1] or None
    return server_id, image_id


class NovaEndpoint(_Endpoint):
    """``instance.create.end`` / ``instance.delete.end``: count the
    servers of each image; the last server gone lets a ``pending_delete``
    image be deleted."""

    name = 'nova'
    filter_rule = oslo_messaging.NotificationFilter(
        event_type=r'^instance\.(create|delete)\.end$')

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        server_id, image_id = _instance_fields(payload)
        if not server_id:
            return HANDLED
        if event_type == 'instance.create.end':
            if not image_id:
                return HANDLED
            events = usage_db.server_created(
                self.db, self.ctx, server_id, image_id, self.name,
                _message_id(metadata))
        else:
            events = usage_db.server_deleted(
                self.db, self.ctx, server_id, self.name,
                _message_id(metadata))
        self.publish(events)
        return HANDLED


def targets(conf):
    opts = conf.image_family
    return ([oslo_messaging.Target(topic=topic, exchange=opts.glance_exchange)
             for topic in opts.glance_topics] +
            [oslo_messaging.Target(topic=topic, exchange=opts.nova_exchange)
             for topic in opts.nova_topics])
