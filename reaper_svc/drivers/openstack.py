"""``openstack``: the cloud as Nova and Placement show it.

Everything goes through keystoneauth1 adapters configured by the
``[nova]`` and ``[placement]`` option groups (:mod:`reaper_svc.conf.clouds`):
the reaper's service user needs Nova's admin rights (servers of every
project, services, aggregates, lock, stop and delete of other projects'
servers) and Placement's reader rights.

The snapshot (:meth:`OpenStackCloud.cluster`) is read as follows:

* hosts: Placement's compute-node resource providers, named as Nova's
  hypervisors (compute nodes; a server's host here is its
  ``hypervisor_hostname``); capacity per resource class is
  ``(total - reserved) * allocation_ratio`` of the inventory; traits
  from Placement; aggregates and availability zones from Nova's host
  aggregates; enabled and up from Nova's ``nova-compute`` services;
* servers: ``GET /servers/detail?all_tenants=1`` with Nova's embedded
  flavor (microversion 2.47 and later), so that a server's resources and
  the preemptible and priority extra specs are those of the flavor it was
  booted with, whatever happened to the flavor since. A server is
  preemptible when the flavor extra spec ``[preemption]
  preemptible_extra_spec`` is ``true``: users cannot change a server's
  flavor extra specs (a resize is checked by Nova's quota and policy, and
  changes the flavor the reaper reads).
* what Placement counts as used on a host beyond the servers Nova lists
  there (a migration in progress, a consumer that is not a server) is
  taken off the host's capacity, so that ``free`` is Placement's.

Guarantees of minimum runtime are not read from Nova (server metadata
can be changed by its owner): the promoter's records carry them
(:mod:`reaper_svc.db.guarantees`), applied to every snapshot once the
engine or the API has set the source of guarantees.

Actions: lock with a reason (microversion 2.73), stop (``os-stop``: the
ACPI power button, the soft shutdown that is the notice), delete, and
create with ``min_count`` = ``max_count``, Nova's own all-or-nothing
multi-create. The promoter builds through a session scoped to the
requesting user's Keystone trust when the request has one
(:mod:`reaper_svc.trusts`), else with the reaper's own credentials.
"""

import concurrent.futures
import datetime
import time

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging
from oslo_utils import uuidutils

from reaper_svc.conf import clouds as clouds_conf
from reaper_svc.drivers import base
from reaper_svc import nova_notifications
from reaper_svc.strategies import model
from svc_common.clients import rest

LOG = logging.getLogger(__name__)

#: 2.73: ``locked_reason``; 2.47: the flavor embedded in servers, with
#: its extra specs; 2.37: ``"networks": "none"``; 2.61: extra specs in
#: the flavor list.
NOVA_MICROVERSION = '2.73'
#: 1.6: resource provider traits.
PLACEMENT_MICROVERSION = '1.6'


def adapter(conf, group, auth=None, **kwargs):
    """A keystoneauth1 adapter configured by ``[group]``.

    :param auth: an auth plugin to use instead of the configured one
        (tests of a cloud without Keystone)
    """
    rest.register_opts(conf, group)
    if auth is None:
        auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, group, session=session,
        service_type=conf[group].service_type or {
            clouds_conf.NOVA: 'compute',
            clouds_conf.PLACEMENT: 'placement'}[group],
        **kwargs)


def _time(value):
    """A naive UTC datetime from Nova's ISO 8601 timestamps."""
    if not value:
        return None
    parsed = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(
            tzinfo=None)
    return parsed


def _node(server):
    """The compute node (resource provider) a server is on."""
    return (server.get('OS-EXT-SRV-ATTR:hypervisor_hostname')
            or server.get('OS-EXT-SRV-ATTR:host'))


def server_flavor_resources(flavor):
    """Placement resources of the flavor embedded in a server (2.47+),
    with ``resources:<RC>`` extra specs applied as Nova applies them."""
    resources, _traits = nova_notifications.flavor_resources({
        'vcpus': flavor.get('vcpus'), 'memory_mb': flavor.get('ram'),
        'root_gb': flavor.get('disk'),
        'ephemeral_gb': flavor.get('ephemeral'),
        'swap': flavor.get('swap') or 0,
        'extra_specs': flavor.get('extra_specs')})
    return resources


class OpenStackCloud(base.CloudDriver):
    """Nova and Placement, through keystoneauth1 adapters.

    :param nova: an adapter of the compute service
    :param placement: an adapter of the placement service
    """

    def __init__(self, conf, nova, placement):
        self.conf = conf
        self.nova = nova
        self.placement = placement
        self.preemptible_spec = conf.preemption.preemptible_extra_spec
        self.priority_spec = conf.preemption.priority_extra_spec

    # -- HTTP ---------------------------------------------------------

    def _nova(self, method, path, **kwargs):
        try:
            return self.nova.request(path, method,
                                     microversion=NOVA_MICROVERSION,
                                     **kwargs)
        except ks_exc.NotFound as exc:
            raise base.ServerNotFound(str(exc)) from exc
        except ks_exc.ClientException as exc:
            # From keystoneauth1's error: the engine tells Nova away
            # (svc_common.outage) from Nova refusing.
            raise base.DriverError('Nova: %s %s: %s'
                                   % (method, path, exc)) from exc

    def _placement(self, path):
        try:
            return self.placement.get(
                path, microversion=PLACEMENT_MICROVERSION).json()
        except ks_exc.ClientException as exc:
            raise base.DriverError('Placement: GET %s: %s'
                                   % (path, exc)) from exc

    def _pages(self, path, key, **params):
        """Every item of Nova's list ``path`` (under ``key``) matching
        ``params``, page by page.

        Nova returns at most its ``[api] max_limit`` items a page (1000
        by default) whatever ``limit`` asks, servers, flavors and
        hypervisors alike, with a ``next`` link when there may be more:
        a page shorter than ``[nova] page_size`` is the last only when
        it has no such link."""
        params = dict(params, limit=self.conf.nova.page_size)
        while True:
            body = self._nova('GET', path, params=params).json()
            page = body[key]
            yield from page
            more = any(link.get('rel') == 'next'
                       for link in body.get(key + '_links') or ())
            if not page or (len(page) < params['limit'] and not more):
                return
            params['marker'] = page[-1]['id']

    def _servers(self, **filters):
        """Every server (all projects) matching ``filters`` (see
        :meth:`_pages`)."""
        return self._pages('/servers/detail', 'servers', all_tenants='1',
                           **filters)

    def _flavors(self):
        """Every flavor, public or not (see :meth:`_pages`): one on a
        page after the first was "no flavor" to the promoter, which
        failed the requests of it."""
        return list(self._pages('/flavors/detail', 'flavors',
                                is_public='None'))

    # -- the view -----------------------------------------------------

    def _server_model(self, server):
        flavor = server.get('flavor') or {}
        specs = flavor.get('extra_specs') or {}
        try:
            priority = int(specs.get(self.priority_spec, 0))
        except (TypeError, ValueError):
            priority = 0
        return model.Server(
            id=server['id'], host=_node(server),
            resources=server_flavor_resources(flavor),
            preemptible=model.is_preemptible(specs, self.preemptible_spec),
            created_at=_time(server.get('created')),
            guaranteed_until=None, priority=priority,
            project_id=server.get('tenant_id'))

    def _provider(self, provider):
        """``(capacity, used, traits)`` of one resource provider."""
        path = '/resource_providers/%s' % provider['uuid']
        inventories = self._placement(path + '/inventories')['inventories']
        usages = self._placement(path + '/usages')['usages']
        traits = self._placement(path + '/traits')['traits']
        capacity = {
            rc: int((inv['total'] - inv.get('reserved', 0))
                    * inv.get('allocation_ratio', 1.0))
            for rc, inv in inventories.items()}
        return capacity, usages, frozenset(traits)

    def _services(self):
        return {s['host']: s for s in self._nova(
            'GET', '/os-services',
            params={'binary': 'nova-compute'}).json()['services']}

    def _service_hosts(self):
        """Compute node name -> the host of its nova-compute service
        (they differ where hypervisors report a fully qualified name)."""
        # Every page: a node past the first (Nova's [api] max_limit,
        # 1000) was taken for a host of its own name, disabled and down
        # when its compute service's host has another name (Ironic).
        hypervisors = self._pages('/os-hypervisors/detail', 'hypervisors')
        return {h['hypervisor_hostname']: (h.get('service') or {}).get(
            'host', h['hypervisor_hostname']) for h in hypervisors}

    def _aggregate_list(self):
        return self._nova('GET', '/os-aggregates').json()['aggregates']

    def cluster(self):
        providers = [
            rp for rp in self._placement('/resource_providers')[
                'resource_providers']
            # Nested providers (GPUs, NUMA) are counted in their root.
            if rp.get('parent_provider_uuid') is None]
        services = self._services()
        service_hosts = self._service_hosts()
        aggregates = self._aggregate_list()
        with concurrent.futures.ThreadPoolExecutor(
                self.conf.placement.concurrency) as pool:
            details = dict(zip(
                [rp['name'] for rp in providers],
                pool.map(self._provider, providers)))
        servers = self.guaranteed(
            self._server_model(s) for s in self._servers()
            if _node(s) in details)
        listed = {name: {} for name in details}
        for server in servers:
            for rc, amount in server.resources.items():
                listed[server.host][rc] = listed[server.host].get(rc, 0) \
                    + amount
        hosts = []
        for name, (capacity, usages, traits) in details.items():
            # Used in Placement but by no server listed here: less room.
            for rc, used in usages.items():
                unlisted = used - listed[name].get(rc, 0)
                if unlisted > 0 and rc in capacity:
                    capacity[rc] = max(capacity[rc] - unlisted, 0)
            service_host = service_hosts.get(name, name)
            service = services.get(service_host, {})
            member = [a for a in aggregates
                      if service_host in (a.get('hosts') or ())]
            zones = [a['availability_zone'] for a in member
                     if a.get('availability_zone')]
            hosts.append(model.Host(
                name=name, capacity=capacity,
                aggregates=frozenset(a['name'] for a in member),
                availability_zone=zones[0] if zones else None,
                enabled=service.get('status') == 'enabled',
                up=service.get('state') == 'up', traits=traits,
                service_host=service_host if service_host != name else None))
        return model.Cluster(hosts, servers)

    def aggregates(self):
        return {a['name']: frozenset(a.get('hosts') or ())
                for a in self._aggregate_list()}

    def flavors(self):
        flavors = self._flavors()
        return {f['name']: {
            'resources': server_flavor_resources(f),
            'extra_specs': dict(f.get('extra_specs') or {})}
            for f in flavors}

    def servers_by_host(self, host):
        return self.guaranteed(self._server_model(s)
                               for s in self._servers(host=host))

    def server(self, server_id):
        # The flavor embedded in the server (2.47+), as in the snapshot.
        server = self._nova('GET', '/servers/%s' % server_id).json()[
            'server']
        return self.guaranteed([self._server_model(server)])[0]

    def server_state(self, server_id):
        server = self._nova('GET', '/servers/%s' % server_id).json()[
            'server']
        return {'status': server['status'], 'locked': server.get('locked'),
                'locked_reason': server.get('locked_reason'),
                'host': server.get('OS-EXT-SRV-ATTR:host'),
                'project_id': server.get('tenant_id'),
                'name': server.get('name')}

    # -- actions ------------------------------------------------------

    def _action(self, server_id, name, body=None):
        return self._nova('POST', '/servers/%s/action' % server_id,
                          json={name: body})

    def lock(self, server_id, reason):
        self._action(server_id, 'lock', {'locked_reason': reason})

    def unlock(self, server_id):
        self._action(server_id, 'unlock')

    #: How often, and how far apart, a stop Nova refuses with a conflict
    #: is tried again: Nova answers 409 while another task runs on the
    #: server (a lock or a state change just sent), which passes.
    STOP_ATTEMPTS = 20
    STOP_RETRY_SECONDS = 1.0
    #: Statuses whose stop Nova refuses for as long as they last (it
    #: stops only ACTIVE and ERROR servers): not tried again.
    UNSTOPPABLE = ('PAUSED', 'SUSPENDED', 'SHELVED', 'SHELVED_OFFLOADED',
                   'RESCUE')

    def stop(self, server_id):
        for attempt in range(1, self.STOP_ATTEMPTS + 1):
            try:
                self._action(server_id, 'os-stop')
                return
            except base.ServerNotFound:
                raise
            except base.DriverError:
                # 409 when it is stopped already: the notice was given.
                status = self.server_state(server_id)['status']
                if status == 'SHUTOFF':
                    LOG.info('Server %s was stopped already', server_id)
                    return
                if status in self.UNSTOPPABLE or (
                        attempt == self.STOP_ATTEMPTS):
                    raise
                LOG.info('Nova refused to stop %s for now (attempt %d); '
                         'trying again', server_id, attempt)
                time.sleep(self.STOP_RETRY_SECONDS)

    def delete(self, server_id):
        self._nova('DELETE', '/servers/%s' % server_id)

    def create(self, project_id, name, flavor, count, min_count,
               image=None, networks=None, guaranteed_until=None,
               auth=None, metadata=None, on_created=None):
        """Nova's multi-create with ``min_count``: all of them or none.

        Built with ``auth`` when given (a session scoped to the
        requesting user's trust: the servers are that user's, in that
        project), else with the reaper's own credentials; waits until no
        server is in BUILD.  ``on_created`` is called with the ids the
        first listing of the reservation shows (right after the POST,
        before Nova has scheduled them).

        A build that fails leaves nothing behind: the servers of the
        reservation are deleted before the error is raised (Nova keeps
        the servers it found no room for, in ``ERROR``, in the user's
        project and quota; each pass that tried again left more), and
        so are the servers still building at the timeout.  When at
        least ``min_count`` servers were built, only those in ``ERROR``
        are deleted and the others returned.

        :raises NoValidHost: Nova found no room for ``min_count``
        """
        matching = [f['id'] for f in self._flavors()
                    if f['name'] == flavor]
        if not matching:
            raise base.DriverError('no flavor %s' % flavor)
        body = {'name': name, 'flavorRef': matching[0], 'imageRef': image,
                'min_count': min_count, 'max_count': count,
                'return_reservation_id': True,
                # Nova takes networks as objects (a list of ids was a
                # 400: every request naming a network failed).
                'networks': ([{'uuid': network} for network in networks]
                             if networks else 'none')}
        if metadata:
            body['metadata'] = dict(metadata)
        extra = {} if auth is None else {'auth': auth}
        # Sent once, whatever [nova] connect_retries says: keystoneauth1
        # would send it again after a connection closed once it was sent
        # (which Nova may have carried out), and raise only the last
        # failure, a refused connection, telling the promoter that Nova
        # never got it.
        reservation = self._nova('POST', '/servers', json={
            'server': body}, connect_retries=0,
            **extra).json()['reservation_id']
        deadline = time.monotonic() + self.conf.nova.create_timeout
        announced = on_created is None
        while True:
            servers = list(self._servers(reservation_id=reservation))
            if servers and not announced:
                announced = True
                on_created([s['id'] for s in servers])
            if servers and not any(s['status'] == 'BUILD'
                                   for s in servers):
                break
            if time.monotonic() > deadline:
                self._delete_all(s['id'] for s in servers)
                raise base.DriverError(
                    'servers of reservation %s still building after %d s'
                    % (reservation, self.conf.nova.create_timeout))
            time.sleep(1)
        failed = [s for s in servers if s['status'] == 'ERROR']
        built = [s['id'] for s in servers if s['status'] != 'ERROR']
        if failed and len(built) >= min_count:
            self._delete_all(s['id'] for s in failed)
        elif failed:
            self._delete_all(s['id'] for s in servers)
            fault = failed[0].get('fault') or {}
            if 'No valid host' in fault.get('message', ''):
                raise base.NoValidHost(
                    'room for fewer than %d servers of %s: %s'
                    % (min_count, flavor, fault.get('message')))
            raise base.DriverError('build of %s failed: %s'
                                   % (reservation, fault))
        return built

    def spec_problem(self, spec):
        # Nova's POST /servers takes an image and networks by their IDs,
        # UUIDs; a name (CentOS-7) was a 400 at the build.
        if not uuidutils.is_uuid_like(spec.get('image')):
            return ('image', 'Nova takes an image by its ID (a UUID), not '
                             'by its name.')
        for index, network in enumerate(spec.get('networks') or ()):
            if not uuidutils.is_uuid_like(network):
                return ('networks/%d' % index,
                        'Nova takes a network by its ID (a UUID), not by '
                        'its name.')
        return None

    def _delete_all(self, server_ids):
        """Delete what a failed build left; a failure is only logged (the
        build's own error is what the caller must see)."""
        for server_id in server_ids:
            try:
                self.delete(server_id)
            except base.ServerNotFound:
                pass
            except base.DriverError as exc:
                LOG.warning('Could not delete %s of a failed build: %s',
                            server_id, exc)

    def creator(self, auth=None):
        # The user of the token Nova gets with ``auth`` (a trust's token
        # is the trustor's): the user_id Nova gives the servers created.
        try:
            return self.nova.get_user_id(auth=auth)
        except ks_exc.ClientException as exc:
            raise base.DriverError('Keystone: the user of the reaper\'s '
                                   'token: %s' % exc) from exc

    def servers_with_metadata(self, project_id, key, value=None):
        # Nova filters server lists by project, not by metadata: the
        # project's servers are read (every page) and sorted here, once
        # for all the values of key when value is None.  The project is
        # checked here too: a Nova (or a policy) that ignored the filter
        # would answer every project's servers, and what is found here
        # may be deleted.
        return [{'id': s['id'], 'status': s['status'],
                 'project_id': s.get('tenant_id'),
                 'user_id': s.get('user_id'),
                 'created_at': _time(s.get('created')),
                 'metadata': dict(s.get('metadata') or {})}
                for s in self._servers(project_id=project_id)
                if s.get('tenant_id') == project_id
                and key in (s.get('metadata') or {})
                and value in (None, s['metadata'][key])]


def from_conf(conf, nova_auth=None, placement_auth=None):
    """The ``openstack`` driver plugin, configured by ``[nova]`` and
    ``[placement]``.

    :param nova_auth: an auth plugin instead of ``[nova]``'s (tests)
    :param placement_auth: an auth plugin instead of ``[placement]``'s
    """
    return OpenStackCloud(
        conf, adapter(conf, clouds_conf.NOVA, auth=nova_auth),
        adapter(conf, clouds_conf.PLACEMENT, auth=placement_auth))
