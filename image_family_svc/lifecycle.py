"""The lifecycle of an image in a family: states, transitions, latest.

Pure logic, no HTTP and no database: the API and the engine hand it plain
:class:`Member` values and apply what it answers.

States, in the order an image normally walks them::

    testing -> beta -> active -> deprecated -> obsolete
                                                  |
                             pending_delete <-----+   (asked: "deleted")
                                   |
                                deleted            (once no server uses it
                                                    and it is drained)

* ``testing``: seen by the family's owner and operators only.
* ``beta``: public opt-in; never the family's latest on the default
  channel, but candidate on the ``beta`` channel.
* ``active``: bootable; the newest active image is the family's latest.
* ``deprecated``: hidden from the default lists, still bootable and
  findable, points to its successor.
* ``obsolete``: no new boots; servers already running from it keep
  working (live migration, evacuation, rebuild in place).
* ``pending_delete``: deletion asked while servers still use the image,
  or before it has been obsolete for the drain period.
* ``deleted``: final; removed from Glance.

Drain
-----

A server counts for its image from the start of its build on a compute
host (``instance.create.start``), but Nova's scheduler admitted it
earlier, and may have admitted it before the image became obsolete (the
Nova filter also reuses a "may boot" answer for a while).  So an image
is deleted only once it has been obsolete (no new boots) for a drain
period (``[image_family] obsolete_drain_seconds``) *and* no server uses
it: a server admitted before then has had the time to be counted.  The
caller of this module decides whether the period has passed
(``drained``).

Rollback is a transition too: ``deprecated -> active`` (un-deprecate),
``obsolete -> deprecated|active``, ``pending_delete -> obsolete`` (cancel
a deletion that has not happened yet).  ``deleted`` is final.

Who is latest
-------------

Members are ordered by :func:`order_key`: their version compared
naturally (``7.10`` after ``7.9``; digits as numbers, other runs as
text; an image without a version before every versioned one), then the
time they joined, then their image ID (so that the order is total).  On
the default channel the latest is the greatest ``active`` member; on the
``beta`` channel, the greatest member that is ``beta`` or ``active`` (a
beta newer than every active image is offered to those who opted in,
otherwise they get the same image as everyone).  No candidate, no latest.

Successor
---------

When an image is deprecated or made obsolete, its successor is the
family's latest after the change (none if that is the image itself or
there is none).  An image made ``active`` again loses its successor.
Since a successor is always an active image, which has no successor,
successor chains never loop.

Retention
---------

A family may keep only the last ``keep_superseded`` superseded images
bootable: the bootable members (``active`` or ``deprecated``) other than
the latest, newest first; the engine moves those beyond the first N to
``obsolete``.  Without a latest nothing is superseded and nothing moves.
"""

import dataclasses
import datetime
import re
import typing

TESTING = 'testing'
BETA = 'beta'
ACTIVE = 'active'
DEPRECATED = 'deprecated'
OBSOLETE = 'obsolete'
PENDING_DELETE = 'pending_delete'
DELETED = 'deleted'

STATES = (TESTING, BETA, ACTIVE, DEPRECATED, OBSOLETE, PENDING_DELETE,
          DELETED)

#: States that a caller may ask for.  ``pending_delete`` is where
#: ``deleted`` stops while servers still use the image.
REQUESTABLE = (TESTING, BETA, ACTIVE, DEPRECATED, OBSOLETE, DELETED)

DEFAULT_CHANNEL = 'default'
BETA_CHANNEL = 'beta'
CHANNELS = (DEFAULT_CHANNEL, BETA_CHANNEL)

# state -> states a caller may move it to directly (deletion apart).
_ALLOWED = {
    TESTING: frozenset([BETA, ACTIVE, OBSOLETE]),
    BETA: frozenset([TESTING, ACTIVE, DEPRECATED, OBSOLETE]),
    ACTIVE: frozenset([DEPRECATED, OBSOLETE]),
    DEPRECATED: frozenset([ACTIVE, OBSOLETE]),
    OBSOLETE: frozenset([ACTIVE, DEPRECATED]),
    PENDING_DELETE: frozenset([OBSOLETE]),
    DELETED: frozenset(),
}

# Where a deletion may be asked from: an image must be obsolete (no new
# boots) before it can go.
_DELETABLE_FROM = frozenset([OBSOLETE, PENDING_DELETE])

_NOT_BOOTABLE = frozenset([OBSOLETE, PENDING_DELETE, DELETED])
_BOOTABLE_SUPERSEDED = frozenset([ACTIVE, DEPRECATED])
_CHANNEL_STATES = {DEFAULT_CHANNEL: frozenset([ACTIVE]),
                   BETA_CHANNEL: frozenset([ACTIVE, BETA])}
#: States that only the family's owner and operators see.
OWNER_ONLY_STATES = frozenset([TESTING])


class InvalidTransition(ValueError):
    """The image cannot move from its state to the one asked for."""

    def __init__(self, current, requested, why=None):
        self.current = current
        self.requested = requested
        super().__init__(why or 'An image cannot go from %s to %s.'
                         % (current, requested))


class ImageDraining(InvalidTransition):
    """Deletion asked again of a ``pending_delete`` image no server uses
    yet, whose drain period has not passed."""

    def __init__(self, current):
        super().__init__(current, DELETED,
                         'The image has not been obsolete for the drain '
                         'period yet (servers admitted before it became '
                         'obsolete may still be building from it); it stays '
                         'pending_delete until then.')


class ImageInUse(InvalidTransition):
    """Deletion asked of an image that servers still use."""

    def __init__(self, current, servers):
        self.servers = servers
        super().__init__(current, DELETED,
                         'The image is used by %d server(s); it stays '
                         'pending_delete until none does.' % servers)


@dataclasses.dataclass(frozen=True)
class Member(object):
    """What the lifecycle needs to know of one member of a family."""

    image_id: str
    state: str
    version: typing.Optional[str] = None
    joined_at: datetime.datetime = datetime.datetime(1970, 1, 1)
    successor_id: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Change(object):
    """One state change :func:`transition` or :func:`usage_changed`
    decided: ``image_id`` goes from ``from_state`` to ``to_state``, its
    successor becomes ``successor_id``; ``cause`` is ``request``,
    ``retention`` or ``usage``."""

    image_id: str
    from_state: str
    to_state: str
    successor_id: typing.Optional[str]
    cause: str


_RUNS = re.compile(r'(\d+)')


def version_key(version):
    """A sort key comparing versions naturally: ``'7.10' > '7.9'``,
    ``'2024.1' > '2023.2'``; no version sorts first."""
    if not version:
        return ()
    key = []
    for index, run in enumerate(_RUNS.split(version)):
        if not run:
            continue
        # Odd positions of the split are the digit runs.
        key.append((1, int(run), '') if index % 2 else (0, 0, run))
    return tuple(key)


def order_key(member):
    """The order that decides who is newest (see the module doc)."""
    return (version_key(member.version), member.joined_at, member.image_id)


def may_boot(state):
    """New servers may be built from an image in ``state``."""
    return state not in _NOT_BOOTABLE


def may_delete(state, servers, drained=True):
    """The image may be removed from Glance now: ``pending_delete``, no
    server uses it and its drain period has passed (``drained``)."""
    return state == PENDING_DELETE and servers == 0 and drained


def allowed_targets(state):
    """The states a caller may ask for from ``state``."""
    targets = set(_ALLOWED[state])
    if state in _DELETABLE_FROM:
        targets.add(DELETED)
    return frozenset(targets)


def plan(current, requested, servers, drained=True):
    """The states an image passes through when ``requested`` is asked of
    it in ``current`` while ``servers`` servers use it; ``drained``: it
    has been obsolete for the drain period (see the module doc).

    Asking for ``deleted`` of an obsolete image moves it to
    ``pending_delete``, and on to ``deleted`` at once when no server uses
    it and it is drained; a ``pending_delete`` image is deleted only then.

    :raises InvalidTransition: not allowed from ``current``.
    :raises ImageInUse: ``deleted`` asked of a ``pending_delete`` image
        still in use.
    :raises ImageDraining: ``deleted`` asked of a ``pending_delete`` image
        no server uses, not drained yet.
    """
    if requested not in REQUESTABLE:
        raise InvalidTransition(current, requested,
                                'No one can ask for state %s.' % requested)
    if requested == DELETED:
        if current not in _DELETABLE_FROM:
            raise InvalidTransition(
                current, requested,
                'Only an obsolete image can be deleted (it is %s): make it '
                'obsolete first, so that no new server boots from it.'
                % current)
        steps = [] if current == PENDING_DELETE else [PENDING_DELETE]
        if servers == 0 and drained:
            steps.append(DELETED)
        elif not steps and servers:
            raise ImageInUse(current, servers)
        elif not steps:
            raise ImageDraining(current)
        return steps
    if requested not in _ALLOWED[current]:
        raise InvalidTransition(current, requested)
    return [requested]


def settle(state, servers, drained=True):
    """The state a ``pending_delete`` image moves to on its own when its
    usage changes or its drain period passes: ``deleted`` once no server
    uses it and it is drained; else None."""
    return DELETED if may_delete(state, servers, drained) else None


def latest(members, channel=DEFAULT_CHANNEL):
    """The newest candidate of ``channel`` among ``members``, or None."""
    wanted = _CHANNEL_STATES[channel]
    candidates = [m for m in members if m.state in wanted]
    return max(candidates, key=order_key) if candidates else None


def successor_for(image_id, new_state, members):
    """The successor an image gets when it moves to ``new_state``.

    :param members: the family's members after the change.
    :returns: ``(changes, successor)``: whether the successor changes,
        and its new value.
    """
    if new_state == ACTIVE:
        return True, None
    if new_state in (DEPRECATED, OBSOLETE):
        newest = latest(members)
        if newest is None or newest.image_id == image_id:
            return True, None
        return True, newest.image_id
    return False, None


def superseded(members):
    """The bootable members superseded by the latest, newest first."""
    newest = latest(members)
    if newest is None:
        return []
    return sorted((m for m in members if m.state in _BOOTABLE_SUPERSEDED
                   and m.image_id != newest.image_id),
                  key=order_key, reverse=True)


def retention_victims(members, keep_superseded):
    """The members that retention moves to ``obsolete``: the superseded
    ones beyond the newest ``keep_superseded``; none when the family
    keeps every one (``None``)."""
    if keep_superseded is None:
        return []
    return superseded(members)[keep_superseded:]


def joining_changes_nothing(state):
    """A member that joins in ``state`` can change neither the family's
    latest (it is no candidate on the default channel) nor retention (it
    is not bootable-superseded), so nothing needs recomputing: true of
    ``testing`` and ``beta``.  The other members are as the last writer
    left them, which applied retention already."""
    return (state not in _CHANNEL_STATES[DEFAULT_CHANNEL] and
            state not in _BOOTABLE_SUPERSEDED)


def visible_states(owner_view):
    """States a caller sees: all for the owner and operators, all but
    ``testing`` for everyone else."""
    if owner_view:
        return frozenset(STATES)
    return frozenset(STATES) - OWNER_ONLY_STATES


def channel_states(channel):
    return _CHANNEL_STATES[channel]


def _successor_after(member, members):
    changes, successor = successor_for(member.image_id, member.state,
                                       members)
    return successor if changes else member.successor_id


def _retention(members, keep_superseded):
    """Changes of retention on ``members`` (``{image_id: Member}``,
    updated in place)."""
    changes = []
    for victim in retention_victims(list(members.values()), keep_superseded):
        moved = dataclasses.replace(victim, state=OBSOLETE)
        members[victim.image_id] = moved
        successor = _successor_after(moved, list(members.values()))
        members[victim.image_id] = dataclasses.replace(
            moved, successor_id=successor)
        changes.append(Change(victim.image_id, victim.state, OBSOLETE,
                              successor, 'retention'))
    return changes


def transition(members, image_id, requested, servers, keep_superseded=None,
               drained=True):
    """Ask ``requested`` of member ``image_id`` of a family.

    :param members: ``{image_id: Member}`` of the whole family; updated
        in place with the result.
    :param servers: how many servers use ``image_id``.
    :param keep_superseded: the family's retention rule (None: keep all).
    :param drained: ``image_id`` has been obsolete for the drain period.
    :returns: the list of :class:`Change`, the asked one(s) first, then
        those of retention.
    :raises InvalidTransition: see :func:`plan`.
    """
    member = members[image_id]
    changes = []
    for step in plan(member.state, requested, servers, drained):
        before = member.state
        member = dataclasses.replace(member, state=step)
        members[image_id] = member
        member = dataclasses.replace(
            member, successor_id=_successor_after(member,
                                                  list(members.values())))
        members[image_id] = member
        changes.append(Change(image_id, before, step, member.successor_id,
                              'request'))
    return changes + _retention(members, keep_superseded)


def apply_retention(members, keep_superseded):
    """The changes retention makes on ``members`` (updated in place)."""
    return _retention(members, keep_superseded)


def usage_changed(members, image_id, servers, drained=True):
    """The change (a list of at most one) that a new usage count of
    ``image_id`` makes: a ``pending_delete`` image no server uses is
    deleted once drained."""
    member = members.get(image_id)
    if member is None:
        return []
    target = settle(member.state, servers, drained)
    if target is None:
        return []
    members[image_id] = dataclasses.replace(member, state=target)
    return [Change(image_id, member.state, target, member.successor_id,
                   'usage')]
