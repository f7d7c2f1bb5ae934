"""Which servers use an image, asked of Nova's and Cinder's APIs.

For the usage reconciliation of ``image-family-engine``
(:mod:`image_family_svc.usage_reconcile`); both calls go through
keystoneauth1 adapters (``[nova]`` and ``[cinder]`` groups) and read
every project's resources, so the credentials need the admin role (or
whatever the clouds' policies ask for ``all_tenants``).

* Nova: ``GET /servers/detail?image=<id>&all_tenants=1``, a page of
  ``limit`` servers after ``marker`` at a time, as long as a page is full
  or names a next one (Nova may cap ``limit`` lower).  A server that never got
  a host (a build that failed in the scheduler, ``ERROR``) does not use
  the image and is not counted; a shelved-offloaded one is (it comes
  back from it), and so is one still building (``BUILD``: the compute
  host announces the build's start before it sets the server's host).
  A volume-backed server has no ``image`` in Nova's answer and is not
  found this way.
* Cinder: ``GET /volumes/detail?all_tenants=1``; a volume created from an
  image carries ``volume_image_metadata.image_id``, and the servers it is
  attached to are in ``attachments[].server_id``
  (:func:`volume_backed_servers`).
"""

import collections

#: Nova's host attribute in an admin's server view.
HOST = 'OS-EXT-SRV-ATTR:host'
#: Nova 2.1 and later know ``all_tenants`` and the host attribute.
NOVA_MICROVERSION = '2.1'


class ComputeError(Exception):
    """Nova or Cinder refused a request of the reconciliation."""

    def __init__(self, response):
        self.status_code = response.status_code
        super().__init__('%s -> %d: %s' % (response.url,
                                           response.status_code,
                                           (response.text or '')[:500]))


def _get(adapter, path, params, **kwargs):
    response = adapter.get(path, params=params, raise_exc=False, **kwargs)
    if response.status_code != 200:
        raise ComputeError(response)
    return response.json()


def _more(body, links, page, page_size):
    """Whether another page follows ``page`` of the answer ``body``: it
    names a ``next`` page in ``links`` (``servers_links``,
    ``volumes_links``), or it is full.

    Nova and Cinder cap a page at their own ``[api] max_limit``
    (``osapi_max_limit``), which may be below ``page_size``: a page
    shorter than asked for was taken for the last one, and the servers
    after it went uncounted (their images could be deleted under them).
    They name the next page whenever a page is full at their cap.
    """
    if not page:
        return False
    if len(page) >= page_size:
        return True
    return any(isinstance(link, dict) and link.get('rel') == 'next'
               for link in body.get(links) or ())


def uses_image(server):
    """True if a server (Nova's admin view) holds on to its image."""
    return bool(server.get(HOST)) or server.get('status') in (
        'BUILD', 'SHELVED_OFFLOADED')


def servers_of_image(adapter, image_id, page_size=500):
    """The ids of every project's servers that run from ``image_id``."""
    found = set()
    marker = None
    while True:
        params = {'image': image_id, 'all_tenants': 1, 'limit': page_size}
        if marker:
            params['marker'] = marker
        body = _get(adapter, '/servers/detail', params,
                    microversion=NOVA_MICROVERSION)
        page = body['servers']
        found.update(s['id'] for s in page if uses_image(s))
        if not _more(body, 'servers_links', page, page_size):
            return found
        marker = page[-1]['id']


def volume_backed_servers(volumes):
    """``{image_id: {server_id, ...}}`` of the volumes of Cinder's
    ``/volumes/detail`` answer that were created from an image and are
    attached to a server."""
    by_image = collections.defaultdict(set)
    for volume in volumes:
        image_id = (volume.get('volume_image_metadata') or {}).get(
            'image_id')
        if not image_id:
            continue
        for attachment in volume.get('attachments') or ():
            server_id = attachment.get('server_id')
            if server_id:
                by_image[image_id].add(server_id)
    return dict(by_image)


def list_volumes(adapter, page_size=500):
    """Every project's volumes (Cinder v3), page by page."""
    volumes = []
    marker = None
    while True:
        params = {'all_tenants': 1, 'limit': page_size}
        if marker:
            params['marker'] = marker
        body = _get(adapter, '/volumes/detail', params)
        page = body['volumes']
        volumes.extend(page)
        if not _more(body, 'volumes_links', page, page_size):
            return volumes
        marker = page[-1]['id']
