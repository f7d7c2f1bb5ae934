"""The notification endpoints of ``image-family-engine`` (pool
``image_family``): Glance's image events and Nova's instance events.

The engine's listener hands the endpoints batches
(:class:`Batched`).  Each handler writes the message id in the
transaction of its effect (:mod:`image_family_svc.db.messages`; the
Glance endpoint writes a whole batch in one transaction), so a
redelivered notification changes nothing, and is idempotent by itself
too (an image that is a member already does not join twice, a server
counted already is not counted twice).

A Glance notification that would add an image to a family and that
Glance sent (by the ``timestamp`` oslo.messaging stamps on it) longer
than ``[image_family] processed_message_retention`` ago is dropped, with
one warning: the records that recognise a redelivery and an image Glance
deleted are kept that long (and
:data:`image_family_svc.db.ingest.CLOCK_MARGIN` more), so it could have
brought back an image Glance had deleted, or one taken out of its
family since.  An ``image.delete`` is applied however old it is.

Nova's notifications are applied whatever their age.  One sent longer
than the retention ago may be a redelivery whose record is gone: it can
then only count a server again that is gone (a create or rebuild of a
deleted server; a delete or build error finds nothing, or is stale), an
over-count that keeps its image ``pending_delete`` until the usage
reconciliation corrects it.  Dropping it could leave uncounted a server
that still runs from its image, which could then be deleted under it;
so it is applied, with a warning that says so.

A notification whose payload does not have the shape Glance or Nova
gives it (not an object, an id that is not a string or is longer than
the database holds, an id, version, family name, owner or message id
with a control character or a lone surrogate, which no database stores,
properties that are not an object) is logged and acknowledged, without
effect: an exception would have made
oslo.messaging requeue it, and RabbitMQ deliver it again at once, for
ever.

A batch that fails because the database is down, restarting, refusing
connections or (SQLite) locked past the busy timeout is not applied one
notification at a time (each would fail the same way): it is requeued
after :attr:`Batched.redelivery_delay` seconds with one warning line
(:mod:`svc_common.messaging.redelivery`).  Requeued at once, it came back
at once, with a traceback for each of its notifications, for as long as
the outage lasted.
"""

import datetime
import logging
import re

import oslo_messaging

from image_family_svc.db import families as families_db
from image_family_svc.db import ingest
from image_family_svc.db import usage as usage_db
from image_family_svc import notifications
from svc_common import context
from svc_common.db import failures
from svc_common.messaging import redelivery

LOG = logging.getLogger(__name__)

POOL = 'image_family'
HANDLED = oslo_messaging.NotificationResult.HANDLED

#: The longest image or server id, version and message id stored (the
#: columns of :mod:`image_family_svc.db.models`).
MAX_ID_LENGTH = 64
MAX_VERSION_LENGTH = 255
MAX_MESSAGE_ID_LENGTH = 255
#: The longest family name and owner read (Glance's owner is at most
#: 255 characters; a family name at most 64).
MAX_NAME_LENGTH = 255


#: What no id, version, name or owner of a notification holds: control
#: characters (PostgreSQL refuses NUL in text, and the API refuses them
#: all in versions) and lone surrogates (no database encodes them; JSON
#: can carry them as escapes).
UNSTORABLE = re.compile('[\x00-\x1f\x7f-\x9f\ud800-\udfff]')


class MalformedNotification(ValueError):
    """A notification whose payload does not have the shape Glance or
    Nova gives it."""


def _string(value, what, max_length, required=True):
    """``value`` if it is a string of 1 to ``max_length`` characters
    (None allowed unless ``required``)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        raise MalformedNotification(
            '%s is %.60r, not a string of 1 to %d characters'
            % (what, value, max_length))
    if UNSTORABLE.search(value):
        raise MalformedNotification(
            '%s is %.60r, with a control character or a lone surrogate'
            % (what, value))
    return value


def _object(value, what):
    """``value`` if it is a JSON object (None: an empty one)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedNotification('%s is a %s, not an object'
                                    % (what, type(value).__name__))
    return value


def _message_id(metadata):
    return _string(_object(metadata, 'metadata').get('message_id'),
                   'message_id', MAX_MESSAGE_ID_LENGTH, required=False)


def sent_at(metadata):
    """When the notification was sent, as oslo.messaging stamps it in
    the metadata (``timestamp``, UTC), as a naive UTC datetime; None when
    it has none that reads as a time (it is then never taken as stale).
    """
    value = _object(metadata, 'metadata').get('timestamp')
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when


def older_than_retention(conf, sent):
    """Whether a notification sent at ``sent`` (None: unknown, never
    taken as too old) is older than the records that keep it from
    changing anything it must not."""
    if sent is None:
        return False
    retention = datetime.timedelta(
        seconds=conf.image_family.processed_message_retention)
    return sent < families_db.now() - retention


def _dropped(event_type, exc):
    LOG.warning('Dropped a malformed %s notification: %s', event_type, exc)


class _Endpoint(object):

    #: Name of the endpoint in ``processed_messages``.
    name = None

    def __init__(self, conf, db, notifier=None, driver=None,
                 announcer=None):
        self.conf = conf
        self.db = db
        self.notifier = notifier
        self.driver = driver
        #: A :class:`notifications.Announcer` (the engine's); without
        #: one, events are announced before the handler returns.
        self.announcer = announcer
        self.ctx = context.admin_context()
        self.ctx.user_id = 'image-family-engine'

    def publish(self, events):
        if self.announcer is not None:
            self.announcer.submit(self.ctx, events)
        else:
            notifications.publish(self.notifier, self.ctx, events,
                                  self.driver)


class GlanceEndpoint(_Endpoint):
    """``image.create|update|activate``: an image carrying the family
    property (``[image_family] family_property``) joins that family, with
    ``[image_family] version_property`` as its version, if its properties
    satisfy the family's schema; ``image.delete``: it leaves.  A member
    of a project's family that Glance announces with another owner
    leaves, whether or not the notification names a family.

    A batch of notifications (:meth:`handle_batch`) is applied in one
    transaction (:mod:`image_family_svc.db.ingest`); if that fails, each
    is applied on its own, so that one notification the database refuses
    does not hold back the others."""

    name = 'glance'
    filter_rule = oslo_messaging.NotificationFilter(
        event_type=r'^image\.(create|update|activate|delete)$')

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        notice = self._checked_notice(event_type, payload, metadata)
        if notice is not None:
            self.publish(self._apply([notice]))
        return HANDLED

    def handle_batch(self, messages):
        """Apply a batch of notifications as oslo.messaging's batch
        listener hands them (dicts with ``event_type``, ``payload`` and
        ``metadata``); REQUEUE if one of them failed (the others are
        recorded and will not be applied again)."""
        notices = [notice for notice in (
            self._checked_notice(m['event_type'], m['payload'],
                                 m['metadata'])
            for m in messages) if notice is not None]
        if not notices:
            return HANDLED
        try:
            events = self._apply(notices)
        except Exception as exc:
            if len(notices) == 1 or failures.passing(exc):
                raise
            LOG.warning('A batch of %d Glance notifications failed; '
                        'applying them one by one', len(notices),
                        exc_info=True)
            return self._one_by_one(notices)
        self.publish(events)
        return HANDLED

    def _one_by_one(self, notices):
        result = HANDLED
        for notice in notices:
            try:
                events = self._apply([notice])
            except Exception as exc:
                if failures.passing(exc):
                    # The database went away during the batch: the rest
                    # would fail the same way.
                    raise
                LOG.exception('Glance notification %s about image %s '
                              'failed; it will be delivered again',
                              notice.message_id, notice.image_id)
                result = oslo_messaging.NotificationResult.REQUEUE
                continue
            self.publish(events)
        return result

    def _apply(self, notices):
        return ingest.apply(self.db, self.ctx, self.name, notices,
                            self.conf.image_family.initial_state, 'glance')

    def _checked_notice(self, event_type, payload, metadata):
        """:meth:`_notice`, or None (logged) for a malformed
        notification."""
        try:
            return self._notice(event_type, payload, metadata)
        except MalformedNotification as exc:
            _dropped(event_type, exc)
            return None

    def _notice(self, event_type, payload, metadata):
        """The :class:`ingest.Join`, :class:`ingest.Owned` (no family
        named) or :class:`ingest.Leave` of a notification, or None when
        it concerns no family.

        :raises MalformedNotification: it does not have Glance's shape
        """
        payload = _object(payload, 'payload')
        if not payload.get('id'):
            return None
        image_id = _string(payload['id'], 'image id', MAX_ID_LENGTH)
        message_id = _message_id(metadata)
        opts = self.conf.image_family
        if event_type == 'image.delete':
            return ingest.Leave(message_id, image_id,
                                'The image was deleted in Glance.')
        properties = self._properties(payload)
        name = properties.get(opts.family_property)
        owner = payload.get('owner')
        if isinstance(owner, str) and owner:
            owner = _string(owner, 'owner', MAX_NAME_LENGTH)
        else:
            owner = None
        if not name:
            # An administrator may give a member to another project and
            # drop its family property in one change: it leaves its
            # project's family all the same.
            if owner is None:
                return None
            return ingest.Owned(None, image_id, owner)
        if not isinstance(name, str):
            raise MalformedNotification('property %s is %.60r, not a '
                                        'family name'
                                        % (opts.family_property, name))
        name = _string(name, 'property %s' % opts.family_property,
                       MAX_NAME_LENGTH)
        sent = sent_at(metadata)
        if older_than_retention(self.conf, sent):
            LOG.warning('Dropped a Glance %s notification (%s) of image %s '
                        'in family %s: Glance sent it at %s, longer ago '
                        'than [image_family] processed_message_retention '
                        '(%d s), after which a deletion of the image or '
                        'an earlier delivery may be forgotten.',
                        event_type, message_id, image_id, name,
                        sent.isoformat(' '),
                        opts.processed_message_retention)
            return None
        version = properties.get(opts.version_property)
        if version is not None:
            version = _string(str(version),
                              'property %s' % opts.version_property,
                              MAX_VERSION_LENGTH)
        status = payload.get('status')
        if not isinstance(status, str) or UNSTORABLE.search(status):
            status = None
        return ingest.Join(
            message_id, image_id, name, version, properties,
            'Announced by Glance (%.64s).' % status, owner,
            _visibility(payload))

    def _properties(self, payload):
        """Glance puts custom properties under ``properties``; standard
        ones like ``architecture`` may also be at the top."""
        found = {key: payload[key] for key in ('os_distro', 'os_version',
                                               'architecture')
                 if payload.get(key) is not None}
        found.update(_object(payload.get('properties'), 'properties'))
        return found


def _visibility(payload):
    """An image's visibility in a Glance payload (``visibility``, or the
    older ``is_public``), or None."""
    visibility = payload.get('visibility')
    if isinstance(visibility, str):
        return visibility[:16]
    if payload.get('is_public') is True:
        return 'public'
    return None


def _instance_fields(payload):
    """``(server id, image id)`` of a versioned or legacy Nova payload;
    the image is None for a volume-backed server.

    :raises MalformedNotification: it does not have Nova's shape
    """
    payload = _object(payload, 'payload')
    data = _object(payload.get('nova_object.data', payload), 'payload')
    server_id = data.get('uuid') or data.get('instance_id')
    image_id = data.get('image_uuid')
    if not image_id:
        ref = data.get('image_ref_url') or ''
        if not isinstance(ref, str):
            raise MalformedNotification('image_ref_url is %.60r, not a '
                                        'URL' % (ref,))
        image_id = ref.rstrip('/').rsplit('/', 1)[-1] or None
    return (_string(server_id, 'server id', MAX_ID_LENGTH, required=False),
            _string(image_id, 'image id', MAX_ID_LENGTH, required=False))


#: Nova's event types of a server created and deleted: versioned, and
#: legacy (``[notifications] notification_format = unversioned``).  A
#: build counts for its image from its start (the compute host sends it
#: before it downloads the image) to its error or deletion.
CREATE_START = ('instance.create.start', 'compute.instance.create.start')
CREATE_END = ('instance.create.end', 'compute.instance.create.end')
CREATE_ERROR = ('instance.create.error', 'compute.instance.create.error')
DELETE_END = ('instance.delete.end', 'compute.instance.delete.end')
#: ... and rebuilt (its image is the one it is rebuilt from, from the
#: rebuild's start, which the compute host sends before it downloads
#: the image; an evacuation is a rebuild from the same image).
REBUILD = ('instance.rebuild.start', 'compute.instance.rebuild.start',
           'instance.rebuild.end', 'compute.instance.rebuild.end')


class NovaEndpoint(_Endpoint):
    """``instance.create.start`` / ``.end``, ``instance.create.error``,
    ``instance.delete.end`` (versioned, or ``compute.instance.*``
    unversioned): count the servers of each image, a build from its
    start; the last server gone (or its build failed) lets a
    ``pending_delete`` image be deleted.  ``instance.rebuild.end``: the
    server counts for the image it was rebuilt from, no longer for its
    old one, from the rebuild's start (``instance.rebuild.start``).  A
    rebuild or build error that Nova sent before the last
    notification applied to the server (its metadata's ``timestamp``) is
    stale and changes nothing."""

    name = 'nova'
    filter_rule = oslo_messaging.NotificationFilter(
        event_type=r'^(compute\.)?instance\.'
                   r'(create\.(start|end|error)|rebuild\.(start|end)|'
                   r'delete\.end)$')

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        try:
            server_id, image_id = _instance_fields(payload)
            message_id = _message_id(metadata)
            sent = sent_at(metadata)
        except MalformedNotification as exc:
            _dropped(event_type, exc)
            return HANDLED
        if not server_id:
            return HANDLED
        if older_than_retention(self.conf, sent):
            LOG.warning('Applying a Nova %s notification (%s) of server %s '
                        'sent at %s, longer ago than [image_family] '
                        'processed_message_retention (%d s): if it was '
                        'applied before, the server may be counted again '
                        'until the usage reconciliation.', event_type,
                        message_id, server_id, sent.isoformat(' '),
                        self.conf.image_family.processed_message_retention)
        if event_type in CREATE_START + CREATE_END + REBUILD and \
                not image_id:
            return HANDLED
        if event_type in CREATE_START + CREATE_END:
            events = usage_db.server_created(
                self.db, self.ctx, server_id, image_id, self.name,
                message_id, sent_at=sent)
        elif event_type in REBUILD:
            events = usage_db.server_rebuilt(
                self.db, self.ctx, server_id, image_id, self.name,
                message_id, sent_at=sent, drain=self._drain())
        elif event_type in CREATE_ERROR:
            events = usage_db.server_build_failed(
                self.db, self.ctx, server_id, self.name, message_id,
                sent_at=sent, drain=self._drain())
        elif event_type in DELETE_END:
            events = usage_db.server_deleted(
                self.db, self.ctx, server_id, self.name, message_id,
                drain=self._drain())
        else:
            return HANDLED
        self.publish(events)
        return HANDLED

    def _drain(self):
        return self.conf.image_family.obsolete_drain_seconds

    def handle_batch(self, messages):
        """Each notification of a batch in its own transaction (they are
        few next to Glance's); REQUEUE if one failed."""
        result = HANDLED
        for m in messages:
            try:
                self.info(m['ctxt'], m['publisher_id'], m['event_type'],
                          m['payload'], m['metadata'])
            except Exception as exc:
                if failures.passing(exc):
                    raise
                LOG.exception('Nova notification %s failed; it will be '
                              'delivered again',
                              _message_id(m['metadata']))
                result = oslo_messaging.NotificationResult.REQUEUE
        return result


class Batched(object):
    """An endpoint of this module as oslo.messaging's batch listener
    calls it: ``info(messages)`` with a list of notifications, handed to
    the endpoint's ``handle_batch``; same filter.

    A batch the database fails is requeued after ``redelivery_delay``
    seconds, not at once."""

    def __init__(self, endpoint, redelivery_delay=redelivery.DEFAULT_DELAY):
        self.endpoint = endpoint
        self.filter_rule = endpoint.filter_rule
        self.redelivery_delay = redelivery_delay

    @redelivery.later_on_database_failure('redelivery_delay')
    def info(self, messages):
        return self.endpoint.handle_batch(messages)


def targets(conf):
    opts = conf.image_family
    return ([oslo_messaging.Target(topic=topic, exchange=opts.glance_exchange)
             for topic in opts.glance_topics] +
            [oslo_messaging.Target(topic=topic, exchange=opts.nova_exchange)
             for topic in opts.nova_topics])
