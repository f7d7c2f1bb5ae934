"""A REST client of the limits service (service type ``limits``).

It is the shared :class:`svc_common.clients.rest.RestClient` with the
limits calls and errors: it speaks the ``/v1`` API through a keystoneauth1
``Adapter``, so the endpoint comes from the Keystone catalog (or from
``endpoint_override``) and the token from the session's auth plugin::

    from keystoneauth1 import loading
    from limits_svc.clients import limits

    client = limits.LimitsClient(session)
    client.put_allocation(instance_uuid, project_id,
                          {'instances': 1, 'cores': 4, 'ram': 8192})

Error answers become exceptions: ``409 limits.over_limit`` is
:class:`OverLimit`, carrying the service's ``blocking`` list (one entry per
limit that the request would exceed, at whichever level of the project tree
it sits), and ``409 limits.project_deleted`` its subclass
:class:`ProjectDeleted` (the project was deleted in Keystone: what it
holds may only shrink or be freed); every other error status is a
:class:`ClientError` (404s a
:class:`NotFound`) with the status, code, title, detail and request id of
the service's error body. A success answer that is not the API's (not
JSON, or an allocation or decision missing) is a :class:`BadAnswer`.
Failures to reach the service at all are keystoneauth1's own exceptions
(``ConnectFailure`` ...) and pass through.

The ``[arbiter_limits]`` option group (keystoneauth1 session, auth and
adapter options) tells :func:`from_conf` how to reach the service.
"""

from oslo_config import cfg

from svc_common.clients import rest

SERVICE_TYPE = 'limits'
GROUP = 'arbiter_limits'
OVER_LIMIT = 'limits.over_limit'
ALLOCATION_NOT_FOUND = 'limits.allocation_not_found'
ALLOCATION_ABSENT = 'limits.allocation_absent'
ALLOCATION_EXISTS = 'limits.allocation_exists'
ALLOCATION_CHANGED = 'limits.allocation_changed'
PROJECT_DELETED = 'limits.project_deleted'

#: Any error answer of the limits service (see svc_common.clients.rest).
ClientError = rest.ApiError
#: 404: no such allocation, project or limit (or not visible).
NotFound = rest.NotFound

#: Seconds the client waits for each answer when ``[arbiter_limits]`` sets
#: no ``timeout``. keystoneauth1's own default is to wait for ever: a
#: limits service that took the connection and never answered held every
#: Nova boot, resize and delete that called the hook, for ever.
DEFAULT_TIMEOUT = 10


_BLOCKING_FIELDS = {'project_id': str, 'resource': str, 'scope': str,
                    'limit': int, 'usage': int, 'delta': int}


def _is_blocking_entry(entry):
    return isinstance(entry, dict) and all(
        isinstance(entry.get(name), kind) and
        not isinstance(entry.get(name), bool)
        for name, kind in _BLOCKING_FIELDS.items())


class OverLimit(rest.ApiError):
    """409 ``limits.over_limit``: the request would exceed some limit.

    ``blocking`` is the service's list of ``{project_id, resource, scope,
    limit, usage, delta}``, one per exceeded limit. Entries not of that
    shape are left out (a refusal is a refusal even when its list cannot
    be read): the list may be empty.
    """

    @property
    def blocking(self):
        entries = self.error.get('blocking')
        if not isinstance(entries, list):
            return []
        return [entry for entry in entries if _is_blocking_entry(entry)]


class ProjectDeleted(OverLimit):
    """409 ``limits.project_deleted``: the allocation would grow in a
    project that was deleted in Keystone (or below one), which the
    service keeps only until its allocations are freed: they may only
    shrink, move to another project or be freed.

    An :class:`OverLimit` with no ``blocking`` entries, so that a caller
    that handles a refusal handles this one too; ``detail`` says what
    happened.
    """


class BadAnswer(rest.ApiError):
    """A success answer that is not the limits API's: not JSON, or not of
    the call's shape (a proxy's or another service's page at the
    configured endpoint). ``status`` is the answer's (a 2xx), ``code``
    None; whether the request was carried out is unknown."""

    def __init__(self, what, status=None, request_id=None):
        super().__init__(status, detail='Not an answer of the limits API: '
                         '%s' % what, request_id=request_id)


_REFUSALS = {OVER_LIMIT: OverLimit, PROJECT_DELETED: ProjectDeleted}


def error_for(response):
    """The exception of an error answer: :class:`OverLimit` for a 409
    ``limits.over_limit``, :class:`ProjectDeleted` for a 409
    ``limits.project_deleted``, otherwise as every Arbiter client
    does."""
    if response.status_code == 409:
        code = rest.first_error(response).get('code')
        refusal = _REFUSALS.get(code) if isinstance(code, str) else None
        if refusal is not None:
            return rest.error_from_response(response, refusal)
    return rest.error_from_response(response)


def _segment(value):
    """A consumer or project id as one segment of a URL path.

    Percent-encoded: a ``?`` or ``#`` in an id otherwise ended the
    path (``delete_allocation('vm-1?x')`` freed ``vm-1``).

    :raises ValueError: for ids no URL path can hold ('', '.', '..', and
        any with a ``/``).
    """
    return rest.path_segment(str(value))


def _if_match(generation):
    """The ``If-Match`` header of an allocation's ``generation``."""
    return {'If-Match': '"%d"' % int(generation)}


def _conditions(only_existing=False, generation=None, only_absent=False,
                unless_generations=None):
    """The conditional headers of a write of an allocation.

    ``unless_generations`` (generations of allocations the caller read or
    wrote) is ``If-None-Match`` with their ETags: the write proceeds only
    if the consumer's live allocation is none of them.  An empty one is
    no condition (no allocation is one of nothing), and no header is
    sent: the service refuses an ``If-None-Match`` that names no ETag.

    :raises ValueError: ``only_absent`` with ``unless_generations`` (one
        ``If-None-Match`` cannot say both), or a generation that is not
        a whole number of at least 0 (no allocation's ETag; ``True`` is
        refused, not sent as 1).
    """
    headers = {}
    if only_existing:
        headers['If-Match'] = '*'
    if generation is not None:
        headers.update(_if_match(generation))
    if only_absent:
        headers['If-None-Match'] = '*'
    if unless_generations is not None:
        unwanted = list(unless_generations)
        for value in unwanted:
            if (isinstance(value, bool) or not isinstance(value, int) or
                    value < 0):
                raise ValueError('unless_generations holds %r, not the '
                                 'generation of an allocation' % (value,))
        if only_absent:
            raise ValueError('only_absent and unless_generations both set '
                             'If-None-Match; give one of them')
        if unwanted:
            headers['If-None-Match'] = ', '.join(
                '"%d"' % value for value in sorted(set(unwanted)))
    return headers


def _usage_page(page, project_id, first=True):
    """A page of a usage report, checked for the fields the callers read
    (a list of projects with their resources; the first page names one
    at least).

    :raises BadAnswer: a page of another shape.
    """
    projects = page.get('projects') if isinstance(page, dict) else None
    if not (isinstance(projects, list) and
            all(isinstance(p, dict) and isinstance(p.get('resources'), dict)
                for p in projects) and (projects or not first)):
        raise BadAnswer('GET /v1/projects/%s/usage answered no report'
                        % project_id)
    return page


class LimitsClient(rest.RestClient):
    """The limits service's ``/v1`` API, one method per call.

    Built like every :class:`svc_common.clients.rest.RestClient`: from a
    keystoneauth1 ``session`` (with ``endpoint_override``,
    ``additional_headers``, ``microversion`` and any ``Adapter`` argument)
    or a ready ``adapter`` (for example from :func:`from_conf`).
    """

    service_type = SERVICE_TYPE

    def error_for(self, response):
        return error_for(response)

    def request(self, method, path, **kwargs):
        """As :meth:`RestClient.request`, except that a success answer
        whose body is not JSON raises :class:`BadAnswer` (with its status)
        instead of ``ValueError``."""
        response = self.adapter.request(path, method, raise_exc=False,
                                        **kwargs)
        if response.status_code >= 400:
            raise self.error_for(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise BadAnswer(
                '%s %s answered a body that is not JSON (%s)'
                % (method, path, exc), status=response.status_code,
                request_id=response.headers.get('x-openstack-request-id'))

    # -- allocations -------------------------------------------------------

    def put_allocation(self, consumer_id, project_id, resources,
                       expires_in=None, only_existing=False,
                       only_absent=False, generation=None,
                       unless_generations=None):
        """Set (or replace) the consumer's allocation; all of it or none.

        With ``expires_in`` (seconds) the allocation is a reservation that
        frees itself unless a later call without ``expires_in`` confirms it.
        With ``only_existing`` the call replaces the consumer's allocation
        and never makes one (``If-Match: *``): a consumer freed meanwhile
        stays freed. With ``only_absent`` the call makes the consumer's
        allocation and never replaces one (``If-None-Match: *``): a
        request that reaches the service after a retry of it, and after
        what the caller did next, changes nothing. With ``generation``
        (the ``generation`` of an allocation this client read or wrote)
        the call replaces that allocation only (``If-Match:
        "<generation>"``): if any write or free came in between, it
        writes nothing. With ``unless_generations`` (generations of
        allocations this client read or wrote) the call writes only if
        the consumer's allocation is none of them (``If-None-Match:
        "<g1>", "<g2>"``): a call that lands after one of those writes,
        and after nothing since, changes nothing. ``only_absent`` and
        ``unless_generations`` exclude each other (``ValueError``).

        :returns: ``{consumer_id, project_id, resources, expires_at,
            generation}`` (``generation`` is None when nothing is left)
        :raises OverLimit: when some limit of the project's tree refuses;
            :class:`ProjectDeleted` when the allocation would grow in a
            project deleted in Keystone (or below one).
        :raises ClientError: ``412 limits.allocation_absent`` when
            ``only_existing`` and the consumer has no allocation, ``412
            limits.allocation_exists`` when ``only_absent`` and it has
            one or one of ``unless_generations``, ``412
            limits.allocation_changed`` when ``generation`` is not the
            allocation's any more.
        """
        headers = _conditions(only_existing, generation, only_absent,
                              unless_generations)
        body = {'project_id': project_id, 'resources': dict(resources)}
        if expires_in is not None:
            body['expires_in'] = int(expires_in)
        answer = self.put('/v1/allocations/%s' % _segment(consumer_id),
                          json=body, headers=headers)
        if not (isinstance(answer, dict) and
                isinstance(answer.get('allocation'), dict)):
            raise BadAnswer('PUT /v1/allocations/%s answered no allocation'
                            % consumer_id)
        return answer['allocation']

    def delete_allocation(self, consumer_id, missing_ok=True,
                          generation=None, unless_generations=None):
        """Free the consumer's allocation.

        With ``generation``, free that allocation only (``If-Match``):
        one written or freed since, or a reservation that expired, raises
        a :class:`ClientError` ``412 limits.allocation_changed`` (also
        when there is none: ``missing_ok`` does not apply). With
        ``unless_generations``, free it only if it is none of those
        allocations (``If-None-Match``): one of them raises a
        :class:`ClientError` ``412 limits.allocation_exists``.

        :returns: True if there was one, False if there was none and
            ``missing_ok`` (otherwise :class:`NotFound` is raised).
        """
        headers = _conditions(generation=generation,
                              unless_generations=unless_generations)
        try:
            self.delete('/v1/allocations/%s' % _segment(consumer_id),
                        headers=headers)
        except NotFound as exc:
            if missing_ok and exc.code == ALLOCATION_NOT_FOUND:
                return False
            raise
        return True

    def get_allocation(self, consumer_id):
        """The consumer's allocation, or None if it has none.

        :raises BadAnswer: an answer with no allocation.
        """
        try:
            answer = self.get('/v1/allocations/%s' % _segment(consumer_id))
        except NotFound as exc:
            if exc.code == ALLOCATION_NOT_FOUND:
                return None
            raise
        if not (isinstance(answer, dict) and
                isinstance(answer.get('allocation'), dict)):
            raise BadAnswer('GET /v1/allocations/%s answered no allocation'
                            % consumer_id)
        return answer['allocation']

    def list_allocations(self, project_id=None, page_size=None):
        """Every allocation (of one project), following the pages.

        :raises BadAnswer: a page that is no list of allocations.
        """
        pages = self.list('/v1/allocations', 'allocations',
                          {'project_id': project_id, 'limit': page_size})
        try:
            for allocation in pages:
                if not isinstance(allocation, dict):
                    raise BadAnswer('GET /v1/allocations answered an '
                                    'allocation that is not an object')
                yield allocation
        except (KeyError, TypeError):
            # A page without its list (RestClient.list reads it).
            raise BadAnswer('GET /v1/allocations answered no list of '
                            'allocations')

    # -- checks and reports ------------------------------------------------

    def enforce(self, project_id, resources, consumer_id=None):
        """Dry run: would these resources fit? Nothing is written.

        ``resources`` are added to the project's usage, or, with
        ``consumer_id``, replace that consumer's current allocation.

        :returns: ``{allowed, deltas, blocking}``
        :raises ProjectDeleted: they would grow in a project deleted in
            Keystone (or below one), as the allocation would be refused.
        """
        body = {'project_id': project_id, 'resources': dict(resources)}
        if consumer_id is not None:
            body['consumer_id'] = consumer_id
        answer = self.post('/v1/enforce', json=body)
        if not (isinstance(answer, dict) and
                isinstance(answer.get('allowed'), bool) and
                isinstance(answer.get('blocking'), list) and
                all(_is_blocking_entry(e) for e in answer['blocking']) and
                (answer['allowed'] or answer['blocking'])):
            raise BadAnswer('POST /v1/enforce answered no decision')
        return answer

    def usage(self, project_id, subtree=False):
        """Limits and usage of the project (and of its subtree).

        :returns: ``{project_id, subtree, projects: [{project_id,
            parent_id, depth, resources: {name: {own_limit, subtree_limit,
            own_usage, subtree_usage}}}]}``, every page of a subtree's
            report (the ``next`` links are followed).
        :raises BadAnswer: a ``next`` link comes back (a cache that
            ignores the query string answers every page with the first):
            the report was read for ever, growing in memory.
        """
        report = _usage_page(self.get(
            '/v1/projects/%s/usage' % _segment(project_id),
            params={'subtree': 'true' if subtree else 'false'}), project_id)
        href = rest.next_href(report)
        followed = set()
        while href:
            if href in followed:
                raise BadAnswer('the usage report of %s links back to a '
                                'page already read (%s)' % (project_id,
                                                            href))
            followed.add(href)
            page = _usage_page(self.get(href), project_id, first=False)
            report['projects'].extend(page['projects'])
            href = rest.next_href(page) if page['projects'] else None
        report.pop('links', None)
        return report

    def reconcile_usage(self, project_id, resources):
        """Set the project's own usage to an outside count.

        :returns: ``{project_id, adjusted: {name: delta}}``
        """
        return self.put('/v1/usages/%s' % _segment(project_id),
                        json={'resources': dict(resources)})

    def registered_limits(self, resource_name=None):
        """The registered (default) limits, optionally of one resource.

        :raises BadAnswer: an answer with no list of registered limits
            (each an object with an integer ``default_limit``).
        """
        params = {}
        if resource_name is not None:
            params['resource_name'] = resource_name
        answer = self.get('/v1/registered_limits', params=params)
        rows = (answer.get('registered_limits')
                if isinstance(answer, dict) else None)
        if not (isinstance(rows, list) and all(
                isinstance(row, dict) and
                isinstance(row.get('default_limit'), int) and
                not isinstance(row.get('default_limit'), bool)
                for row in rows)):
            raise BadAnswer('GET /v1/registered_limits answered no list of '
                            'registered limits')
        return rows


# --------------------------------------------------------------------------
# Configuration: the [arbiter_limits] group
# --------------------------------------------------------------------------

def register_opts(conf, group=GROUP):
    """Register keystoneauth1's session, auth and adapter options, with
    :data:`DEFAULT_TIMEOUT` as the ``timeout`` default."""
    rest.register_opts(conf, group)
    conf.set_default('timeout', DEFAULT_TIMEOUT, group=group)


def list_opts():
    """The keystoneauth1 options of ``[arbiter_limits]``, as in oslo.limit,
    with the client's ``timeout`` default."""
    [(group, opts)] = rest.list_opts(GROUP)
    for opt in opts:
        if opt.dest == 'timeout':
            opt.default = DEFAULT_TIMEOUT
    return [(group, opts)]


def from_conf(conf=None, group=GROUP, additional_headers=None):
    """A :class:`LimitsClient` configured by the ``[arbiter_limits]`` group.

    :param conf: a ``ConfigOpts``; ``oslo_config.cfg.CONF`` only when
        None, as services that use oslo.limit today keep their options
        there.
    """
    conf = cfg.CONF if conf is None else conf
    register_opts(conf, group)
    return LimitsClient.from_conf(conf, group,
                                  additional_headers=additional_headers)
