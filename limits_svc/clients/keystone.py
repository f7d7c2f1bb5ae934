"""Read projects and unified limits from Keystone's v3 API.

The identity endpoint comes from the catalog with version discovery, so
both ``http://host:5000/v3`` and ``http://host/identity`` work.
"""

import urllib.parse

from keystoneauth1 import loading as ks_loading

from limits_svc.conf import keystone as keystone_conf


def adapter_from_conf(conf):
    """An identity Adapter built from the ``[keystone]`` group.

    The group's adapter options decide (``valid_interfaces``,
    ``service_type``, ``version`` or ``min_version``/``max_version``);
    where they are not set, the public identity endpoint of the catalog,
    version 3.  Passed as arguments, those defaults won over the options:
    ``valid_interfaces = internal`` was ignored (the sync went to the
    public endpoint, which the engine's hosts may not reach), and
    ``version = 3`` stopped every sync with a TypeError.
    """
    group = keystone_conf.GROUP
    options = conf[group]
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    defaults = {}
    if not options.service_type:
        defaults['service_type'] = 'identity'
    if not (options.valid_interfaces or getattr(options, 'interface', None)):
        defaults['interface'] = 'public'
    if not (options.version or options.min_version or options.max_version):
        defaults.update(min_version='3.0', max_version='3.latest')
    return ks_loading.load_adapter_from_conf_options(
        conf, group, session=session, auth=auth, **defaults)


class TruncatedList(Exception):
    """Keystone cut a list short (``list_limit`` in keystone.conf).

    Keystone does not page these lists: past ``[DEFAULT] list_limit`` (or
    ``[resource]`` / ``[unified_limit] list_limit``) it answers the first
    items and ``"truncated": true``.  A sync from such a list would take
    every project or limit left out as deleted in Keystone.
    """

    def __init__(self, key, count):
        self.key = key
        super().__init__(
            'Keystone answered only the first %d %s ("truncated": its '
            'list_limit is set): nothing was synced, since what it left '
            'out would have been removed. Unset list_limit in '
            'keystone.conf ([DEFAULT], [resource] for projects, '
            '[unified_limit] for limits) or raise it above the number '
            'of %s.' % (count, key, key))


class BadList(TruncatedList):
    """A Keystone list that cannot be read: a page is not a JSON object
    with the list (a proxy's page at the identity endpoint), or its
    ``links.next`` points back to a page already read (the list would
    never end) or to another host than the page's (the request would
    carry the service user's token there).

    Nothing is synced, as for a truncated list, and it is handled where a
    :class:`TruncatedList` is (``limits-manage sync`` says why and exits
    1; ``limits-engine`` logs it and tries again at the next change).
    """

    def __init__(self, key, why):
        self.key = key
        Exception.__init__(
            self, 'Keystone\'s list of %s cannot be read: %s. Nothing was '
            'synced.' % (key, why))


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme.lower(), parts.hostname, parts.port)


def _get_all(adapter, path, key):
    """Every item of a Keystone list, following ``links.next``.

    :raises TruncatedList: Keystone cut the list short.
    :raises BadList: a next link loops or leaves the page's host.
    """
    items = []
    url = path
    seen = set()
    while url:
        response = adapter.get(url, raise_exc=True)
        seen.add(response.url)
        try:
            body = response.json()
        except ValueError:
            raise BadList(key, '%s answered %s, not JSON' % (
                response.url, response.headers.get('Content-Type')))
        if not (isinstance(body, dict) and isinstance(body.get(key), list)):
            raise BadList(key, '%s answered no list of %s' % (
                response.url, key))
        items.extend(body[key])
        if body.get('truncated'):
            raise TruncatedList(key, len(items))
        url = (body.get('links') or {}).get('next')
        if not url:
            break
        url = urllib.parse.urljoin(response.url, url)
        if _origin(url) != _origin(response.url):
            raise BadList(key, 'its next link leads to another host (%s)'
                          % urllib.parse.urlsplit(url).netloc)
        if url in seen:
            raise BadList(key, 'its next link points back to a page '
                          'already read')
    return items


def fetch(adapter):
    """``(projects, registered_limits, limits)`` as Keystone lists them.

    :raises TruncatedList: Keystone cut one of them short.
    """
    return (_get_all(adapter, '/projects', 'projects'),
            _get_all(adapter, '/registered_limits', 'registered_limits'),
            _get_all(adapter, '/limits', 'limits'))
