"""The interface every cloud driver implements.

The engine and the API talk to a cloud only through it: a snapshot of the
cloud for victim selection (:meth:`CloudDriver.cluster`), capacity per
aggregate, and the actions (lock, stop, delete, create).  Server ids are
the cloud's (Nova's UUIDs); actions on a server that is gone raise
:class:`ServerNotFound`, which callers treat as already done where that
is what they wanted.
"""

import abc
import dataclasses


class DriverError(Exception):
    """The cloud refused or failed an action."""


class ServerNotFound(DriverError):
    """No such server (it may have been deleted already)."""


class NoValidHost(DriverError):
    """A create found no room for ``min_count`` servers."""


def capacity_by_aggregate(cluster, aggregates):
    """Per aggregate and resource class: total, used, preemptible, free.

    :param cluster: a :class:`reaper_svc.strategies.model.Cluster`
    :param aggregates: aggregate name -> host names
    :returns: ``{aggregate: {rc: {'total', 'used', 'preemptible',
        'free'}}}``; ``preemptible`` is what preemptible servers use;
        ``free`` counts enabled and up hosts only.
    """
    result = {}
    for name, host_names in sorted(aggregates.items()):
        per_rc = {}
        for host_name in host_names:
            host = cluster.hosts.get(host_name)
            if host is None:
                continue
            for rc, total in host.capacity.items():
                entry = per_rc.setdefault(rc, dict.fromkeys(
                    ('total', 'used', 'preemptible', 'free'), 0))
                used = cluster.used[host_name].get(rc, 0)
                entry['total'] += total
                entry['used'] += used
                if host.enabled and host.up:
                    entry['free'] += max(total - used, 0)
        # From the snapshot's index of preemptible servers per host and
        # resources: the aggregate's hosts, not every server of the cloud
        # once per aggregate.
        for host_name in set(host_names):
            for key, (_ends, ids) in cluster.preemptible.get(
                    host_name, {}).items():
                for rc, amount in key:
                    if rc in per_rc:
                        per_rc[rc]['preemptible'] += amount * len(ids)
        result[name] = per_rc
    return result


def apply_guarantees(servers, guarantees):
    """``servers`` (model Server objects) with the guarantees recorded by
    the reaper applied: each keeps the later of its own end of guarantee
    and the recorded one.

    :param guarantees: ``{server id: guaranteed until}`` (naive UTC)
    """
    if not guarantees:
        return list(servers)
    applied = []
    for server in servers:
        until = guarantees.get(server.id)
        if until is not None and (server.guaranteed_until is None
                                  or server.guaranteed_until < until):
            server = dataclasses.replace(server, guaranteed_until=until)
        applied.append(server)
    return applied


class CloudDriver(metaclass=abc.ABCMeta):
    """A cloud as the reaper sees it.  Implementations are thread-safe.

    Snapshots carry the guaranteed minimum runtimes the promoter recorded
    (:mod:`reaper_svc.db.guarantees`) once a source of them is set with
    :meth:`set_guarantee_source`: implementations pass their servers
    through :meth:`guaranteed` before building the cluster.
    """

    _guarantee_source = None

    def set_guarantee_source(self, source):
        """``source()`` returns ``{server id: guaranteed until}``."""
        self._guarantee_source = source

    @property
    def has_guarantee_source(self):
        return self._guarantee_source is not None

    def guarantees(self):
        """The recorded ``{server id: guaranteed until}`` ({} without a
        source)."""
        if self._guarantee_source is None:
            return {}
        return self._guarantee_source()

    def guaranteed(self, servers):
        """``servers`` with the recorded guarantees applied."""
        return apply_guarantees(servers, self.guarantees())

    @abc.abstractmethod
    def cluster(self):
        """A :class:`reaper_svc.strategies.model.Cluster` snapshot: every
        compute host and every server placed on one."""

    @abc.abstractmethod
    def aggregates(self):
        """Aggregate name -> frozenset of host names."""

    def capacity(self):
        """See :func:`capacity_by_aggregate`."""
        return capacity_by_aggregate(self.cluster(), self.aggregates())

    @abc.abstractmethod
    def flavors(self):
        """Flavor name -> ``{'resources': {rc: n}, 'extra_specs': {}}``."""

    @abc.abstractmethod
    def servers_by_host(self, host):
        """The servers on ``host`` (model Server objects)."""

    def server(self, server_id):
        """One server as a snapshot would show it (a model Server, with
        its recorded guarantee), read now: what the reaper checks a
        victim against just before deleting it.  This default reads a
        whole snapshot; drivers read the one server.

        :raises ServerNotFound: it is gone (or on no host the snapshots
            show)
        """
        found = self.cluster().servers.get(server_id)
        if found is None:
            raise ServerNotFound('no server %s' % server_id)
        return found

    @abc.abstractmethod
    def server_state(self, server_id):
        """``{'status', 'locked', 'locked_reason', 'host'}``.

        :raises ServerNotFound: it is gone
        """

    @abc.abstractmethod
    def lock(self, server_id, reason):
        """Lock the server with ``reason`` (its owner sees why)."""

    @abc.abstractmethod
    def unlock(self, server_id):
        """Unlock the server (given back to its owner: a notice the
        reaper took back)."""

    @abc.abstractmethod
    def stop(self, server_id):
        """Soft shutdown (Nova's stop: ACPI power button)."""

    @abc.abstractmethod
    def delete(self, server_id):
        """Delete the server."""

    @abc.abstractmethod
    def create(self, project_id, name, flavor, count, min_count,
               image=None, networks=None, guaranteed_until=None,
               auth=None, metadata=None, on_created=None):
        """Build ``count`` servers, at least ``min_count`` or none.

        :param auth: a keystoneauth1 auth plugin to build with (scoped to
            the requesting user's trust); None: the driver's own
        :param metadata: ``{key: value}`` set on every server (Nova's
            server metadata), found again by :meth:`servers_with_metadata`
        :param on_created: called once with the new server ids as soon as
            the cloud has them, before they leave ``BUILD``: from then
            on they are in the snapshots, and the promoter records their
            guaranteed runtime there, not after the build

        :returns: the new server ids
        :raises NoValidHost: not even ``min_count`` fit
        """

    def spec_problem(self, spec):
        """Why the cloud would refuse to :meth:`create` servers of
        ``spec`` (a kind of server of a pending request: ``name``,
        ``flavor``, ``image``, ``networks``), as ``(field, reason)``
        (``field`` relative to the spec: ``image``, ``networks/1``), or
        None.  The API asks at submission: queued, such a request failed
        when it was built, hours later perhaps."""
        return None

    def creator(self, auth=None):
        """The user id (Nova's ``user_id``) of the servers that
        :meth:`create` makes with ``auth``: the trustor with a trust's
        session, else the reaper's own user; None when unknown.  Server
        metadata is any project member's to copy: the promoter takes as
        its own only the servers of the user it created them as.

        :raises DriverError: the cloud cannot tell now
        """
        raise NotImplementedError()

    def servers_with_metadata(self, project_id, key, value=None):
        """``[{'id', 'status', 'project_id', 'user_id', 'created_at',
        'metadata'}]`` (``user_id``: the user who created it;
        ``created_at`` naive UTC, None when unknown) of the
        servers of ``project_id`` whose metadata ``key`` is ``value``
        (what an interrupted :meth:`create` left), or that have ``key``
        whatever its value when ``value`` is None (one listing for the
        requests of a project); a server of another project is never in
        it, whatever the cloud's filter did."""
        raise NotImplementedError()
