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

A notification of one of these types whose payload does not have the
shape Nova gives it (an object where a number is, a number where a
string is, an id longer than any Nova writes) raises
:class:`MalformedNotification`: the engine logs it and acknowledges it.
Any other exception would have made oslo.messaging requeue it, and
RabbitMQ would have delivered it again at once, for ever.
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

#: The longest id (instance, boot, host) taken from a notification: the
#: reaper stores trigger ids in 255 characters.
MAX_ID_LENGTH = 255
#: The longest project id (Keystone's are at most 64 characters; so is
#: the column of the actions that store it).
MAX_PROJECT_ID_LENGTH = 64
#: The longest message id (oslo.messaging writes a UUID, 36 characters;
#: the ``processed_notifications`` column that records it holds 64).
MAX_MESSAGE_ID_LENGTH = 64


class MalformedNotification(ValueError):
    """A notification of a type the reaper reads, whose payload does not
    have the shape Nova gives it."""


@dataclasses.dataclass(frozen=True)
class SchedulingFailure(object):
    """A boot that found no valid host.

    :param instance_uuid: the instance this notification is about
    :param boot_id: what identifies the boot it was part of (the request
        spec's instance uuid: the same for every instance of a
        multi-create), the reaper's trigger id
    :param hosts: the hosts or nodes the boot was forced to (an admin's
        ``--availability-zone az:host`` or ``--host``); None: any
    :param extra_specs: the flavor's extra specs, as ``(key, value)``
        pairs (a dict of them: ``dict(failure.extra_specs)``)
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
    extra_specs: frozenset = frozenset()


def _data(obj, what='payload'):
    """The fields of a versioned object payload (or the dict itself; an
    empty dict for None)."""
    if obj is None:
        return {}
    if isinstance(obj, dict) and 'nova_object.data' in obj:
        obj = obj['nova_object.data']
        if obj is None:
            return {}
    if not isinstance(obj, dict):
        raise MalformedNotification('%s is a %s, not an object'
                                    % (what, type(obj).__name__))
    return obj


def _count(value, what):
    """A non-negative integer of a payload (None: 0)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedNotification('%s is %.40r, not a count'
                                    % (what, value))
    return value


def _text(value, what, max_length=MAX_ID_LENGTH):
    """A string of at most ``max_length`` characters, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise MalformedNotification(
            '%s is %.40r, not a string of at most %d characters'
            % (what, value, max_length))
    return value


def _extra_specs(flavor):
    specs = flavor.get('extra_specs')
    if specs is None:
        return {}
    if not isinstance(specs, dict) or not all(
            isinstance(v, str) for v in specs.values()):
        raise MalformedNotification('the flavor\'s extra_specs are not an '
                                    'object of strings')
    return specs


def flavor_resources(flavor):
    """Placement resources and required traits of a flavor dict, with
    ``resources:<RC>`` and ``trait:<T>=required`` extra specs applied as
    Nova applies them."""
    amounts = {field: _count(flavor.get(field), 'flavor ' + field)
               for field in ('root_gb', 'ephemeral_gb', 'swap', 'vcpus',
                             'memory_mb')}
    disk = (amounts['root_gb'] + amounts['ephemeral_gb']
            + int(math.ceil(amounts['swap'] / 1024.0)))
    resources = {'VCPU': amounts['vcpus'],
                 'MEMORY_MB': amounts['memory_mb'],
                 'DISK_GB': disk}
    specs = _extra_specs(flavor)
    for key, value in specs.items():
        if key.startswith('resources:'):
            try:
                resources[key[len('resources:'):]] = int(value)
            except (TypeError, ValueError):
                continue
    required, _forbidden = model.flavor_traits(specs)
    return {rc: n for rc, n in resources.items() if n > 0}, required


def forced_hosts(spec):
    """The hosts or nodes a versioned request spec is forced to (its
    ``force_hosts``, ``force_nodes``, and ``requested_destination``'s
    host and node), or None."""
    destination = _data(spec.get('requested_destination'),
                        'requested_destination')
    names = {_text(spec.get('force_hosts'), 'force_hosts'),
             _text(spec.get('force_nodes'), 'force_nodes'),
             _text(destination.get('host'), 'requested_destination host'),
             _text(destination.get('node'), 'requested_destination node')}
    names.discard(None)
    names.discard('')
    return frozenset(names) if names else None


def _failure(instance_uuid, boot_id, project_id, flavor, count, zone,
             hosts=None):
    resources, traits = flavor_resources(flavor)
    specs = _extra_specs(flavor)
    _required, forbidden = model.flavor_traits(specs)
    # Both checked: the boot's id is the trigger id the action records
    # (255 characters), and was taken unchecked when the instance's own
    # uuid was given (an object or a longer string failed the insert at
    # every delivery, the database's error requeueing it for ever).
    boot_id = _text(boot_id, 'request spec instance uuid')
    instance_uuid = _text(instance_uuid, 'instance uuid') or boot_id
    if not instance_uuid or not resources:
        return None
    return SchedulingFailure(
        instance_uuid=instance_uuid,
        project_id=_text(project_id, 'project_id', MAX_PROJECT_ID_LENGTH),
        flavor_name=_text(flavor.get('name'), 'flavor name'),
        resources=resources,
        count=max(_count(count, 'num_instances'), 1),
        availability_zone=_text(zone, 'availability_zone') or None,
        required_traits=traits, boot_id=boot_id or instance_uuid,
        hosts=hosts, forbidden_traits=forbidden,
        extra_specs=frozenset(specs.items()))


def scheduling_failure(event_type, payload):
    """The :class:`SchedulingFailure` a notification reports, or None
    (another event, or a failure that is not NoValidHost).

    :raises MalformedNotification: a failure whose payload does not have
        the shape Nova gives it
    """
    if event_type == VERSIONED_FAILURE:
        data = _data(payload)
        reason = _data(data.get('reason'), 'reason')
        if NO_VALID_HOST not in str(reason.get('exception', '')):
            return None
        spec = _data(data.get('request_spec'), 'request_spec')
        return _failure(data.get('instance_uuid'),
                        spec.get('instance_uuid'), spec.get('project_id'),
                        _data(spec.get('flavor'), 'flavor'),
                        spec.get('num_instances'),
                        spec.get('availability_zone'), forced_hosts(spec))
    if event_type == LEGACY_FAILURE:
        payload = _data(payload)
        if NO_VALID_HOST not in str(payload.get('reason', '')):
            return None
        spec = _data(payload.get('request_spec'), 'request_spec')
        props = _data(spec.get('instance_properties') or payload.get(
            'instance_properties'), 'instance_properties')
        return _failure(payload.get('instance_id'), props.get('uuid'),
                        props.get('project_id'),
                        _data(spec.get('instance_type'), 'instance_type'),
                        spec.get('num_instances'),
                        props.get('availability_zone'))
    return None


def message_id(metadata):
    """The ``message_id`` of a notification's metadata, or None when it
    has none (such a message is handled every time it comes).

    :raises MalformedNotification: the metadata is not an object, or the
        id is not a string of 1 to :data:`MAX_MESSAGE_ID_LENGTH`
        characters (the reaper could not record it: it would fail every
        delivery, and be delivered again for ever)
    """
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise MalformedNotification('metadata is a %s, not an object'
                                    % type(metadata).__name__)
    value = metadata.get('message_id')
    if value is None:
        return None
    if (not isinstance(value, str)
            or not 0 < len(value) <= MAX_MESSAGE_ID_LENGTH):
        raise MalformedNotification('message_id is %.40r, not a string of '
                                    '1 to %d characters'
                                    % (value, MAX_MESSAGE_ID_LENGTH))
    return value


def deleted_instance(event_type, payload):
    """The uuid of the instance an ``*.delete.end`` reports, or None.

    :raises MalformedNotification: its payload does not have the shape
        Nova gives it
    """
    if event_type not in DELETE_EVENTS:
        return None
    data = _data(payload)
    return (_text(data.get('uuid'), 'uuid') or
            _text(data.get('instance_id'), 'instance_id'))
