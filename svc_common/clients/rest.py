"""One REST client for every Arbiter API, over keystoneauth1.

Every Arbiter service answers errors in one shape::

    {"errors": [{"status": 409, "code": "limits.over_limit",
                 "title": "Conflict", "detail": "...",
                 "request_id": "req-..."}]}

and pages its lists with ``limit``/``marker`` and a ``next`` link.
:class:`RestClient` speaks that once: a service's client library and its
``openstack`` commands both subclass or use it, so a refusal reaches a
Python caller and a person at a terminal with the same status, code,
detail and request id.

The endpoint comes from the Keystone catalog (the client's
``service_type``) or from ``endpoint_override``; the token from the
session's auth plugin; the microversion is sent as ``OpenStack-API-Version:
<service-type> X.Y`` when one is asked for.  Failures to reach the
service at all are keystoneauth1's own exceptions (``ConnectFailure``
...) and pass through unchanged.
"""

import copy
import logging
import urllib.parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading as ks_loading

LOG = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answer of an Arbiter API (any status of 400 or more).

    ``error`` is the whole first error object, for the fields a service
    adds to the common ones (e.g. limits' ``blocking`` list).
    """

    def __init__(self, status, code=None, title=None, detail=None,
                 request_id=None, error=None):
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.error = error or {}
        super().__init__('%s %s: %s (request %s)' % (
            status, code, detail, request_id))


class NotFound(ApiError):
    """404: no such object (or not visible to the caller)."""


def path_segment(value):
    """``value`` (an ID or a name a person typed) as one segment of a
    URL path: percent-encoded, so that a ``?``, ``#``, ``%`` or
    space in it stays in the segment instead of ending the path or
    starting the query or the fragment (``/v1/vos/#ops`` is a GET of
    the list of VOs).

    :raises ValueError: for ``.`` and ``..``, which HTTP clients and
        servers resolve as relative paths; the empty string, which
        leaves the collection's path (``/v1/pending/`` is the list); and
        anything with a ``/``: WSGI servers decode ``%2F`` in the path
        they hand the application, so ``vm-1%2F`` arrives as ``vm-1/``,
        which the API takes for ``vm-1``, and ``a%2Fb`` as two segments.
        No Arbiter ID is any of them.
    """
    if value in ('', '.', '..'):
        raise ValueError('%r cannot name an object in a URL.' % value)
    if '/' in value:
        raise ValueError('%r cannot name an object in a URL: no ID holds '
                         'a "/".' % value)
    return urllib.parse.quote(value, safe='')


def first_error(response):
    """The first object of the ``errors`` list of an answer.

    An answer not in the shape (a proxy's HTML page, an empty body) gives
    ``{'detail': <its text or reason>}``.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    if (isinstance(body, dict) and isinstance(body.get('errors'), list) and
            body['errors'] and isinstance(body['errors'][0], dict)):
        return body['errors'][0]
    return {'detail': (response.text or '').strip()[:500] or
            getattr(response, 'reason', None)}


def error_from_response(response, cls=None):
    """The :class:`ApiError` (``cls``, or :class:`NotFound` for a 404) of
    an error answer."""
    error = first_error(response)
    if cls is None:
        cls = NotFound if response.status_code == 404 else ApiError
    return cls(response.status_code, code=error.get('code'),
               title=error.get('title'), detail=error.get('detail'),
               request_id=(error.get('request_id') or
                           response.headers.get('x-openstack-request-id')),
               error=error)


def next_href(body):
    """The ``next`` link of a list answer, or None on the last page."""
    for link in body.get('links') or ():
        if link.get('rel') == 'next':
            return link.get('href')
    return None


class RestClient(object):
    """An Arbiter API through a keystoneauth1 ``Adapter``.

    :param session: a keystoneauth1 ``Session``; ignored when ``adapter``
        is given.
    :param adapter: a ready keystoneauth1 ``Adapter``.
    :param service_type: the catalog type; by default the class's
        :attr:`service_type` (a service's ``ServiceSpec.service_type``).
    :param endpoint_override: the API's root URL instead of a catalog
        lookup.  The paths the client asks for start with ``/v1``, so a
        trailing ``/v1`` of the URL is dropped.
    :param microversion: ``'X.Y'`` sent with every request.
    :param additional_headers: headers sent with every request.
    :param adapter_kwargs: anything else keystoneauth1's ``Adapter`` takes
        (``interface``, ``region_name``, ``global_request_id`` ...).
    """

    #: The service's catalog type, set by a subclass.
    service_type = None

    def __init__(self, session=None, adapter=None, service_type=None,
                 endpoint_override=None, microversion=None,
                 additional_headers=None, **adapter_kwargs):
        if adapter is None:
            if session is None:
                raise ValueError('A keystoneauth1 session or adapter is '
                                 'needed.')
            adapter = ks_adapter.Adapter(
                session,
                service_type=service_type or self.service_type,
                endpoint_override=api_root(endpoint_override),
                default_microversion=microversion,
                additional_headers=additional_headers, **adapter_kwargs)
        self.adapter = adapter

    @property
    def session(self):
        return self.adapter.session

    def error_for(self, response):
        """The exception of an error answer; subclasses map their codes
        to their own :class:`ApiError` subclasses here."""
        return error_from_response(response)

    def request(self, method, path, log_body=True, **kwargs):
        """Send one request; the decoded JSON body, or None if empty.

        :param path: ``/v1/...`` (joined to the endpoint) or a complete
            URL such as a ``next`` link.
        :param log_body: False for a request whose body holds a secret
            (an IdP's client secret): keystoneauth1, which logs a
            request's body with its debug line, then logs neither the
            request nor its answer, and this client logs the method, the
            URL and the status instead, without the body.
        :raises ApiError: for any answer of 400 or more.
        """
        if not log_body:
            kwargs['log'] = False
        response = self.adapter.request(path, method, raise_exc=False,
                                        **kwargs)
        if not log_body:
            LOG.debug('%s %s: %s %s (request %s; the request body is not '
                      'logged: it holds a secret)', method, response.url,
                      response.status_code, response.reason,
                      response.headers.get('x-openstack-request-id'))
        if response.status_code >= 400:
            raise self.error_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path, **kwargs):
        return self.request('GET', path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request('POST', path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request('PUT', path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request('PATCH', path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request('DELETE', path, **kwargs)

    def list(self, path, collection, filters=None, limit=None,
             marker=None):
        """The members of a collection, as a generator.

        :param collection: the key of the members in the answer
        :param filters: query parameters; those that are None are left out
        :param limit: one page of at most this many members after
            ``marker`` (the service may cap it lower); without it, every
            member after ``marker``: the ``next`` links are followed to the
            end.
        :raises ApiError: (status None) a ``next`` link comes back.
        """
        params = {name: value for name, value in (filters or {}).items()
                  if value is not None}
        if limit is not None:
            params['limit'] = limit
        if marker is not None:
            params['marker'] = marker
        body = self.get(path, params=params)
        yield from body[collection]
        href = next_href(body)
        followed = set()
        while limit is None and href and body[collection]:
            if href in followed:
                # (A cache that ignores the query string answers every
                # page with the first: the list never ended.)
                raise ApiError(None, detail='The list %s links back to a '
                               'page already read: %s' % (path, href))
            followed.add(href)
            body = self.get(href)
            yield from body[collection]
            href = next_href(body)

    @classmethod
    def from_conf(cls, conf, group, **kwargs):
        """A client configured by keystoneauth1's session, auth and
        adapter options of ``[group]`` (see :func:`register_opts`)."""
        register_opts(conf, group)
        auth = ks_loading.load_auth_from_conf_options(conf, group)
        session = ks_loading.load_session_from_conf_options(conf, group,
                                                            auth=auth)
        adapter = ks_loading.load_adapter_from_conf_options(
            conf, group, session=session,
            service_type=conf[group].service_type or cls.service_type,
            endpoint_override=api_root(conf[group].endpoint_override),
            **kwargs)
        return cls(adapter=adapter)


def api_root(url):
    """``url`` without a trailing ``/v1`` (or ``/``): the clients add the
    version to each path.  None stays None."""
    if not url:
        return url
    url = url.rstrip('/')
    if url.endswith('/v1'):
        url = url[:-len('/v1')]
    return url


def register_opts(conf, group):
    """Register keystoneauth1's session, auth and adapter options."""
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    ks_loading.register_adapter_conf_options(conf, group,
                                             include_deprecated=False)


def list_opts(group):
    """The options of :func:`register_opts`, for the config generator.

    The auth options listed are those of the ``password`` plugins; any
    other keystoneauth1 plugin works through ``auth_type``.
    """
    return [(group, copy.deepcopy(
             ks_loading.get_session_conf_options() +
             ks_loading.get_auth_common_conf_options() +
             ks_loading.get_auth_plugin_conf_options('password') +
             ks_loading.get_adapter_conf_options(include_deprecated=False)))]
