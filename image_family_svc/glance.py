"""The Glance driver: how image_family_svc keeps Glance in step.

The engine and the API hand every committed change (a
:class:`image_family_svc.notifications.Event`) to the driver named by
``[image_family] glance_driver``:

``noop``
    Glance is not changed: the service keeps its own record and
    announces changes on the bus.
``glance``
    Glance's image API, through a keystoneauth1 adapter configured by
    ``[glance]`` (see :mod:`image_family_svc.conf.glance`):

    * ``image_family.membership.join`` and every
      ``image_family.transition``: the image's properties say its family
      (``[image_family] family_property``), its state
      (``[glance] state_property``) and its successor
      (``[glance] successor_property``), and ``os_hidden`` is true from
      ``deprecated`` on (``deprecated``, ``obsolete``,
      ``pending_delete``), false before.  Only what differs is patched,
      so a change that Glance already shows sends nothing (and Glance
      announces no ``image.update``).  An image that is not ``active``
      (or ``deactivated``) is left alone: Glance 33 fails an upload when
      the image is patched meanwhile (the PATCH writes the old status
      back), so an image that joins from ``image.create`` gets its
      properties once it is active, from the engine's next pass of
      :mod:`image_family_svc.glance_writes` (or at its next change).
    * a transition that makes an image the family's latest: the image is
      queued for the image cache of every ``[glance] cache_api_urls``
      node (``PUT /v2/cache/{image_id}``, Glance's cache API since
      2023.2; Glance 33 starts caching a queued image at once in a
      worker thread of that API node; a node without
      ``image_cache_dir`` answers 404 and is skipped with a warning, as
      is one that does not answer);
    * a transition to ``deleted`` (the lifecycle allows it only once no
      server uses the image): ``DELETE /v2/images/{image_id}``;
    * ``image_family.membership.leave``: the family, state and successor
      properties are removed (so that a later ``image.update`` does not
      bring the image back) and ``os_hidden`` is cleared; an image gone
      from Glance is left alone.

Glance's deactivate is never used for ``obsolete``: it would stop Nova
from downloading the image for a live migration or an evacuation.  An
obsolete image is hidden; new boots from it are refused by the Nova
scheduler filter (:mod:`image_family_svc.hooks.nova_filter`).

What the driver writes of an image is not what the event says but the
image's state in the database when the write starts, read while holding
the image's lock (:mod:`image_family_svc.db.glance_writes`): the API
process writing a transition and the engine writing a join of the same
image take turns, and the last to write read the last change.  Each
change records the image until a write has made Glance say it; a write
that fails, or one that finds the image still uploading, leaves the
record, and the engine's leader writes those images again
(:mod:`image_family_svc.glance_writes`).

A failure is logged by :func:`image_family_svc.notifications.publish` and
does not undo the change.  A deleted image is not written: the engine
retries its deletion (:mod:`image_family_svc.glance_deletes`).

While Glance is away (unreachable, no endpoint, answering 502, 503,
504 or 408: :func:`svc_common.outage.passing`), every image written or
deleted fails alike; that outage is logged once per process by the
driver's :attr:`GlanceDriver.outage_log` (a warning when it starts, a
reminder warning every 10 minutes while it lasts, an info line at the
first answer of Glance after it), not once per image; and for
:data:`OUTAGE_REST` seconds after such a failure the process sends
Glance nothing of the changes it makes (:meth:`GlanceApiDriver.event`):
the engine's retries write them.  A refusal of one
image (403, 409, ...) keeps its own warning, and so does a 500: it is
Glance's answer to that image's request, not an outage.
"""

import abc
import logging
import threading
import time
import weakref

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading

from image_family_svc.db import glance_writes
from image_family_svc import lifecycle as lc
from image_family_svc import notifications
from svc_common.clients import rest
from svc_common import outage

LOG = logging.getLogger(__name__)

GROUP = 'glance'
#: States in which an image is hidden from Glance's default lists.
HIDDEN_STATES = frozenset([lc.DEPRECATED, lc.OBSOLETE, lc.PENDING_DELETE,
                           lc.DELETED])
#: Glance statuses in which the driver patches an image.
WRITABLE_STATUSES = frozenset(['active', 'deactivated'])
#: Glance statuses of an image whose data is still coming: it is written
#: once active.  Any other status (killed, deleted) never will be.
UPLOADING_STATUSES = frozenset(['queued', 'saving', 'uploading',
                                'importing'])
PATCH_TYPE = 'application/openstack-images-v2.1-json-patch'
#: Seconds for which a process whose write (or deletion) of a change
#: failed because Glance is away leaves the writes of the next changes
#: to the engine's retries (:mod:`image_family_svc.glance_writes`,
#: :mod:`image_family_svc.glance_deletes`), which wait a minute after a
#: change anyway.
OUTAGE_REST = 60


class GlanceDriverError(Exception):
    """Glance refused or failed a request of the driver.

    Raised from keystoneauth1's error of the same answer
    (``ServiceUnavailable`` for a 503 ...), so that
    :func:`svc_common.outage.passing` tells Glance away (502, 503, 504,
    408) from Glance refusing (a 500 included).
    """

    def __init__(self, response):
        self.status_code = response.status_code
        super().__init__('%s %s -> %d: %s' % (
            response.request.method if response.request is not None
            else '?', response.url, response.status_code,
            (response.text or '')[:500]))


class GlanceDriver(metaclass=abc.ABCMeta):
    """Keeps Glance in step with the lifecycle."""

    #: The :class:`svc_common.outage.OutageLog` of Glance's outages, for
    #: whoever catches the driver's errors; None: this driver has none.
    outage_log = None

    @abc.abstractmethod
    def event(self, event):
        """Act on one committed change (an ``Event``)."""


class NoopDriver(GlanceDriver):
    """Leaves Glance alone."""

    def __init__(self, conf=None):
        pass

    def event(self, event):
        pass


def desired_properties(family, state, successor_id, names):
    """The image properties (and ``os_hidden``) that say ``state``.

    :param names: ``(family_property, state_property,
        successor_property)``; a value of None means "absent".
    """
    family_property, state_property, successor_property = names
    return {family_property: family,
            state_property: state,
            successor_property: successor_id,
            'os_hidden': state in HIDDEN_STATES}


def patch_for(image, desired):
    """The JSON patch that turns ``image`` (Glance's image document) into
    one with the ``desired`` properties; empty when nothing differs."""
    ops = []
    for name, value in sorted(desired.items()):
        if value is None:
            if name in image:
                ops.append({'op': 'remove', 'path': '/%s' % name})
        elif image.get(name) != value:
            ops.append({'op': 'replace' if name in image else 'add',
                        'path': '/%s' % name, 'value': value})
    return ops


def becomes_latest(payload):
    """True if a transition event leaves a latest image that may be new:
    the image itself became active and latest, or it stopped being an
    active image (a rollback or a supersede makes another the latest)."""
    latest_id = payload.get('latest_id')
    if not latest_id:
        return False
    if payload.get('to_state') == lc.ACTIVE:
        return latest_id == payload.get('image_id')
    return payload.get('from_state') == lc.ACTIVE


class GlanceApiDriver(GlanceDriver):
    """Glance's image API (see the module documentation).

    :param conf: the service's ``ConfigOpts`` (``[glance]``,
        ``[image_family] family_property``)
    :param ledger: the lock, current state and record of each image: a
        :class:`image_family_svc.db.glance_writes.Ledger`
    :param adapter: a keystoneauth1 ``Adapter`` of Glance (tests);
        by default one from ``[glance]``
    """

    def __init__(self, conf, ledger, adapter=None, clock=None):
        self.conf = conf
        self.ledger = ledger
        opts = conf[GROUP]
        self.names = (conf.image_family.family_property,
                      opts.state_property, opts.successor_property)
        self._adapter = adapter
        self._lock = threading.Lock()
        self._clock = clock or time.monotonic
        #: Until when (``clock``) :meth:`event` leaves changes to the
        #: engine's retries: see :data:`OUTAGE_REST`.
        self._resting_until = None
        self.outage_log = outage.OutageLog(LOG, 'Writing to Glance')

    @property
    def adapter(self):
        with self._lock:
            if self._adapter is None:
                self._adapter = _adapter_from_conf(self.conf)
            return self._adapter

    def _request(self, method, url, ok=(200, 201, 204), **kwargs):
        response = self.adapter.request(url, method, raise_exc=False,
                                        **kwargs)
        if response.status_code < 500 and response.status_code != 408:
            # Glance answered: an outage that was going on is over.
            self.outage_log.succeeded()
        if response.status_code not in ok:
            raise GlanceDriverError(response) from ks_exc.from_response(
                response, method, response.url)
        return response

    def event(self, event):
        """Write (or delete) in Glance the image of a committed change.

        Within :data:`OUTAGE_REST` seconds of a failure because Glance
        is away (:func:`svc_common.outage.passing`), nothing is sent: the
        change stays recorded and the engine's retries write it.  Each
        change waited for Glance's ``timeout`` otherwise: an API request
        that moved several images, and every request after it, waited
        that long once per image while Glance hung.
        """
        payload = event.payload
        image_id = payload.get('image_id')
        if not image_id or event.event_type not in (
                notifications.TRANSITION, notifications.JOIN,
                notifications.LEAVE):
            return
        if self._resting():
            LOG.debug('Glance was away moments ago: %s of image %s is '
                      'left to the engine\'s retries.', event.event_type,
                      image_id)
            return
        try:
            if (event.event_type == notifications.TRANSITION and
                    payload.get('to_state') == lc.DELETED):
                if (self.delete_image(image_id) or
                        self.conf[GROUP].delete_images):
                    # Gone (deleted now, or already): not retried, and
                    # it may leave its family.
                    self.ledger.deleted(image_id)
            self.sync(image_id)
            if (event.event_type == notifications.TRANSITION and
                    becomes_latest(payload)):
                self.precache(payload['latest_id'])
        except Exception as exc:
            if outage.passing(exc):
                with self._lock:
                    self._resting_until = self._clock() + OUTAGE_REST
            raise

    def _resting(self):
        """Whether changes are left to the engine's retries now: within
        :data:`OUTAGE_REST` of an outage, and only while both retries
        are on (``[glance] write_retry_batch`` and
        ``delete_retry_batch``), without which nothing would write them.
        """
        opts = self.conf[GROUP]
        if not (opts.write_retry_batch and opts.delete_retry_batch):
            return False
        with self._lock:
            return (self._resting_until is not None and
                    self._clock() < self._resting_until)

    def sync(self, image_id):
        """Make Glance say the state the database has for ``image_id``
        now, holding the image's lock; returns the patch sent, or None
        if Glance cannot be written yet (the image is still uploading:
        its record stays for the engine's retry, put off longer at each
        check that finds it so, see
        :meth:`image_family_svc.db.glance_writes.Ledger.still_uploading`).

        A failure leaves the image's record too, behind the others.
        """
        with self.ledger.locked(image_id):
            token, state = self.ledger.current(image_id)
            try:
                if state is None:
                    ops = self.write_state(image_id, None, None, None,
                                           missing_ok=True)
                elif state.state == lc.DELETED:
                    # Deleted, not written: see glance_deletes.
                    ops = []
                else:
                    ops = self.write_state(image_id, state.family,
                                           state.state, state.successor_id)
            except Exception:
                if token is not None:
                    self.ledger.postpone(image_id, token)
                raise
            if token is not None:
                if ops is None:
                    self._still_uploading(image_id, token)
                else:
                    self.ledger.done(image_id, token)
            return ops

    def _still_uploading(self, image_id, token):
        checks = self.ledger.still_uploading(image_id, token)
        if checks is None:
            return
        delay = glance_writes.upload_check_delay(checks)
        if (delay == glance_writes.UPLOAD_CHECK_MAX_DELAY and
                glance_writes.upload_check_delay(checks - 1) < delay):
            # Once: from now on it costs a read of Glance an hour.
            LOG.warning('Image %s was still uploading in Glance at %d '
                        'checks in a row: its family and state are '
                        'written once it is active; until then (or its '
                        'next change) it is checked about every %d '
                        'minutes.', image_id, checks, delay // 60)

    def get_image(self, image_id):
        """Glance's image document, or None if Glance has no such image."""
        response = self._request('GET', '/v2/images/%s' % image_id,
                                 ok=(200, 404))
        return None if response.status_code == 404 else response.json()

    def write_state(self, image_id, family, state, successor_id,
                    missing_ok=False):
        """Patch the image so that its properties say ``state``; returns
        the patch sent (empty: nothing differed, or Glance has no such
        image, or one that will never be written: killed), or None when
        its data is still coming (:data:`UPLOADING_STATUSES`).

        ``state`` None removes the family's properties (the image left).
        Callers hold the image's lock: :meth:`sync`.
        """
        image = self.get_image(image_id)
        if image is None:
            if not missing_ok:
                LOG.warning('Image %s is not in Glance: its state %s is '
                            'not written there.', image_id, state)
            return []
        if image.get('status') not in WRITABLE_STATUSES:
            # A PATCH while the data is uploaded writes the image's old
            # status back and makes Glance fail the upload (410/500).
            if image.get('status') not in UPLOADING_STATUSES:
                LOG.warning('Image %s is %s in Glance: its state %s is '
                            'not written there.', image_id,
                            image.get('status'), state)
                return []
            LOG.info('Image %s is %s in Glance: its state %s is written '
                     'once it is active.', image_id, image.get('status'),
                     state)
            return None
        ops = patch_for(image, desired_properties(family, state,
                                                  successor_id, self.names))
        if ops:
            self._request('PATCH', '/v2/images/%s' % image_id, json=ops,
                          headers={'Content-Type': PATCH_TYPE})
            LOG.info('Image %s in Glance now says %s (%s).', image_id,
                     state, ', '.join(op['path'][1:] for op in ops))
        return ops

    def delete_image(self, image_id):
        """Delete the image in Glance; True if it was there."""
        if not self.conf[GROUP].delete_images:
            LOG.info('Image %s is deleted in its family; [glance] '
                     'delete_images is off, so it stays in Glance.',
                     image_id)
            return False
        response = self._request('DELETE', '/v2/images/%s' % image_id,
                                 ok=(204, 404))
        if response.status_code == 204:
            LOG.info('Deleted image %s in Glance: its lifecycle reached '
                     'deleted and no server uses it.', image_id)
        return response.status_code == 204

    def precache(self, image_id):
        """Queue ``image_id`` for the image cache of each configured API
        node; returns the nodes that accepted it."""
        accepted = []
        for url in self.conf[GROUP].cache_api_urls:
            cache_url = '%s/v2/cache/%s' % (url.rstrip('/'), image_id)
            try:
                self._request('PUT', cache_url, ok=(200, 202, 204))
            except GlanceDriverError as error:
                LOG.warning('Glance API node %s did not queue image %s for '
                            'its cache (its image cache may be off): %s',
                            url, image_id, error)
                continue
            except ks_exc.ClientException as error:
                # One node down is no outage of Glance (its write
                # succeeded): not raised, which would skip the next
                # nodes and make the process rest (OUTAGE_REST).
                LOG.warning('Glance API node %s could not be asked to '
                            'queue image %s for its cache: %s', url,
                            image_id, error)
                continue
            accepted.append(url)
        if accepted:
            LOG.info('Image %s queued for the image cache of %s.', image_id,
                     ', '.join(accepted))
        return accepted


def _adapter_from_conf(conf):
    auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
    session = ks_loading.load_session_from_conf_options(conf, GROUP,
                                                        auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, GROUP, session=session,
        service_type=conf[GROUP].service_type or 'image',
        endpoint_override=rest.api_root(conf[GROUP].endpoint_override))


DRIVERS = {'noop': NoopDriver, 'glance': GlanceApiDriver}

# One driver per configuration and database: the API asks for it on
# every request.
_loaded = {}
_loaded_lock = threading.Lock()


def load_driver(conf, db):
    """The driver ``[image_family] glance_driver`` names, made once per
    ``conf`` and ``db`` (a :class:`svc_common.db.database.Database`)."""
    key = (id(conf), id(db))
    with _loaded_lock:
        entry = _loaded.get(key)
        if (entry is not None and entry[0]() is conf and
                entry[1]() is db):
            return entry[2]
        for stale in [k for k, (c, d, _) in _loaded.items()
                      if c() is None or d() is None]:
            del _loaded[stale]
        name = conf.image_family.glance_driver
        if name == 'glance':
            driver = GlanceApiDriver(conf, glance_writes.Ledger(db))
        else:
            driver = DRIVERS[name](conf)
        _loaded[key] = (weakref.ref(conf), weakref.ref(db), driver)
        return driver
