"""An oslo.limit-compatible ``Enforcer`` that asks the limits service.

``Enforcer(usage_callback).enforce(project_id, deltas)`` has the signature,
the input checks and the exception of :class:`oslo_limit.limit.Enforcer`:
a refusal raises :class:`oslo_limit.exception.ProjectOverLimit` (imported
from oslo.limit, so existing ``except`` clauses keep working) whose
``over_limit_info_list`` holds one :class:`oslo_limit.exception.
OverLimitInfo` per exceeded limit. The decision is the service's
``POST /v1/enforce``, so unlike oslo.limit it covers ``subtree`` limits at
every level of the project tree and always sees the current limits.

Where usage comes from
----------------------

oslo.limit counts usage on every call through ``usage_callback``. This
enforcer takes the callback for compatibility, but the usage it compares
with the limits is the limits service's ledger: the sum of the allocations
written with ``PUT /v1/allocations/{consumer}`` (by a hook such as
:mod:`limits_svc.hooks.nova`). A service that writes no allocations must
set ``[arbiter_limits] reconcile_usage = true``: each ``enforce()`` then
calls the callback first and sets the project's usage in the ledger to its
answer (``PUT /v1/usages/{project_id}``) before the check, which is as
racy as oslo.limit's check-then-act, but sees the tree.

Other differences, all documented in doc/source/user/limits-clients.rst:

* ``project_id=None`` (registered limits only) is refused with
  ``ValueError``: the service decides per project.
* A delta of zero never refuses, even for a project already over its
  limit (oslo.limit refuses it); a negative delta is sent as zero.
* ``cache`` is accepted and ignored: the service always decides on the
  limits of the moment.
* For a project the service does not know (yet: in ``keystone`` mode a
  project created a moment ago is copied on Keystone's notification), a
  growth raises :class:`ProjectNotKnownOverLimit`: oslo.limit's
  ``ProjectOverLimit`` (a service written for oslo.limit refuses it as
  any refusal: Nova answers 403 with ``str()`` of it, saying to try
  again in a moment) that is also the client's ``NotFound`` (code
  ``limits.project_not_found``); a check of nothing more (every delta
  zero) goes on. ``calculate_usage()`` and ``get_project_limits()``
  answer the registered defaults and no usage, as oslo.limit does.
* For a project that Keystone deleted while it held allocations (the
  service keeps it until they are freed, and refuses any growth there:
  409 ``limits.project_deleted``), a growth raises
  :class:`ProjectDeletedOverLimit`: oslo.limit's ``ProjectOverLimit``
  (what a service written for oslo.limit handles: Nova answers 403 with
  ``str()`` of it, the service's message) that is also the client's
  ``ProjectDeleted``. Its ``OverLimitInfo`` entries are the resources
  asked to grow, each with the project's own usage as its ``limit``
  (it may keep what it holds, and take nothing more). With
  ``reconcile_usage``, a count above what such a project holds raises
  it too, even for a delta of zero: the service refuses to record it.
* For a ``subtree`` limit, ``OverLimitInfo.limit`` and ``current_usage``
  are that level's subtree limit and subtree usage. Each info also carries
  ``project_id`` (the level) and ``scope`` (``project`` or ``subtree``).

Switching from oslo.limit
-------------------------

Either import this module where the service imports
``oslo_limit.limit`` (one line), or pick the class at run time with
:func:`enforcer_class`, which returns this ``Enforcer`` when
``[arbiter_limits] enabled`` is true and oslo.limit's otherwise.
"""

import collections

from oslo_config import cfg
from oslo_limit import exception as limit_exc
from oslo_log import log as logging

from limits_svc.clients import limits

LOG = logging.getLogger(__name__)

PROJECT_NOT_FOUND = 'limits.project_not_found'

# The same shape as oslo_limit.limit.ProjectUsage (not imported from there:
# importing oslo_limit.limit registers [oslo_limit] options on cfg.CONF and
# pulls in openstacksdk).
ProjectUsage = collections.namedtuple('ProjectUsage', ['limit', 'usage'])


def _opts():
    return [
        cfg.BoolOpt(
            'enabled', default=False,
            help='Whether enforcer_class() hands out the limits service\'s '
                 'Enforcer (true) or oslo.limit\'s (false). Only services '
                 'that call limits_svc.clients.enforcer.enforcer_class() '
                 'read it.'),
        cfg.BoolOpt(
            'reconcile_usage', default=False,
            help='Before each enforce(), count usage with the service\'s '
                 'usage callback and set the project\'s usage in the limits '
                 'service to that count. Turn on for services that write no '
                 'allocations to the limits service; leave off where a hook '
                 '(such as the Nova hook) allocates, since the ledger is '
                 'then already exact. Needs the service or admin role.'),
    ]


def register_opts(conf):
    limits.register_opts(conf)
    conf.register_opts(_opts(), group=limits.GROUP)


def list_opts():
    """``[arbiter_limits]``: how to reach the service, and the switches."""
    group, ks_opts = limits.list_opts()[0]
    return [(group, _opts() + ks_opts)]


def enforcer_class(conf=None):
    """This module's ``Enforcer`` if ``[arbiter_limits] enabled``, else
    oslo.limit's."""
    conf = cfg.CONF if conf is None else conf
    register_opts(conf)
    if conf[limits.GROUP].enabled:
        return Enforcer
    from oslo_limit import limit as oslo_limit  # only when chosen
    return oslo_limit.Enforcer


def _check_project_id(project_id):
    if project_id is None:
        raise ValueError('project_id is required: the limits service '
                         'enforces limits per project.')
    if not project_id or not isinstance(project_id, str):
        raise ValueError('project_id must be a non-empty string or None.')


def _check_resource_names(resources_to_check):
    msg = ('resources_to_check must be non-empty sequence of resource name '
           'strings')
    try:
        if len(resources_to_check) == 0:
            raise ValueError(msg)
    except TypeError:
        raise ValueError(msg)
    if not all(isinstance(name, str) for name in resources_to_check):
        raise ValueError(msg)


class ProjectDeletedOverLimit(limit_exc.ProjectOverLimit,
                              limits.ProjectDeleted):
    """oslo.limit's ``ProjectOverLimit`` of a growth the service refused
    in a project deleted in Keystone (409 ``limits.project_deleted``),
    which is also the client's :class:`limits.ProjectDeleted` (``status``,
    ``code``, ``detail`` ...).

    A service written for oslo.limit handles it as any refusal: Nova's
    ``enforce_num_instances_and_*`` turn it into ``TooManyInstances``
    with ``str()`` of it, the service's ``detail`` (Nova answers 403
    saying that the project was deleted in Keystone); the client's
    ``ProjectDeleted``, which such a service does not know, was a 500.

    ``over_limit_info_list`` holds one ``OverLimitInfo`` per resource
    that would grow, with ``project_id`` and ``scope`` (``project``) as
    :func:`over_limit_info` sets them: ``limit`` is the project's own
    usage in the ledger (what it may keep), ``current_usage`` that usage
    (or, with ``reconcile_usage``, the count the service refused to
    record) and ``delta`` the one asked. A limit of the usage, not 0:
    Nova's ``should_enforce()`` takes a refusal whose limits are all 0
    for limits perhaps never set, and lets it through unless Keystone
    has a registered limit of the resource or ``[quota]
    unified_limits_resource_list`` requires one.
    """

    def __init__(self, project_id, over_limit_info_list, refusal):
        _init_refusal(self, project_id, over_limit_info_list, refusal,
                      refusal.detail or
                      'Project %s was deleted in Keystone: it cannot take '
                      'more resources.' % project_id)


class ProjectNotKnownOverLimit(limit_exc.ProjectOverLimit, limits.NotFound):
    """oslo.limit's ``ProjectOverLimit`` of a growth in a project the
    service does not know (404 ``limits.project_not_found``), which is
    also the client's :class:`limits.NotFound` (``status``, ``code``,
    ``detail`` ...).

    In ``keystone`` mode the service copies a project from Keystone on
    Keystone's notification: a boot in a project created a moment ago may
    come first. The client's ``NotFound`` alone was a 500 in a service
    written for oslo.limit (Nova's check catches ``ProjectOverLimit``);
    this one is its over-quota answer (Nova: 403) with ``str()`` of it,
    which says so and to try again in a moment.

    ``over_limit_info_list`` holds one ``OverLimitInfo`` per resource
    asked to grow, with a ``limit`` of 0 (the service has no limit of the
    project) and a ``current_usage`` of 0 (it records none there; with
    ``reconcile_usage``, the usage callback's count, which it could not
    record). All limits 0, Nova's ``should_enforce()`` upholds the
    refusal when Keystone has a registered limit of such a resource (or
    ``[quota] unified_limits_resource_strategy`` requires it), and
    otherwise lets the request through, as it does any unset limit.
    """

    def __init__(self, project_id, over_limit_info_list, refusal):
        _init_refusal(self, project_id, over_limit_info_list, refusal,
                      'Project %s is not known to the limits service yet '
                      '(a project created in Keystone a moment ago is '
                      'copied to it within seconds): try again in a '
                      'moment.' % project_id)


def _init_refusal(exc, project_id, over_limit_info_list, refusal, message):
    """Set up ``exc``, a ``ProjectOverLimit`` that is also the client's
    error of the service's ``refusal``, ``str()`` of it ``message``."""
    # ProjectOverLimit.__init__ is not called: it hands its message on to
    # the next class of the MRO, the client's error, which would take it
    # for the status.
    limits.ClientError.__init__(
        exc, refusal.status, code=refusal.code, title=refusal.title,
        detail=refusal.detail, request_id=refusal.request_id,
        error=refusal.error)
    exc.project_id = project_id
    exc.over_limit_info_list = list(over_limit_info_list)
    exc.args = (message,)


def over_limit_info(blocking):
    """An ``OverLimitInfo`` of one entry of the service's blocking list."""
    info = limit_exc.OverLimitInfo(blocking['resource'], blocking['limit'],
                                   blocking['usage'], blocking['delta'])
    info.project_id = blocking['project_id']
    info.scope = blocking['scope']
    return info


def project_over_limit(project_id, blocking):
    """oslo.limit's ``ProjectOverLimit`` of the service's blocking list."""
    return limit_exc.ProjectOverLimit(
        project_id, [over_limit_info(entry) for entry in blocking])


class Enforcer:
    """Checks deltas against the limits of a project and of its ancestors.

    :param usage_callback: ``callback(project_id, resource_names)`` ->
        ``{name: count}``, as for oslo.limit; called only with
        ``reconcile_usage``.
    :param cache: accepted for compatibility; ignored.
    :param session: a keystoneauth1 session; default: one built from
        ``[arbiter_limits]``.
    :param conf: the ``ConfigOpts`` holding ``[arbiter_limits]``;
        ``oslo_config.cfg.CONF`` when None, like oslo.limit.
    :param client: a ready :class:`limits.LimitsClient` (tests, or to
        share one); ``session`` and the endpoint options are then unused.
    :param reconcile_usage: overrides ``[arbiter_limits] reconcile_usage``.
    """

    def __init__(self, usage_callback, cache=True, session=None, conf=None,
                 client=None, endpoint_override=None,
                 additional_headers=None, reconcile_usage=None):
        if not callable(usage_callback):
            raise ValueError('usage_callback must be a callable function.')
        self._usage_callback = usage_callback
        conf = cfg.CONF if conf is None else conf
        if client is None or reconcile_usage is None:
            register_opts(conf)
        if client is None:
            if session is None:
                client = limits.from_conf(
                    conf, additional_headers=additional_headers)
            else:
                client = limits.LimitsClient(
                    session, endpoint_override=endpoint_override,
                    additional_headers=additional_headers)
        self.client = client
        self.reconcile_usage = (conf[limits.GROUP].reconcile_usage
                                if reconcile_usage is None
                                else reconcile_usage)

    def enforce(self, project_id, deltas):
        """Raise ``ProjectOverLimit`` unless usage + deltas fits every
        limit of the project and every subtree limit above it."""
        _check_project_id(project_id)
        if not isinstance(deltas, dict) or len(deltas) == 0:
            raise ValueError('deltas must be a non-empty dictionary.')
        for name, value in deltas.items():
            if not isinstance(name, str):
                raise ValueError('resource name is not a string.')
            if not isinstance(value, int):
                raise ValueError('resource limit is not an integer.')
        # int(): oslo.limit takes a bool for an int (True is 1); the
        # service's schema refuses JSON booleans.
        asked = {name: max(int(value), 0) for name, value in deltas.items()}
        counts = {}
        try:
            if self.reconcile_usage:
                counts = self._count(project_id, sorted(deltas))
                if counts:
                    self.client.reconcile_usage(project_id, counts)
            answer = self.client.enforce(project_id, asked)
        except limits.ProjectDeleted as exc:
            raise self._project_deleted(project_id, asked, exc, counts)
        except limits.NotFound as exc:
            if exc.code != PROJECT_NOT_FOUND:
                raise
            grows = sorted(name for name, delta in asked.items() if delta)
            if not grows:
                return
            raise ProjectNotKnownOverLimit(project_id, [
                over_limit_info({'resource': name, 'limit': 0,
                                 'usage': counts.get(name, 0),
                                 'delta': asked[name],
                                 'project_id': project_id,
                                 'scope': 'project'})
                for name in grows], exc)
        if not answer['allowed']:
            LOG.debug('Limits service refused %s for project %s: %s',
                      deltas, project_id, answer['blocking'])
            raise project_over_limit(project_id, answer['blocking'])

    def _count(self, project_id, names):
        """``{name: count}`` of the usage callback, for the names
        asked that it counted."""
        counts = self._usage_callback(project_id, names)
        return {name: int(counts[name]) for name in names if name in counts}

    def _project_deleted(self, project_id, deltas, refusal, counts):
        """The :class:`ProjectDeletedOverLimit` of the service's
        ``refusal`` of ``deltas`` (``counts``: the usage callback's, with
        ``reconcile_usage``, which the service refuses to record where
        it would raise a kept project's usage); one more request, for
        the project's own usage."""
        report = self._own_report(project_id)
        held = {name: report[name]['own_usage'] if name in report else 0
                for name in deltas}
        grows = [name for name, delta in deltas.items()
                 if counts.get(name, held[name]) + delta > held[name]]
        # (Should none grow, the service refused anyway: name them all.)
        return ProjectDeletedOverLimit(project_id, [
            over_limit_info({'resource': name, 'limit': held[name],
                             'usage': counts.get(name, held[name]),
                             'delta': deltas[name], 'project_id': project_id,
                             'scope': 'project'})
            for name in grows or list(deltas)], refusal)

    def calculate_usage(self, project_id, resources_to_check):
        """``{name: ProjectUsage(limit, usage)}``: the project's own limit
        and own usage, as the service's ledger has them."""
        _check_project_id(project_id)
        _check_resource_names(resources_to_check)
        report = self._own_report(project_id)
        result = {}
        for name in resources_to_check:
            entry = report.get(name)
            if entry is None:
                result[name] = ProjectUsage(self._registered(name), 0)
            else:
                result[name] = ProjectUsage(entry['own_limit'],
                                            entry['own_usage'])
        return result

    def get_project_limits(self, project_id, resources_to_check):
        """``[(name, limit)]`` in the order asked: the effective own limit
        (project limit, else registered default, else 0)."""
        _check_project_id(project_id)
        report = self._own_report(project_id)
        return [(name, report[name]['own_limit'] if name in report
                 else self._registered(name))
                for name in resources_to_check]

    def get_registered_limits(self, resources_to_check):
        """``[(name, default_limit)]`` in the order asked (0 if none)."""
        return [(name, self._registered(name))
                for name in resources_to_check]

    def _own_report(self, project_id):
        """The project's own figures by resource; none for a project the
        service does not know (yet): oslo.limit answers such a project's
        limits and usage with the registered defaults and zero, and Nova's
        quota and limits APIs ask about any project."""
        try:
            report = self.client.usage(project_id, subtree=False)
        except limits.NotFound as exc:
            if exc.code == PROJECT_NOT_FOUND:
                return {}
            raise
        return report['projects'][0]['resources']

    def _registered(self, name):
        """The tightest registered default of ``name``, as the service
        resolves it; 0 when there is none (oslo.limit's answer and the
        service's default ``no_limit_policy``)."""
        values = [row['default_limit'] for row in
                  self.client.registered_limits(resource_name=name)]
        finite = [value for value in values if value >= 0]
        if finite:
            return min(finite)
        return -1 if values else 0
