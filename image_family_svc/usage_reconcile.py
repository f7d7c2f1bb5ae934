"""The usage reconciliation of ``image-family-engine`` (leader only).

Every ``[image_family] usage_reconcile_interval`` seconds, for each image
of every family that is not deleted: ask Nova which servers run from it
(:func:`image_family_svc.clients.compute.servers_of_image`), add the
volume-backed servers that Cinder's ``volume_image_metadata`` names
where Cinder is available (``[cinder] enabled``: ``auto``, the default,
when the catalog has a ``block-storage``/``volumev3`` endpoint; ``true``;
``false``), and make the service's record say the same
(:func:`image_family_svc.db.reconcile.set_servers`): a server counts
for the image it runs from and for each image its volumes were made
from.  Corrections are
logged; a ``pending_delete`` image found unused is deleted, and the
deletion submitted to the engine's
:class:`image_family_svc.notifications.Announcer` (which announces it and
tells the Glance driver, after what the listener submitted before).  One
image at a time, so that the engine can stop between two.
"""

import logging

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading

from image_family_svc.clients import compute
from image_family_svc.db import reconcile as reconcile_db
from svc_common.clients import rest
from svc_common import context

LOG = logging.getLogger(__name__)


def adapter_from_conf(conf, group, service_type):
    """A keystoneauth1 adapter configured by ``[group]``."""
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, group, session=session,
        service_type=conf[group].service_type or service_type,
        endpoint_override=rest.api_root(conf[group].endpoint_override))


def has_endpoint(adapter):
    """True if ``adapter`` finds an endpoint: its ``endpoint_override``,
    or its service type in the catalog (keystoneauth1 knows the aliases:
    ``block-storage`` also finds ``volumev3``)."""
    try:
        return bool(adapter.get_endpoint())
    except (ks_exc.CatalogException, ks_exc.MissingAuthPlugin):
        return False


class Reconciler(object):
    """One reconciliation per :meth:`run` (see the module documentation).

    :param nova: a keystoneauth1 adapter of Nova; by default from
        ``[nova]``
    :param cinder: one of Cinder's v3 API; by default from ``[cinder]``
        (used as ``[cinder] enabled`` says)
    :param announcer: the engine's
        :class:`image_family_svc.notifications.Announcer`, to
        which each image's events are submitted; without one they are not
        announced
    :param stopping: a callable, true when the engine stops
    """

    def __init__(self, conf, db, announcer=None, nova=None, cinder=None,
                 stopping=None):
        self.conf = conf
        self.db = db
        self.announcer = announcer
        self._nova = nova
        self._cinder = cinder
        self._stopping = stopping or (lambda: False)
        self.ctx = context.admin_context()
        self.ctx.user_id = 'image-family-engine'

    @property
    def nova(self):
        if self._nova is None:
            self._nova = adapter_from_conf(self.conf, 'nova', 'compute')
        return self._nova

    @property
    def cinder(self):
        """Cinder's adapter for this run, or None when volume-backed
        servers are not counted: ``[cinder] enabled = false``, or
        ``auto`` and no block-storage endpoint (asked at each run, so
        that a Cinder added to the cloud later is used)."""
        mode = self.conf.cinder.enabled
        if mode == 'false':
            return None
        if self._cinder is None:
            self._cinder = adapter_from_conf(self.conf, 'cinder',
                                             'block-storage')
        if mode == 'auto' and not has_endpoint(self._cinder):
            return None
        return self._cinder

    def _volume_backed(self):
        """``{image_id: server_ids}`` of Cinder's volumes; ``{}`` with
        ``[cinder] enabled = false`` (the volumes recorded are
        forgotten), None when ``auto`` finds no endpoint: the volumes
        recorded stay counted (a catalog that lost Cinder's endpoint for
        a while forgot them all, and the images only volumes held were
        deleted under them)."""
        cinder = self.cinder
        if cinder is None:
            return {} if self.conf.cinder.enabled == 'false' else None
        return compute.volume_backed_servers(compute.list_volumes(
            cinder, self.conf.cinder.page_size))

    def run(self):
        """Reconcile every member; returns ``{image_id: (before, after)}``
        of the counts that changed."""
        listed_at = reconcile_db.database_now(self.db, self.ctx)
        volume_backed = self._volume_backed()
        corrected = {}
        members = reconcile_db.member_image_ids(self.db, self.ctx)
        for image_id in members:
            if self._stopping():
                break
            started = reconcile_db.database_now(self.db, self.ctx)
            servers = compute.servers_of_image(
                self.nova, image_id, self.conf.nova.page_size)
            before, after, events = reconcile_db.set_servers(
                self.db, self.ctx, image_id, servers, started,
                self.conf.image_family.obsolete_drain_seconds,
                from_volumes=None if volume_backed is None else
                volume_backed.get(image_id, ()),
                volumes_listed_at=listed_at, volume_backed=volume_backed)
            if self.announcer is not None:
                self.announcer.submit(self.ctx, events)
            if before is not None and before != after:
                LOG.warning('Image %s: %d server(s) counted, Nova (and '
                            'Cinder) list %d; corrected.', image_id, before,
                            after)
                corrected[image_id] = (before, after)
        return corrected
