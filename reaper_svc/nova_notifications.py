"""What the reaper reads in Nova's notifications (pure parsing).

Scheduling failures come in two shapes, both with priority ``error``:

* versioned ``compute_task.build_instances.error``: a
  ``ComputeTaskPayload`` whose ``reason`` is an ``ExceptionPayload``
  with ``exception`` ``NoValidHost`` (``NoValidHost_Remote`` when the
  scheduler raised it over RPC) and whose ``request_spec`` is a
  ``RequestSpecPayload`` (flavor, ``num_instances``, availability zone);
* legacy ``compute_task.build_instances``: ``reason`` is the repr of the
  exception (``...'class': 'NoValidHost_Remote'...``) and
  ``request_spec`` holds ``instance_type``, ``num_instances`` and
  ``instance_properties``.

A boot of several servers at once (``openstack server create --min N``)
that finds no valid host sends one failure per instance, each naming its
own instance but all carrying the same request spec, whose instance uuid
is the first instance's: :attr:`SchedulingFailure.boot_id` is that uuid,
so the N notifications of one boot are one trigger (room for all N is
made once).  Nova sends both shapes when ``[notifications]
notification_format = both``; they share the same ``boot_id`` too, so
the engine acts on whichever arrives first.  ``instance.delete.end``
(versioned) and ``compute.instance.delete.end`` (legacy) name a deleted
instance.
"""

import dataclasses
import math
import typing

from reaper_svc.strategies import model

VERSIONED_FAILURE = 'compute_task.build_instances.error'
LEGACY_FAILURE = 'compute_task.build_instances'
DELETE_EVENTS = ('instance.delete.end', 'compute.instance.delete.end')
EVENT_TYPES = (VERSIONED_FAILURE, LEGACY_FAILURE) + DELETE_EVENTS

NO_VALID_HOST = 'NoValidHost'


@dataclasses.dataclass(frozen=True)
class SchedulingFailure(object):
    """A boot that found no valid host.

    :param instance_uuid: the instance this notification is about
    :param boot_id: what identifies the boot it was part of (the request
        spec's instance uuid: the same for every instance of a
        multi-create), the reaper's trigger id
    :param hosts: the hosts or nodes the boot was forced to (an admin's
        ``--availability-zone az:host`` or ``--host``); None: any
    """

    instance_uuid: str
    project_id: typing.Optional[str]
    flavor_name: typing.Optional[str]
    resources: dict
    count: int
    availability_zone: typing.Optional[str]
    required_traits: frozenset
    boot_id: typing.Optional[str] = None
    hosts: typing.Optional[frozenset] = None
    forbidden_traits: frozenset = frozenset()


def _data(obj):
    """The fields of a versioned object payload (or the dict itself)."""
    if isinstance(obj, dict) and 'nova_object.data' in obj:
        return obj['nova_object.data']
    return obj or {}


def flavor_resources(flavor):
    """Placement resources and required traits of a flavor dict, with
    ``resources:<RC>`` and ``trait:<T>=required`` extra specs applied as
    Nova applies them."""
    disk = ((flavor.get('root_gb') or 0) + (flavor.get('ephemeral_gb') or 0)
            + int(math.ceil((flavor.get('swap') or 0) / 1024.0)))
    resources = {'VCPU': flavor.get('vcpus') or 0,
                 'MEMORY_MB': flavor.get('memory_mb') or 0,
                 'DISK_GB': disk}
    for key, value in (flavor.get('extra_specs') or {}).items():
        if key.startswith('resources:'):
            try:
                resources[key[len('resources:'):]] = int(value)
            except (TypeError, ValueError):
                continue
    required, _forbidden = model.flavor_traits(flavor.get('extra_specs'))
    return {rc: n for rc, n in resources.items() if n > 0}, required


def forced_hosts(spec):
    """The hosts or nodes a versioned request spec is forced to (its
    ``force_hosts``, ``force_nodes``, and ``requested_destination``'s
    host and node), or None."""
    destination = _data(spec.get('requested_destination'))
    names = {spec.get('force_hosts'), spec.get('force_nodes'),
             destination.get('host'), destination.get('node')}
    names.discard(None)
    names.discard('')
    return frozenset(names) if names else None


def _failure(instance_uuid, boot_id, project_id, flavor, count, zone,
             hosts=None):
    resources, traits = flavor_resources(flavor)
    _required, forbidden = model.flavor_traits(flavor.get('extra_specs'))
    instance_uuid = instance_uuid or boot_id
    if not instance_uuid or not resources:
        return None
    return SchedulingFailure(
        instance_uuid=instance_uuid, project_id=project_id,
        flavor_name=flavor.get('name'), resources=resources,
        count=max(int(count or 1), 1), availability_zone=zone or None,
        required_traits=traits, boot_id=boot_id or instance_uuid,
        hosts=hosts, forbidden_traits=forbidden)


def scheduling_failure(event_type, payload):
    """The :class:`SchedulingFailure` a notification reports, or None
    (another event, or a failure that is not NoValidHost)."""
    if event_type == VERSIONED_FAILURE:
        data = _data(payload)
        reason = _data(data.get('reason'))
        if NO_VALID_HOST not in str(reason.get('exception', '')):
            return None
        spec = _data(data.get('request_spec'))
        return _failure(data.get('instance_uuid'),
                        spec.get('instance_uuid'), spec.get('project_id'),
                        _data(spec.get('flavor')),
                        spec.get('num_instances'),
                        spec.get('availability_zone'), forced_hosts(spec))
    if event_type == LEGACY_FAILURE:
        payload = payload or {}
        if NO_VALID_HOST not in str(payload.get('reason', '')):
            return None
        spec = payload.get('request_spec') or {}
        props = spec.get('instance_properties') or payload.get(
            'instance_properties') or {}
        return _failure(payload.get('instance_id'), props.get('uuid'),
                        props.get('project_id'),
                        spec.get('instance_type') or {},
                        spec.get('num_instances'),
                        props.get('availability_zone'))
    return None


def deleted_instance(event_type, payload):
    """The uuid of the instance an ``*.delete.end`` reports, or None."""
    if event_type not in DELETE_EVENTS:
        return None
    data = _data(payload)
    return data.get('uuid') or data.get('instance_id')
