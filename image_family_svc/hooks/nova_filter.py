"""A Nova scheduler filter: no new servers from images that may not boot.

Enable it in ``nova.conf`` of the scheduler hosts::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = image_family_svc.hooks.nova_filter.ImageFamilyFilter
    enabled_filters = ...,ImageFamilyFilter

    [image_family_filter]
    auth_type = password
    auth_url = https://keystone.example.org/v3
    ...

For each scheduling request the filter asks the image family service
(``GET /v1/images/{image_id}``, as a user with the ``service`` role) whether
the request's image may boot; the service says no for images that are
``obsolete``, ``pending_delete`` or ``deleted``.  Such a request gets no
host (Nova answers NoValidHost) unless it concerns a server that already
exists:

* live migration, cold migration and resize, evacuation and unshelve:
  Nova's conductor restricts these to the server's cell
  (``requested_destination.cell``) or excludes its current host
  (``ignore_hosts``); when neither is set (a cross-cell resize to a chosen
  host that may be the same host) the filter looks the server up in Nova's
  API database: a new server has no cell yet while it is scheduled.
* rebuild with the same image does not reach the scheduler at all.  A
  rebuild with a *new* image does (``_nova_check_type: rebuild``), and is
  checked like a new server: rebuilding onto an obsolete image is starting
  a new server from it.

An image in no family, and a request without an image (boot from volume
without image metadata), pass.  So does an image in a project's family
that Glance (Nova's copy of the image, ``owner``) says another project
owns: a project's family decides the boots of the project's own images
only.  With the ``noop`` Glance driver the service cannot check who owns
an image added through its API, and a member of any project added the
cloud's public image to a family of their own and made it obsolete:
nobody could boot it.  The filter asks once per request, not per
host (:meth:`ImageFamilyFilter.filter_all`), and reuses an answer for
``[image_family_filter] cache_seconds``; when the service cannot be
reached, ``fail_open`` decides.
"""

from oslo_log import log as logging

import nova.conf
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from nova.scheduler import filters
from nova.scheduler import utils as scheduler_utils

from image_family_svc.hooks import cached_lookup
from svc_common.clients import rest

LOG = logging.getLogger(__name__)

GROUP = 'image_family_filter'


def _opts():
    return cached_lookup.opts('refusing new servers from obsolete images')


def register_opts(conf):
    """Register ``[image_family_filter]``: the cache and failure options
    and keystoneauth1's session, auth and adapter options."""
    conf.register_opts(_opts(), group=GROUP)
    rest.register_opts(conf, GROUP)
    cached_lookup.set_defaults(conf, GROUP)


def list_opts():
    """For oslo-config-generator (namespace
    ``image_family_svc.hooks.nova_filter``)."""
    return [(GROUP, _opts() + cached_lookup.with_defaults(
        rest.list_opts(GROUP)[0][1]))]


def image_id_of(spec_obj):
    """The image id of a request, or None (no image, or no id)."""
    if 'image' not in spec_obj or spec_obj.image is None:
        return None
    if 'id' not in spec_obj.image:
        return None
    return spec_obj.image.id


def image_owner_of(spec_obj):
    """The project that owns the request's image in Glance, as Nova read
    it, or None when Nova does not say."""
    if 'image' not in spec_obj or spec_obj.image is None:
        return None
    if 'owner' not in spec_obj.image:
        return None
    return spec_obj.image.owner or None


def decides_for(image, owner):
    """Whether the service's ``image`` view decides the boots of an image
    that project ``owner`` owns (None: not known): a system-owned
    family decides for any image (cloud administrators alone add them), a
    project's family for the project's own only."""
    family_project = image.get('family_project_id')
    return not family_project or owner is None or owner == family_project


def moves_existing_server(spec_obj, has_cell=None):
    """True if ``spec_obj`` schedules a server that already exists.

    :param has_cell: ``f(instance_uuid)``, true if Nova has placed
        the server in a cell; asked only when the request itself does not
        say.  None: do not ask.
    """
    if scheduler_utils.request_is_rebuild(spec_obj):
        # A rebuild reaches the scheduler only with a new image.
        return False
    if ('requested_destination' in spec_obj and
            spec_obj.requested_destination is not None and
            'cell' in spec_obj.requested_destination and
            spec_obj.requested_destination.cell is not None):
        return True
    if 'ignore_hosts' in spec_obj and spec_obj.ignore_hosts:
        return True
    if has_cell is not None and 'instance_uuid' in spec_obj:
        return has_cell(spec_obj.instance_uuid)
    return False


def server_has_cell(instance_uuid):
    """True if Nova's API database maps the server to a cell.

    A server being built for the first time is mapped to no cell until
    the scheduler has chosen its host.
    """
    ctx = nova_context.get_admin_context()
    try:
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            ctx, instance_uuid)
    except nova_exception.InstanceMappingNotFound:
        return False
    return 'cell_mapping' in mapping and mapping.cell_mapping is not None


class ImageFamilyFilter(filters.BaseHostFilter):
    """Refuse every host to a new server from an image that may not boot.

    Options come from Nova's configuration (``nova.conf.CONF``), group
    ``[image_family_filter]``.
    """

    # A rebuild with a new image must be checked too.
    RUN_ON_REBUILD = True
    # Every instance of a multi-create request has the same image.
    run_filter_once_per_request = True

    def __init__(self, conf=None, client=None, has_cell=None):
        """:param conf: Nova's ``CONF`` unless given (tests).
        :param client: an ImageFamilyClient, else one from ``conf``.
        :param has_cell: see :func:`moves_existing_server`; by default
            Nova's API database is asked (:func:`server_has_cell`).
        """
        super().__init__()
        self._conf = conf if conf is not None else nova.conf.CONF
        register_opts(self._conf)
        self._client = client
        self._has_cell = has_cell or server_has_cell
        self._lookup = cached_lookup.CachedLookup(
            self._get_image, self._conf[GROUP].cache_seconds)

    def _get_image(self, image_id):
        if self._client is None:
            self._client = cached_lookup.client_from_conf(self._conf, GROUP)
        return self._client.get_image(image_id)

    def request_passes(self, spec_obj):
        """True if the request may have hosts at all; one question to the
        image family service (or its cached answer)."""
        image_id = image_id_of(spec_obj)
        if image_id is None:
            return True
        try:
            image = self._lookup.get(image_id)
        except cached_lookup.LookupFailed as error:
            fail_open = self._conf[GROUP].fail_open
            LOG.warning('Cannot tell whether image %(image)s may boot '
                        '(%(error)s); %(what)s the request as '
                        '[%(group)s] fail_open says.',
                        {'image': image_id, 'error': error,
                         'what': 'passing' if fail_open else 'refusing',
                         'group': GROUP})
            return fail_open
        if image is None or image.get('may_boot', True):
            return True
        owner = image_owner_of(spec_obj)
        if not decides_for(image, owner):
            LOG.warning('Image %(image)s is %(state)s in family %(family)s '
                        'of project %(project)s, but project %(owner)s owns '
                        'it in Glance: that family does not decide its '
                        'boots; letting the request through.',
                        {'image': image_id, 'state': image.get('state'),
                         'family': image.get('family'),
                         'project': image.get('family_project_id'),
                         'owner': owner})
            return True
        if moves_existing_server(spec_obj, self._has_cell):
            LOG.debug('Image %(image)s is %(state)s; letting the move of '
                      'existing server %(uuid)s through.',
                      {'image': image_id, 'state': image.get('state'),
                       'uuid': (spec_obj.instance_uuid
                                if 'instance_uuid' in spec_obj else None)})
            return True
        LOG.info('Refusing a new server from image %(image)s of family '
                 '%(family)s: it is %(state)s (latest: %(latest)s).',
                 {'image': image_id, 'family': image.get('family'),
                  'state': image.get('state'),
                  'latest': image.get('latest_id')})
        return False

    def filter_all(self, filter_obj_list, spec_obj):
        """All hosts or none: the answer depends on the request only."""
        if self.request_passes(spec_obj):
            return filter_obj_list
        return []

    def host_passes(self, host_state, spec_obj):
        return self.request_passes(spec_obj)
