"""Read projects and unified limits from Keystone's v3 API.

The identity endpoint comes from the catalog with version discovery, so
both ``http://host:5000/v3`` and ``http://host/identity`` work.
"""

from keystoneauth1 import loading as ks_loading

from limits_svc.conf import keystone as keystone_conf


def adapter_from_conf(conf):
    """An identity Adapter built from the ``[keystone]`` group."""
    group = keystone_conf.GROUP
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, group, session=session, auth=auth, service_type='identity',
        interface='public', min_version='3.0', max_version='3.latest')


def _get_all(adapter, path, key):
    """Every item of a Keystone list, following ``links.next``."""
    items = []
    url = path
    while url:
        body = adapter.get(url, raise_exc=True).json()
        items.extend(body[key])
        url = (body.get('links') or {}).get('next')
    return items


def fetch(adapter):
    """``(projects, registered_limits, limits)`` as Keystone lists them."""
    return (_get_all(adapter, '/projects', 'projects'),
            _get_all(adapter, '/registered_limits', 'registered_limits'),
            _get_all(adapter, '/limits', 'limits'))
