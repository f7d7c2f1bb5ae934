"""The Nova hook: allocate in limits_svc before a build, free on delete.

Nova is not a dependency of Arbiter and is not installed here. This module
is written against the interfaces of Nova's unified-limits code
(``nova/limit/placement.py``) and calls nothing of Nova: it reads the
attributes Nova's objects have (``flavor.vcpus``, ``flavor.memory_mb``,
``flavor.root_gb``, ``flavor.ephemeral_gb``, ``flavor.swap``;
``instance.uuid``, ``instance.project_id``, ``instance.flavor``,
``instance.old_flavor``, ``instance.new_flavor``; ``request_spec.flavor``,
``request_spec.is_bfv``) and raises :class:`TooManyInstances`, a
subclass of ``nova.exception.TooManyInstances`` where Nova can be imported
(a class with its attributes where it cannot).

Two kinds of call:

* **Checks**, with the call shapes of ``nova.limit.placement``:
  :func:`enforce_num_instances_and_flavor` (released Nova) and
  :func:`enforce_num_instances_and_resources` (Nova master, which passes a
  ``RequestSpec`` since "Fix unified limits to include all resource
  types"). They return how many of ``max_count`` instances fit
  and raise :class:`TooManyInstances` when fewer than ``min_count`` do.
  They are dry runs (``POST /v1/enforce``) through an oslo.limit-compatible
  enforcer, so they can replace the ``placement_limits`` calls one for one.
* **Allocations**, which make the ledger exact and so remove the need for
  Nova's quota "recheck": the consumer is the instance uuid and the
  resources come from the flavor (``instances: 1, cores: vcpus, ram:
  memory_mb``, and ``disk`` when ``[arbiter_limits] nova_count_disk``).

  ========================  ============================================
  Nova                      hook (``get_hook()`` or a NovaLimitsHook)
  ========================  ============================================
  API, before provisioning  ``reserve_instances`` (with expiry; returns
                            the uuids that fit, at least ``min_count``)
  conductor, after          ``confirm_instances`` (the same PUT without
  scheduling                expiry) of the instances it created, and
                            ``free_instances`` of the placeholders of
                            builds deleted before that
  conductor, build cleanup  ``free_instances``
  conductor, scheduling     ``free_instances`` (of the instances buried
  failed                    in cell0)
  API, build deleted        ``free_instance`` (it sends no
  before reaching a cell    ``instance.delete.end``)
  instance deleted          ``free_instance`` (on ``instance.delete.end``,
                            which every delete of an instance sends:
                            :class:`InstanceDeleteEndpoint`)
  API, resize check         ``check_resize`` (a dry run)
  API, restore check        ``check_restore`` (a dry run)
  resize (prep)             ``resize_instance``
  resize confirm / revert   ``confirm_resize`` / ``revert_resize``
  resize failed after prep  ``revert_resize`` (nothing when
                            ``resize_instance`` itself raised)
  ========================  ============================================

  Nova's own resize and restore checks (one more instance of the new
  or same flavor) would count the instance twice with the hook, whose
  ledger already holds it: ``check_resize`` and ``check_restore`` decide
  on the difference with what the instance holds.

  A reservation that nobody confirms (a crashed API worker) frees itself
  after ``[arbiter_limits] nova_reservation_expires_in`` seconds.

While a resize is in progress the instance holds, per resource, the larger
of the old and the new flavor (Nova's placement holds both); so confirming
or reverting only ever gives back and can never be refused.
"""

import math
import time

from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging
from oslo_utils import excutils

from limits_svc.clients import enforcer as enforcer_mod
from limits_svc.clients import limits

LOG = logging.getLogger(__name__)

# The names of Nova's resources in the limits service, by naming scheme.
# ``legacy`` uses Nova's quota names; ``unified`` the names Nova registers
# in Keystone's unified limits (what ``keystone`` mode syncs).
RESOURCE_NAMES = {
    'legacy': {'servers': 'instances', 'VCPU': 'cores',
               'MEMORY_MB': 'ram', 'DISK_GB': 'disk'},
    'unified': {'servers': 'servers', 'VCPU': 'class:VCPU',
                'MEMORY_MB': 'class:MEMORY_MB', 'DISK_GB': 'class:DISK_GB'},
}


#: The shortest ``nova_reservation_expires_in``: a floor against a
#: setting of seconds, not a recommendation (600 is the default). A
#: reservation must at least outlive two round trips of the hook (each
#: up to ``timeout``, 10 s by default, and again for each of
#: ``connect_retries``) and one of Nova's RPC calls between them
#: (``rpc_response_timeout``, 60 s by default).
MIN_RESERVATION_EXPIRES_IN = 60


def _opts():
    return [
        cfg.StrOpt(
            'nova_resource_names', default='legacy',
            choices=[('legacy', 'instances, cores, ram, disk: the names of '
                                'Nova\'s legacy quotas.'),
                     ('unified', 'servers, class:VCPU, class:MEMORY_MB, '
                                 'class:DISK_GB: the names Nova uses with '
                                 'Keystone unified limits; choose this '
                                 'when the limits come from Keystone.')],
            help='Which resource names the Nova hook allocates under. '
                 'They must match the names of the limits set in the '
                 'limits service.'),
        cfg.BoolOpt(
            'nova_count_disk', default=False,
            help='Also allocate disk (GiB: root unless boot-from-volume, '
                 'plus ephemeral and swap), as Nova counts DISK_GB.'),
        cfg.IntOpt(
            'nova_reservation_expires_in', default=600,
            min=MIN_RESERVATION_EXPIRES_IN, max=7 * 24 * 3600,
            help='Seconds after which a reservation made before a build '
                 'frees itself unless the conductor confirmed it. Longer '
                 'than the longest time between the API accepting a build '
                 'and the conductor scheduling it. At least %d: a '
                 'reservation that lives only a few seconds expires '
                 'between two requests of one build (the API\'s '
                 'reservation and the conductor\'s confirmation, or the '
                 'fresh reservation a late confirmation makes and the '
                 'replacement that follows it), and the build is then '
                 'refused, or its server runs uncounted.'
                 % MIN_RESERVATION_EXPIRES_IN),
    ]


def register_opts(conf):
    enforcer_mod.register_opts(conf)
    conf.register_opts(_opts(), group=limits.GROUP)


def list_opts():
    return [(limits.GROUP, _opts())]


def _too_many_instances_base():
    """``nova.exception.TooManyInstances`` where Nova can be imported (the
    hook runs inside Nova), else ``Exception``."""
    try:
        from nova import exception as nova_exception
    except ImportError:
        return Exception
    return nova_exception.TooManyInstances


class TooManyInstances(_too_many_instances_base()):
    """Nova's ``TooManyInstances`` (an ``OverQuota``), with the hook's
    details.

    Inside Nova this is a subclass of ``nova.exception.TooManyInstances``,
    so Nova handles it as its own: the API answers ``403`` with the
    message (it catches ``OverQuota``), and the conductor's recheck
    cleans up the build (it catches ``TooManyInstances``). A local class
    would have reached Nova as an unexpected error: a ``500`` for a
    refused boot, and a build left behind by the conductor. Where Nova
    cannot be imported, it is a plain ``Exception`` with the same
    attributes: ``msg_fmt``, ``code`` (413), ``kwargs`` (with ``code``),
    ``message`` and ``format_message()``. The hook adds ``blocking`` (the
    limits service's list) and ``over_limit_info_list``.
    """

    msg_fmt = ('Quota exceeded for %(overs)s: Requested %(req)s, but '
               'already used %(used)s of %(allowed)s %(overs)s')
    code = 413
    headers = {}
    safe = True

    def __init__(self, message=None, blocking=(), over_limit_info_list=(),
                 **kwargs):
        kwargs.setdefault('code', self.code)
        if not message:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        super().__init__(str(message))
        # Set after Nova's __init__, which keeps only the kwargs it gets.
        self.kwargs = kwargs
        self.message = str(message)
        self.blocking = list(blocking)
        self.over_limit_info_list = list(over_limit_info_list)

    def format_message(self):
        return self.args[0]


def _too_many(exc, project_id=None):
    """TooManyInstances of a ProjectOverLimit or a client OverLimit."""
    if isinstance(exc, limits.ProjectDeleted):
        # Nova's user is told why (Nova answers 403 with the message):
        # the project went from Keystone while it held allocations.
        return TooManyInstances(exc.detail or 'Project %s was deleted in '
                                'Keystone: it cannot take more resources.'
                                % project_id)
    if isinstance(exc, limits.OverLimit):
        if not exc.blocking:
            # A refusal whose list of limits could not be read.
            return TooManyInstances('Quota exceeded: %s' % (
                exc.detail or 'the limits service refused'))
        exc = enforcer_mod.project_over_limit(project_id, exc.blocking)
    infos = exc.over_limit_info_list
    return TooManyInstances(
        str(exc), over_limit_info_list=infos,
        blocking=[{'project_id': getattr(i, 'project_id', project_id),
                   'resource': i.resource_name,
                   'scope': getattr(i, 'scope', 'project'),
                   'limit': i.limit, 'usage': i.current_usage,
                   'delta': i.delta} for i in infos],
        overs=','.join(sorted({i.resource_name for i in infos})))


def _is_bfv(request_spec):
    """``request_spec.is_bfv``, False when it is not set.

    A Nova ``RequestSpec`` made before the field existed (instances from
    before Rocky) has it unset, and reading it raises; Nova's own code
    asks ``'is_bfv' in request_spec`` first, as this does for anything
    that can answer ``in``.
    """
    try:
        if 'is_bfv' not in request_spec:
            return False
    except TypeError:
        pass
    return bool(getattr(request_spec, 'is_bfv', False))


def _flavor_disk_gb(flavor, is_bfv):
    disk = (flavor.ephemeral_gb or 0) + int(math.ceil(
        (flavor.swap or 0) / 1024.0))
    if not is_bfv:
        disk += flavor.root_gb or 0
    return disk


class NovaLimitsHook:
    """What Nova calls, bound to one limits client and one configuration.

    :param client: a :class:`limits_svc.clients.limits.LimitsClient` (or
        anything with its methods).
    :param resource_names: ``legacy`` or ``unified`` (see RESOURCE_NAMES).
    :param count_disk: allocate disk too.
    :param reservation_expires_in: seconds a reservation lives unconfirmed.
    """

    def __init__(self, client, resource_names='legacy', count_disk=False,
                 reservation_expires_in=600):
        self.client = client
        self.names = RESOURCE_NAMES[resource_names]
        self.count_disk = count_disk
        self.reservation_expires_in = reservation_expires_in
        # Nova's delta_updates use the unified names; map them to ours.
        self._from_unified = {
            unified: self.names[key] for key, unified in
            RESOURCE_NAMES['unified'].items()}

    @classmethod
    def from_conf(cls, conf=None):
        conf = cfg.CONF if conf is None else conf
        register_opts(conf)
        group = conf[limits.GROUP]
        return cls(limits.from_conf(conf),
                   resource_names=group.nova_resource_names,
                   count_disk=group.nova_count_disk,
                   reservation_expires_in=group.nova_reservation_expires_in)

    # -- what an instance of a flavor uses ---------------------------------

    def resources(self, flavor, is_bfv=False, count=1):
        """``{name: amount}`` of ``count`` instances of ``flavor``."""
        if flavor is None:
            raise ValueError('flavor')
        if count < 0:
            raise ValueError('count')
        per_instance = {self.names['VCPU']: flavor.vcpus,
                        self.names['MEMORY_MB']: flavor.memory_mb}
        if self.count_disk:
            per_instance[self.names['DISK_GB']] = _flavor_disk_gb(
                flavor, is_bfv)
        resources = {self.names['servers']: count}
        for name, amount in per_instance.items():
            if amount:
                resources[name] = amount * count
        return resources

    def enforcer(self):
        """An oslo.limit-compatible enforcer over this hook's client."""
        return enforcer_mod.Enforcer(lambda project_id, names: {},
                                     client=self.client,
                                     reconcile_usage=False)

    # -- checks, with nova.limit.placement's call shapes -------------------

    def enforce_num_instances_and_flavor(self, context, project_id, flavor,
                                         is_bfvm, min_count, max_count,
                                         enforcer=None, delta_updates=None):
        """Return max instances possible, else raise TooManyInstances."""
        if min_count < 0 or min_count > max_count:
            raise ValueError('invalid min_count')
        if max_count < 0:
            raise ValueError('invalid max_count')
        enforcer = enforcer or self.enforcer()
        updates = {self._from_unified.get(name, name): amount
                   for name, amount in (delta_updates or {}).items()}
        per_instance = self.resources(flavor, is_bfvm)
        count = max_count
        while True:
            deltas = self.resources(flavor, is_bfvm, count)
            deltas.update(updates)
            try:
                enforcer.enforce(project_id, deltas)
                return count
            except limits.ProjectDeleted as exc:
                # Deleted in Keystone: no count of instances fits.
                raise _too_many(exc, project_id)
            except enforcer_mod.limit_exc.ProjectOverLimit as exc:
                # Nova steps down one instance at a time; the blocking
                # list says how many could fit, so jump there instead.
                fits = _instances_that_fit(exc, per_instance, updates)
                LOG.debug('Limits refuse %d instances of project %s; %s '
                          'may fit', count, project_id, fits)
                if count == 0 or min(fits, count - 1) < min_count:
                    raise _too_many(exc, project_id)
                count = min(fits, count - 1)

    def enforce_num_instances_and_resources(self, context, project_id,
                                            request_spec, min_count,
                                            max_count, enforcer=None,
                                            delta_updates=None):
        """The same, with a RequestSpec (``.flavor``, ``.is_bfv``).

        Only the flavor's resources are counted; PCI, port and Cyborg
        resources of the request spec are not.
        """
        if request_spec is None:
            raise ValueError('request_spec')
        return self.enforce_num_instances_and_flavor(
            context, project_id, request_spec.flavor,
            _is_bfv(request_spec), min_count,
            max_count, enforcer=enforcer, delta_updates=delta_updates)

    # -- allocations -------------------------------------------------------

    def reserve_instances(self, context, project_id, flavor, is_bfv,
                          instance_uuids, min_count=None):
        """Reserve one instance of ``flavor`` per uuid, each with expiry.

        Stops at the first refusal. If fewer than ``min_count`` (default:
        all of them) fit, frees what it reserved and raises
        :class:`TooManyInstances`. Any other failure (the service cannot
        be reached, times out or answers an error) frees every uuid it
        may have reserved, the one whose PUT failed included, and raises
        that failure: the build fails and keeps nothing.

        :returns: the uuids reserved, a prefix of ``instance_uuids``; Nova
            builds that many instances, with those uuids.
        """
        instance_uuids = list(instance_uuids)
        min_count = len(instance_uuids) if min_count is None else min_count
        one = self.resources(flavor, is_bfv)
        reserved = []
        for uuid in instance_uuids:
            try:
                self._reserve(uuid, project_id, one)
            except limits.OverLimit as exc:
                if len(reserved) >= min_count:
                    break
                self._free_after_failure(reserved)
                raise _too_many(exc, project_id)
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._free_after_failure(reserved + [uuid])
            reserved.append(uuid)
        return reserved

    def confirm_instances(self, context, project_id, flavor, is_bfv,
                          instance_uuids):
        """Make reservations permanent (PUT again, without expiry).

        A reservation that expired meanwhile is reserved afresh (which
        the limits may refuse: then :class:`TooManyInstances` is raised
        after freeing the uuids of this call, as Nova's recheck would),
        then confirmed; an instance deleted between the two holds nothing
        and is no failure. Any other failure frees them too and is raised
        as it is.
        """
        one = self.resources(flavor, is_bfv)
        instance_uuids = list(instance_uuids)
        for uuid in instance_uuids:
            try:
                self._confirm(uuid, project_id, one)
            except limits.OverLimit as exc:
                self._free_after_failure(instance_uuids)
                raise _too_many(exc, project_id)
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._free_after_failure(instance_uuids)

    def _confirm(self, uuid, project_id, resources):
        """Confirm one reservation: replace it (``If-Match: *``); only if
        it is gone (expired, or freed by a delete of the build) reserve
        it afresh, with expiry, then replace that reservation.

        No write of a confirmation can outlive a free that commits first
        and leave an allocation for ever: the replacements find nothing
        to replace after the free and write nothing, and the fresh
        reservation, when its request reaches the service only after the
        hook gave up on it and freed the build (a slow service or
        network, or a retry of keystoneauth1's), frees itself when it
        expires. A plain PUT (no expiry) made the allocation again there,
        and nothing ever freed it.
        """
        try:
            return self.client.put_allocation(uuid, project_id, resources,
                                              only_existing=True)
        except limits.ClientError as exc:
            if exc.code != limits.ALLOCATION_ABSENT:
                raise
        LOG.info('The reservation of %s expired before its confirmation '
                 '(or its build was deleted); reserving it afresh.', uuid)
        self._reserve(uuid, project_id, resources)
        try:
            return self.client.put_allocation(uuid, project_id, resources,
                                              only_existing=True)
        except limits.ClientError as exc:
            if exc.code != limits.ALLOCATION_ABSENT:
                raise
        # Freed between the two requests: only a delete of the instance
        # frees it there. Nova's conductor finds the build request gone
        # next and destroys the instance; failing here stopped it before
        # that, and the deleted instance stayed in its cell, in BUILD.
        LOG.info('Instance %s was deleted during its confirmation; it '
                 'holds nothing.', uuid)
        return None

    def _reserve(self, uuid, project_id, resources):
        """Reserve one instance, with expiry, if it holds nothing yet
        (``If-None-Match: *``).

        The instance uuid is new, so what it holds already was made by
        this very request: a try of it the service did, whose answer was
        lost and which keystoneauth1 sent again (``connect_retries``).
        And a try that reaches the service after its retry, and after the
        conductor's confirmation, makes nothing: a plain PUT made the
        confirmed allocation a reservation again, which freed itself when
        it expired, and the server ran on uncounted.
        """
        try:
            self.client.put_allocation(
                uuid, project_id, resources,
                expires_in=self.reservation_expires_in, only_absent=True)
        except limits.ClientError as exc:
            if exc.code != limits.ALLOCATION_EXISTS:
                raise

    def free_instances(self, context, instance_uuids):
        """Free these instances' allocations (of a build that failed);
        missing ones are fine.

        Called inside Nova's clean-up of a build, it raises nothing: a
        free that fails is logged and the others are still tried. An
        exception stopped the other frees, and Nova's clean-up after the
        call (the instances were left in ``BUILD``). The instances stay
        in Nova (in ``ERROR``, or in cell0), and their delete frees what
        they still hold; an unconfirmed reservation also frees itself
        when it expires.

        :returns: the uuids whose free failed.
        """
        failed = []
        for uuid in instance_uuids:
            try:
                self.client.delete_allocation(uuid, missing_ok=True)
            except Exception:
                LOG.warning('Could not free the allocation of %s after a '
                            'failed build', uuid, exc_info=True)
                failed.append(uuid)
        return failed

    def _free_after_failure(self, instance_uuids):
        """Free what a refused or failed reserve or confirm may hold,
        before its error goes on.

        Nova fails the build, so nothing of it may stay counted. After a
        failure other than a refusal (the service or the way to it
        answered an error, too late, or not at all) that includes the PUT
        that failed: the service may have written it and lost its answer.
        A free that fails is logged and the others are still tried (see
        :meth:`free_instances`), so that Nova gets the refusal or the
        first error, not the free's.
        """
        self.free_instances(None, instance_uuids)

    def free_instance(self, context, instance):
        """On delete: free the instance's allocation (idempotent)."""
        return self.client.delete_allocation(instance.uuid, missing_ok=True)

    def _put_flavor_held(self, instance, resources, generation=None):
        """Replace what ``instance`` holds with ``resources``
        (``If-Match: *``, or the ETag of ``generation`` when given); a
        refusal is :class:`TooManyInstances`."""
        try:
            return self.client.put_allocation(
                instance.uuid, instance.project_id, resources,
                only_existing=generation is None, generation=generation)
        except limits.OverLimit as exc:
            raise _too_many(exc, instance.project_id)

    def _end_resize(self, instance, flavor, is_bfv):
        """Hold ``flavor`` at the end of a resize, if the instance still
        holds anything.

        Only a replacement (``If-Match: *``): a confirm or revert that runs
        after the instance's delete freed it (Nova confirms and reverts
        on the compute, after the API answered) must not make its
        allocation again, where nothing would ever free it.

        :returns: the allocation, or None when there was none to replace.
        """
        try:
            return self._put_flavor_held(instance,
                                         self.resources(flavor, is_bfv))
        except limits.ClientError as exc:
            if exc.code != limits.ALLOCATION_ABSENT:
                raise
            LOG.info('Instance %s holds no allocation (deleted meanwhile); '
                     'the end of its resize makes none.', instance.uuid)
            return None

    def _resize_held(self, instance, new_flavor, is_bfv):
        old = self.resources(instance.flavor, is_bfv)
        new = self.resources(new_flavor, is_bfv)
        return {name: max(old.get(name, 0), new.get(name, 0))
                for name in set(old) | set(new)}

    def _check_held(self, instance, resources):
        """Dry run: may ``instance`` hold ``resources`` instead of what it
        holds now? Raise :class:`TooManyInstances` if not."""
        try:
            answer = self.client.enforce(instance.project_id, resources,
                                         consumer_id=instance.uuid)
        except limits.ProjectDeleted as exc:
            raise _too_many(exc, instance.project_id)
        if not answer['allowed']:
            raise _too_many(enforcer_mod.project_over_limit(
                instance.project_id, answer['blocking']),
                instance.project_id)

    def check_resize(self, context, instance, new_flavor, is_bfv=False):
        """The API's check of a resize, a dry run of
        :meth:`resize_instance`: decided on what the instance would hold
        (the larger of its flavors) instead of what it holds now.

        Nova's own check (``enforce_num_instances_and_resources`` with
        the new flavor and one instance) adds a second instance and the
        new flavor on top of the instance's allocation: at its
        ``instances`` limit a project could resize nothing, and any
        upsize needed room for both flavors.
        """
        self._check_held(instance,
                         self._resize_held(instance, new_flavor, is_bfv))

    def check_restore(self, context, instance, is_bfv=False):
        """The API's check of a restore of a soft-deleted instance: may it
        hold its flavor again? It still holds its allocation (it is freed
        only when reclaimed: nothing makes it again at a restore), and is
        then never refused; Nova's own check (one more instance) counted
        it twice."""
        self._check_held(instance, self.resources(instance.flavor, is_bfv))

    def resize_instance(self, context, instance, new_flavor, is_bfv=False):
        """Before a resize: hold the larger of the old and new flavor.

        It reads the instance's allocation, then replaces that allocation
        only (``If-Match`` with its ETag): a prep whose request reaches
        the service late, after the resize ended (its confirm or revert
        wrote the allocation since) or after the instance's delete freed
        it, writes nothing. A plain PUT made the allocation of a deleted
        server again, counted for ever, and one that landed after the
        revert of a failed resize left a live server holding the larger
        flavor until its next resize or delete.

        An upsize that does not fit raises :class:`TooManyInstances` and
        leaves the allocation as it was. An instance that holds nothing
        (deleted meanwhile) makes nothing: returns None.

        A prep that gets no answer (a timeout, a dropped connection, a
        ``5xx``) raises that error after :meth:`_fence_prep` made sure
        that its request never applies: Nova's resize fails at its prep,
        and Nova then neither confirms nor reverts it, so a prep that
        landed late held the larger flavor until the server's next resize
        or its delete. (A prep is no reservation with an expiry: see the
        guide's "The Nova hook".)
        """
        held = self.client.get_allocation(instance.uuid)
        if held is None:
            LOG.info('Instance %s holds no allocation (deleted meanwhile); '
                     'its resize makes none.', instance.uuid)
            return None
        resources = self._resize_held(instance, new_flavor, is_bfv)
        # A limits service from before allocations had generations
        # answers none: replace whatever the instance holds (If-Match: *).
        generation = held.get('generation')
        try:
            return self._prep(instance, resources, generation)
        except Exception as exc:
            if generation is None or not _worth_retrying(exc):
                raise
            with excutils.save_and_reraise_exception():
                self._fence_prep(instance, held, resources)

    def _prep(self, instance, resources, generation):
        """The prep's write (see :meth:`resize_instance`)."""
        try:
            return self._put_flavor_held(instance, resources,
                                         generation=generation)
        except limits.ClientError as exc:
            if exc.code == limits.ALLOCATION_ABSENT:
                LOG.info('Instance %s holds no allocation (deleted '
                         'meanwhile); its resize makes none.', instance.uuid)
                return None
            if exc.code != limits.ALLOCATION_CHANGED:
                raise
            return self._prep_written_since(instance, resources, exc)

    def _fence_prep(self, instance, held, resources):
        """After a prep whose answer Nova did not get (no answer in time,
        a dropped connection, a ``5xx``): leave the instance holding what
        it held before, and make sure the prep never applies later.

        Nova's resize fails at its prep, and there is no resize for Nova
        to confirm or revert; but the prep's request may have been
        written, or still be on its way (a proxy's queue, a busy
        service, keystoneauth1's retry). This writes back what the
        instance held (``held``) with the prep's own ``If-Match``: once
        it commits, the instance's allocation has another generation,
        and the prep, whenever it lands, finds it changed and writes
        nothing. If the prep was written first, this write finds it
        changed instead, and gives back what the prep added (``If-Match``
        of the allocation the prep left). Anything else written since (a
        delete) is left alone. Nothing here raises: Nova gets the prep's
        error.
        """
        uuid = instance.uuid
        try:
            try:
                self.client.put_allocation(
                    uuid, held['project_id'], held['resources'],
                    generation=held['generation'])
                return
            except limits.ClientError as exc:
                if exc.code != limits.ALLOCATION_CHANGED:
                    raise
            current = self.client.get_allocation(uuid)
            wanted = {name: amount for name, amount in resources.items()
                      if amount}
            if (current is None or current['generation'] is None or
                    current['project_id'] != held['project_id'] or
                    current['resources'] != wanted):
                # Freed, or written by someone else: not the prep's.
                return
            self.client.put_allocation(
                uuid, held['project_id'], held['resources'],
                generation=current['generation'])
            LOG.info('The resize prep of instance %s was written although '
                     'its answer was lost; what it added is given back.',
                     uuid)
        except Exception:
            LOG.warning('Could not make sure that the failed resize prep '
                        'of instance %s never applies: if its request '
                        'still reaches the limits service, the instance '
                        'holds the larger of its flavors until its next '
                        'resize or its delete.', uuid, exc_info=True)

    def _prep_written_since(self, instance, resources, exc):
        """The allocation of a prep whose ``If-Match`` failed while Nova
        still waits for it: what a try of this very prep wrote
        (keystoneauth1 sent it again, the first try's answer lost), else
        ``exc`` is raised, and Nova's resize fails, as the hook cannot
        tell what the instance should hold. Freed meanwhile: None.
        """
        current = self.client.get_allocation(instance.uuid)
        if current is None:
            LOG.info('Instance %s was freed during its resize prep; the '
                     'resize makes nothing.', instance.uuid)
            return None
        wanted = {name: amount for name, amount in resources.items()
                  if amount}
        if (current.get('project_id') == instance.project_id and
                current.get('resources') == wanted and
                current.get('expires_at') is None):
            return current
        raise exc

    def confirm_resize(self, context, instance, is_bfv=False):
        """Keep the new flavor (``instance.new_flavor``, else ``.flavor``)."""
        flavor = getattr(instance, 'new_flavor', None) or instance.flavor
        return self._end_resize(instance, flavor, is_bfv)

    def revert_resize(self, context, instance, is_bfv=False):
        """Go back to the old flavor (``instance.old_flavor``)."""
        flavor = getattr(instance, 'old_flavor', None) or instance.flavor
        return self._end_resize(instance, flavor, is_bfv)


def _instances_that_fit(exc, per_instance, updates):
    """How many instances the blocking limits leave room for."""
    fits = None
    for info in exc.over_limit_info_list:
        amount = per_instance.get(info.resource_name, 0)
        if info.resource_name in updates or amount <= 0 or info.limit < 0:
            continue
        room = max(info.limit - info.current_usage, 0) // amount
        fits = room if fits is None else min(fits, room)
    return 0 if fits is None else fits


def _deleted_instance_uuid(payload):
    """The instance uuid of an ``instance.delete.end`` payload: versioned
    (``nova_object.data.uuid``) or unversioned (``instance_id``)."""
    if not isinstance(payload, dict):
        return None
    data = payload.get('nova_object.data', payload)
    if not isinstance(data, dict):
        return None
    uuid = data.get('uuid') or data.get('instance_id')
    return uuid if isinstance(uuid, str) and uuid else None


#: Too Many Requests: a rate-limiting proxy (or the web server in front
#: of the service) refused the request for now.
_TOO_MANY_REQUESTS = 429


def _worth_retrying(exc):
    """Whether a request that failed may succeed later: the service (or
    the way to it) was unreachable, too slow, answered a server error or
    asked to be called again later (``429``, a rate limit in front of
    it) -- and so whether a write that failed may have been made, or may
    still be."""
    if isinstance(exc, ks_exc.ConnectionError):
        return True
    return isinstance(exc, limits.ClientError) and (
        exc.status is None or exc.status >= 500 or
        exc.status == _TOO_MANY_REQUESTS)


class InstanceDeleteEndpoint:
    """An oslo.messaging notification endpoint that frees the allocation
    of each instance Nova deleted (``instance.delete.end``, versioned, or
    ``compute.instance.delete.end``).

    A free that fails for a reason that passes (the service unreachable,
    a timeout, a ``5xx``, a rate limit's ``429``) asks for the
    notification again
    (``NotificationResult.REQUEUE``, after ``retry_delay`` seconds, so
    that a service that is down is not asked in a tight loop): dropped,
    the deleted server's allocation was counted for ever. Host it in a
    notification listener made with ``allow_requeue=True``. A free that
    can never succeed (a ``403``: the user lacks the ``service`` role) is
    logged as an error and not asked again.
    """

    filter_rule = oslo_messaging.NotificationFilter(
        event_type=r'^(compute\.)?instance\.delete\.end$')

    def __init__(self, hook=None, retry_delay=5):
        self.hook = hook if hook is not None else get_hook()
        self.retry_delay = retry_delay

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        uuid = _deleted_instance_uuid(payload)
        if uuid is None:
            LOG.warning('%s without an instance uuid: nothing freed',
                        event_type)
            return oslo_messaging.NotificationResult.HANDLED
        try:
            self.hook.client.delete_allocation(uuid, missing_ok=True)
        except Exception as exc:
            if not _worth_retrying(exc):
                LOG.error('Could not free the allocation of deleted '
                          'instance %s: %s', uuid, exc)
                return oslo_messaging.NotificationResult.HANDLED
            LOG.warning('Could not free the allocation of deleted instance '
                        '%s (%s); the notification is requeued', uuid, exc)
            time.sleep(self.retry_delay)
            return oslo_messaging.NotificationResult.REQUEUE
        return oslo_messaging.NotificationResult.HANDLED


# --------------------------------------------------------------------------
# Module-level functions with nova.limit.placement's names and call shapes
# --------------------------------------------------------------------------

_HOOK = None


def get_hook(conf=None):
    """The process-wide hook from ``[arbiter_limits]`` (built once)."""
    global _HOOK
    if _HOOK is None:
        _HOOK = NovaLimitsHook.from_conf(conf)
    return _HOOK


def enforce_num_instances_and_flavor(context, project_id, flavor, is_bfvm,
                                     min_count, max_count, enforcer=None,
                                     delta_updates=None):
    """``nova.limit.placement.enforce_num_instances_and_flavor``."""
    return get_hook().enforce_num_instances_and_flavor(
        context, project_id, flavor, is_bfvm, min_count, max_count,
        enforcer=enforcer, delta_updates=delta_updates)


def enforce_num_instances_and_resources(context, project_id, request_spec,
                                        min_count, max_count, enforcer=None,
                                        delta_updates=None):
    """``nova.limit.placement.enforce_num_instances_and_resources``."""
    return get_hook().enforce_num_instances_and_resources(
        context, project_id, request_spec, min_count, max_count,
        enforcer=enforcer, delta_updates=delta_updates)
