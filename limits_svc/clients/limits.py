"""A REST client of the limits service (service type ``limits``).

It speaks the ``/v1`` API through a keystoneauth1 :class:`~keystoneauth1.
adapter.Adapter`, so the endpoint comes from the Keystone catalog (or from
``endpoint_override``) and the token from the session's auth plugin::

    from keystoneauth1 import loading
    from limits_svc.clients import limits

    client = limits.LimitsClient(session)
    client.put_allocation(instance_uuid, project_id,
                          {'instances': 1, 'cores': 4, 'ram': 8192})

Error answers become exceptions: ``409 limits.over_limit`` is
:class:`OverLimit`, carrying the service's ``blocking`` list (one entry per
limit that the request would exceed, at whichever level of the project tree
it sits); every other error status is a :class:`ClientError` (404s a
:class:`NotFound`) with the status, code, title, detail and request id of
the service's error body. Failures to reach the service at all are
keystoneauth1's own exceptions (``ConnectFailure`` ...) and pass through.

The ``[arbiter_limits]`` option group (keystoneauth1 session, auth and
adapter options) tells :func:`from_conf` how to reach the service.
"""

import copy

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

SERVICE_TYPE = 'limits'
GROUP = 'arbiter_limits'
OVER_LIMIT = 'limits.over_limit'
ALLOCATION_NOT_FOUND = 'limits.allocation_not_found'


class ClientError(Exception):
    """An error answer of the limits service."""

    def __init__(self, status, code=None, title=None, detail=None,
                 request_id=None, error=None):
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        # The whole error object, for fields beyond the common ones.
        self.error = error or {}
        super().__init__('%s %s: %s (request %s)' % (
            status, code, detail, request_id))


class NotFound(ClientError):
    """404: no such allocation, project or limit (or not visible)."""


class OverLimit(ClientError):
    """409 ``limits.over_limit``: the request would exceed some limit.

    ``blocking`` is the service's list of ``{project_id, resource, scope,
    limit, usage, delta}``, one per exceeded limit.
    """

    @property
    def blocking(self):
        return self.error.get('blocking', [])


def _error_from(resp):
    try:
        body = resp.json()
        error = body['errors'][0]
    except (ValueError, KeyError, IndexError, TypeError):
        error = {'detail': resp.text[:500]}
    cls = ClientError
    if resp.status_code == 404:
        cls = NotFound
    elif resp.status_code == 409 and error.get('code') == OVER_LIMIT:
        cls = OverLimit
    return cls(resp.status_code, code=error.get('code'),
               title=error.get('title'), detail=error.get('detail'),
               request_id=error.get('request_id') or resp.headers.get(
                   'x-openstack-request-id'), error=error)


class LimitsClient:
    """The limits service's ``/v1`` API, one method per call.

    :param session: a keystoneauth1 ``Session``; ignored when ``adapter``
        is given.
    :param adapter: a ready keystoneauth1 ``Adapter`` (for example from
        :func:`from_conf`).
    :param endpoint_override: the service's URL (``http://host:9870``)
        instead of a catalog lookup.
    :param additional_headers: headers sent with every request, e.g. the
        identity headers of a ``noauth`` deployment or of a test.
    :param adapter_kwargs: anything else keystoneauth1's ``Adapter`` takes
        (``interface``, ``region_name``, ``global_request_id`` ...).
    """

    def __init__(self, session=None, adapter=None, endpoint_override=None,
                 additional_headers=None, **adapter_kwargs):
        if adapter is None:
            if session is None:
                raise ValueError('A keystoneauth1 session or adapter is '
                                 'needed.')
            adapter_kwargs.setdefault('service_type', SERVICE_TYPE)
            adapter = ks_adapter.Adapter(
                session, endpoint_override=endpoint_override,
                additional_headers=additional_headers, **adapter_kwargs)
        self.adapter = adapter

    def _call(self, method, url, ok=(200,), **kwargs):
        resp = self.adapter.request(url, method, raise_exc=False, **kwargs)
        if resp.status_code not in ok:
            raise _error_from(resp)
        return resp.json() if resp.status_code != 204 else None

    # -- allocations -------------------------------------------------------

    def put_allocation(self, consumer_id, project_id, resources,
                       expires_in=None):
        """Set (or replace) the consumer's allocation; all of it or none.

        With ``expires_in`` (seconds) the allocation is a reservation that
        frees itself unless a later call without ``expires_in`` confirms it.

        :returns: ``{consumer_id, project_id, resources, expires_at}``
        :raises OverLimit: when some limit of the project's tree refuses.
        """
        body = {'project_id': project_id, 'resources': dict(resources)}
        if expires_in is not None:
            body['expires_in'] = int(expires_in)
        return self._call('PUT', '/v1/allocations/%s' % consumer_id,
                          json=body)['allocation']

    def delete_allocation(self, consumer_id, missing_ok=True):
        """Free the consumer's allocation.

        :returns: True if there was one, False if there was none and
            ``missing_ok`` (otherwise :class:`NotFound` is raised).
        """
        try:
            self._call('DELETE', '/v1/allocations/%s' % consumer_id,
                       ok=(204,))
        except NotFound as exc:
            if missing_ok and exc.code == ALLOCATION_NOT_FOUND:
                return False
            raise
        return True

    def get_allocation(self, consumer_id):
        """The consumer's allocation, or None if it has none."""
        try:
            return self._call('GET', '/v1/allocations/%s'
                              % consumer_id)['allocation']
        except NotFound as exc:
            if exc.code == ALLOCATION_NOT_FOUND:
                return None
            raise

    def list_allocations(self, project_id=None, page_size=None):
        """Every allocation (of one project), following the pages."""
        params = {}
        if project_id is not None:
            params['project_id'] = project_id
        if page_size is not None:
            params['limit'] = page_size
        while True:
            page = self._call('GET', '/v1/allocations',
                              params=params)['allocations']
            yield from page
            if not page:
                return
            params['marker'] = page[-1]['consumer_id']

    # -- checks and reports ------------------------------------------------

    def enforce(self, project_id, resources, consumer_id=None):
        """Dry run: would these resources fit? Nothing is written.

        ``resources`` are added to the project's usage, or, with
        ``consumer_id``, replace that consumer's current allocation.

        :returns: ``{allowed, deltas, blocking}``
        """
        body = {'project_id': project_id, 'resources': dict(resources)}
        if consumer_id is not None:
            body['consumer_id'] = consumer_id
        return self._call('POST', '/v1/enforce', json=body)

    def usage(self, project_id, subtree=False):
        """Limits and usage of the project (and of its subtree).

        :returns: ``{project_id, subtree, projects: [{project_id,
            parent_id, depth, resources: {name: {own_limit, subtree_limit,
            own_usage, subtree_usage}}}]}``
        """
        return self._call('GET', '/v1/projects/%s/usage' % project_id,
                          params={'subtree': 'true' if subtree else
                                  'false'})

    def reconcile_usage(self, project_id, resources):
        """Set the project's own usage to an outside count.

        :returns: ``{project_id, adjusted: {name: delta}}``
        """
        return self._call('PUT', '/v1/usages/%s' % project_id,
                          json={'resources': dict(resources)})

    def registered_limits(self, resource_name=None):
        """The registered (default) limits, optionally of one resource."""
        params = {}
        if resource_name is not None:
            params['resource_name'] = resource_name
        return self._call('GET', '/v1/registered_limits',
                          params=params)['registered_limits']


# --------------------------------------------------------------------------
# Configuration: the [arbiter_limits] group
# --------------------------------------------------------------------------

def register_opts(conf, group=GROUP):
    """Register keystoneauth1's session, auth and adapter options."""
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    ks_loading.register_adapter_conf_options(conf, group,
                                             include_deprecated=False)


def list_opts():
    """The keystoneauth1 options of ``[arbiter_limits]``, as in oslo.limit.

    The auth options listed are those of the ``password`` plugins; any
    other keystoneauth1 plugin works through ``auth_type``.
    """
    return [(GROUP, copy.deepcopy(
        ks_loading.get_session_conf_options() +
        ks_loading.get_auth_common_conf_options() +
        ks_loading.get_auth_plugin_conf_options('password') +
        ks_loading.get_adapter_conf_options(include_deprecated=False)))]


def from_conf(conf=None, group=GROUP, additional_headers=None):
    """A :class:`LimitsClient` configured by the ``[arbiter_limits]`` group.

    :param conf: a ``ConfigOpts``; ``oslo_config.cfg.CONF`` only when
        None, as services that use oslo.limit today keep their options
        there.
    """
    conf = cfg.CONF if conf is None else conf
    register_opts(conf, group)
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    adapter = ks_loading.load_adapter_from_conf_options(
        conf, group, session=session,
        service_type=conf[group].service_type or SERVICE_TYPE,
        additional_headers=additional_headers)
    return LimitsClient(adapter=adapter)
