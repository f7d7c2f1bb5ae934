"""``simulated``: an in-memory cloud, from a YAML description.

For the local run, the tests, ``tools/bench_reaper`` and operators'
what-if runs.  The description::

    flavors:
      p1.small:
        resources: {VCPU: 2, MEMORY_MB: 4096, DISK_GB: 20}
        extra_specs: {"arbiter:preemptible": "true"}
      m1.large:
        resources: {VCPU: 8, MEMORY_MB: 16384, DISK_GB: 80}
    aggregates:
      batch: {hosts: [cmp1, cmp2], availability_zone: az1}
    hosts:
      cmp1: {capacity: {VCPU: 16, MEMORY_MB: 65536, DISK_GB: 400}}
      cmp2: {capacity: {VCPU: 16, MEMORY_MB: 65536, DISK_GB: 400},
             traits: [HW_CPU_X86_AVX2], enabled: true, up: true}
    servers:
      - {id: s1, name: job-1, host: cmp1, flavor: p1.small,
         project_id: physics, created_at: 2030-01-01T10:00:00,
         guaranteed_until: null}

A server is preemptible when its flavor's extra spec named by
``[preemption] preemptible_extra_spec`` is ``true``; its priority is the
integer extra spec ``[preemption] priority_extra_spec`` (0 by default).
Stopped servers keep their resources (as in Nova); deleted ones free them.

Snapshots are cached: every change of what a snapshot shows (a server
created or deleted, a host changed) bumps a version, and
:meth:`SimulatedCloud.cluster` builds the models of every host and
server again only when the version or the recorded guarantees changed
since the last snapshot; otherwise it hands out the last one again
(:meth:`~reaper_svc.strategies.model.Cluster.share`).  Locking and
stopping change no snapshot.
"""

import datetime
import threading
import uuid

import yaml

from reaper_svc.drivers import base
from reaper_svc.strategies import model

DEFAULT_PREEMPTIBLE_SPEC = 'arbiter:preemptible'
DEFAULT_PRIORITY_SPEC = 'arbiter:preemption_priority'


def _time(value):
    if value is None or isinstance(value, datetime.datetime):
        return value
    parsed = datetime.datetime.fromisoformat(str(value).replace('Z', ''))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(
            tzinfo=None)
    return parsed


class SimulatedCloud(base.CloudDriver):
    """The in-memory cloud.

    :param description: the parsed YAML description (a dict)
    :param clock: returns the current naive UTC time (for created_at)
    """

    #: The user the reaper creates servers as without a trust.
    user_id = 'reaper'

    def __init__(self, description, preemptible_spec=DEFAULT_PREEMPTIBLE_SPEC,
                 priority_spec=DEFAULT_PRIORITY_SPEC, clock=None):
        self.preemptible_spec = preemptible_spec
        self.priority_spec = priority_spec
        self.clock = clock or datetime.datetime.utcnow
        self._lock = threading.RLock()
        #: Every action taken, in order: (verb, server id, detail).
        self.journal = []
        self._flavors = {
            name: {'resources': dict(item.get('resources') or {}),
                   'extra_specs': dict(item.get('extra_specs') or {})}
            for name, item in (description.get('flavors') or {}).items()}
        self._hosts = {}
        for name, item in (description.get('hosts') or {}).items():
            item = item or {}
            self._hosts[name] = {
                'capacity': dict(item.get('capacity') or {}),
                'traits': frozenset(item.get('traits') or ()),
                'enabled': item.get('enabled', True),
                'up': item.get('up', True)}
        self._aggregates = {}
        self._zones = {}
        for name, item in (description.get('aggregates') or {}).items():
            hosts = frozenset(item.get('hosts') or ())
            unknown = hosts - set(self._hosts)
            if unknown:
                raise ValueError('aggregate %s names unknown hosts: %s'
                                 % (name, ', '.join(sorted(unknown))))
            self._aggregates[name] = hosts
            if item.get('availability_zone'):
                for host in hosts:
                    self._zones[host] = item['availability_zone']
        self._servers = {}
        #: Bumped by every change a snapshot shows (see the module
        #: documentation), and the (version, guarantees, cluster) of the
        #: last snapshot.
        self._version = 0
        self._snapshot = None
        for item in description.get('servers') or ():
            self._add_server(item)

    @classmethod
    def from_yaml(cls, text, **kwargs):
        return cls(yaml.safe_load(text) or {}, **kwargs)

    def _add_server(self, item):
        if item['host'] not in self._hosts:
            raise ValueError('server %s is on unknown host %s'
                             % (item.get('id'), item['host']))
        if item['flavor'] not in self._flavors:
            raise ValueError('server %s has unknown flavor %s'
                             % (item.get('id'), item['flavor']))
        server_id = str(item.get('id') or uuid.uuid4())
        self._changed()
        self._servers[server_id] = {
            'id': server_id, 'name': item.get('name', server_id),
            'host': item['host'], 'flavor': item['flavor'],
            'project_id': item.get('project_id'),
            'user_id': item.get('user_id'),
            'created_at': _time(item.get('created_at')) or self.clock(),
            'guaranteed_until': _time(item.get('guaranteed_until')),
            'status': item.get('status', 'ACTIVE'),
            'metadata': dict(item.get('metadata') or {}),
            'locked': False, 'locked_reason': None}
        return server_id

    # -- the view -----------------------------------------------------

    def _host_model(self, name):
        host = self._hosts[name]
        return model.Host(
            name=name, capacity=host['capacity'],
            aggregates=frozenset(a for a, hosts in self._aggregates.items()
                                 if name in hosts),
            availability_zone=self._zones.get(name),
            enabled=host['enabled'], up=host['up'], traits=host['traits'])

    def _server_model(self, server):
        flavor = self._flavors[server['flavor']]
        specs = flavor['extra_specs']
        return model.Server(
            id=server['id'], host=server['host'],
            resources=flavor['resources'],
            preemptible=model.is_preemptible(specs, self.preemptible_spec),
            created_at=server['created_at'],
            guaranteed_until=server['guaranteed_until'],
            priority=int(specs.get(self.priority_spec, 0)),
            project_id=server['project_id'])

    def _changed(self):
        """What a snapshot shows changed: the next one is built anew."""
        self._version += 1

    def cluster(self):
        guarantees = self.guarantees()
        with self._lock:
            last = self._snapshot
            if (last is not None and last[0] == self._version
                    and last[1] == guarantees):
                return last[2].share()
            servers = [self._server_model(s)
                       for s in self._servers.values()]
            hosts = [self._host_model(name) for name in self._hosts]
            cluster = model.Cluster(
                hosts, base.apply_guarantees(servers, guarantees))
            self._snapshot = (self._version, guarantees, cluster)
        return cluster.share()

    def aggregates(self):
        with self._lock:
            return dict(self._aggregates)

    def flavors(self):
        with self._lock:
            return {name: {'resources': dict(f['resources']),
                           'extra_specs': dict(f['extra_specs'])}
                    for name, f in self._flavors.items()}

    def servers_by_host(self, host):
        with self._lock:
            servers = [self._server_model(s) for s in self._servers.values()
                       if s['host'] == host]
        return self.guaranteed(servers)

    def server(self, server_id):
        with self._lock:
            server = self._server_model(self._get(server_id))
        return self.guaranteed([server])[0]

    def server_state(self, server_id):
        with self._lock:
            server = self._get(server_id)
            return {key: server[key] for key in
                    ('status', 'locked', 'locked_reason', 'host',
                     'project_id', 'name')}

    def set_host(self, name, **changes):
        """Change a host's ``enabled``, ``up`` or ``capacity``."""
        with self._lock:
            self._hosts[name].update(changes)
            self._changed()

    # -- actions ------------------------------------------------------

    def _get(self, server_id):
        try:
            return self._servers[server_id]
        except KeyError:
            raise base.ServerNotFound('no server %s' % server_id)

    def lock(self, server_id, reason):
        with self._lock:
            server = self._get(server_id)
            server['locked'] = True
            server['locked_reason'] = reason
            self.journal.append(('lock', server_id, reason))

    def unlock(self, server_id):
        with self._lock:
            server = self._get(server_id)
            server['locked'] = False
            server['locked_reason'] = None
            self.journal.append(('unlock', server_id, None))

    #: Statuses Nova refuses to stop (409: it stops only ACTIVE and
    #: ERROR servers; SHUTOFF is stopped already).
    UNSTOPPABLE = ('PAUSED', 'SUSPENDED', 'SHELVED', 'RESCUE')

    def stop(self, server_id):
        with self._lock:
            server = self._get(server_id)
            if server['status'] in self.UNSTOPPABLE:
                raise base.DriverError('cannot stop %s while it is %s'
                                       % (server_id, server['status']))
            server['status'] = 'SHUTOFF'
            self.journal.append(('stop', server_id, None))

    def delete(self, server_id):
        with self._lock:
            self._get(server_id)
            del self._servers[server_id]
            self._changed()
            self.journal.append(('delete', server_id, None))

    def create(self, project_id, name, flavor, count, min_count,
               image=None, networks=None, guaranteed_until=None,
               auth=None, metadata=None, on_created=None):
        """First fit over the enabled and up hosts, all at once, as the
        user :meth:`creator` tells for ``auth``; the servers are built at
        once, ``on_created`` is called before returning."""
        user_id = self.creator(auth)
        with self._lock:
            if flavor not in self._flavors:
                raise base.DriverError('no flavor %s' % flavor)
            need = self._flavors[flavor]['resources']
            used = self._used(need)
            free = {h: {rc: max(host['capacity'].get(rc, 0)
                                - used[h].get(rc, 0), 0) for rc in need}
                    for h, host in self._hosts.items()
                    if host['enabled'] and host['up']}
            placed = []
            for host, room in sorted(free.items()):
                while len(placed) < count and all(
                        room[rc] >= amount for rc, amount in need.items()):
                    for rc, amount in need.items():
                        room[rc] -= amount
                    placed.append(host)
            if len(placed) < min_count:
                raise base.NoValidHost(
                    'room for %d of %d servers of %s, %d required'
                    % (len(placed), count, flavor, min_count))
            ids = []
            for index, host in enumerate(placed):
                ids.append(self._add_server({
                    'name': '%s-%d' % (name, index + 1) if count > 1
                    else name, 'host': host, 'flavor': flavor,
                    'project_id': project_id, 'metadata': metadata,
                    'user_id': user_id,
                    'guaranteed_until': guaranteed_until}))
                self.journal.append(('create', ids[-1], host))
        if on_created is not None:
            on_created(list(ids))
        return ids

    def _used(self, classes):
        """``{host: {rc: used}}`` of the resource classes ``classes``,
        from the servers themselves: a create, as Nova's scheduler, does
        not build a snapshot (with its guarantees and indexes) of the
        whole cloud; that made every build after a change cost one,
        which a benchmark of the promoter then counted as its own."""
        used = {name: {} for name in self._hosts}
        for server in self._servers.values():
            on_host = used[server['host']]
            for rc, amount in self._flavors[server['flavor']][
                    'resources'].items():
                if rc in classes:
                    on_host[rc] = on_host.get(rc, 0) + amount
        return used

    def servers_with_metadata(self, project_id, key, value=None):
        with self._lock:
            return [{'id': s['id'], 'status': s['status'],
                     'project_id': s['project_id'],
                     'user_id': s['user_id'],
                     'created_at': s['created_at'],
                     'metadata': dict(s['metadata'] or {})}
                    for s in self._servers.values()
                    if s['project_id'] == project_id
                    and key in (s['metadata'] or {})
                    and value in (None, s['metadata'][key])]

    def creator(self, auth=None):
        """The simulated cloud has no identities: the ``user_id``
        attribute of ``auth`` (a test's stand-in for another user's
        session), else :attr:`user_id`, the reaper's."""
        return getattr(auth, 'user_id', None) or self.user_id

    def set_flavor(self, server_id, flavor):
        """Give a server another flavor (a resize, for what-if runs)."""
        with self._lock:
            if flavor not in self._flavors:
                raise base.DriverError('no flavor %s' % flavor)
            self._get(server_id)['flavor'] = flavor
            self._changed()

    def set_metadata(self, server_id, key, value):
        """Set one metadata item of a server, as its owner can
        (``openstack server set --property``: what-if runs, tests)."""
        with self._lock:
            server = self._get(server_id)
            server['metadata'] = dict(server['metadata'] or {}, **{key: value})

    def set_status(self, server_id, status):
        """Change a server's status (e.g. ``ERROR``: what-if runs)."""
        with self._lock:
            self._get(server_id)['status'] = status


def from_conf(conf):
    """The ``simulated`` driver plugin: the cloud that ``[preemption]
    simulated_cloud`` describes (empty when unset)."""
    options = conf.preemption
    description = {}
    if options.simulated_cloud:
        with open(options.simulated_cloud) as source:
            description = yaml.safe_load(source) or {}
    return SimulatedCloud(description,
                          preemptible_spec=options.preemptible_extra_spec,
                          priority_spec=options.priority_extra_spec)
