"""Entitlements: what a person's memberships say about them in a token.

AARC-G069 (which refines AARC-G002) expresses a membership of a group of a
virtual organisation as a URN in ``eduPersonEntitlement``::

    urn:<nid>:<namespace>:group:<vo>[:<group>...][:role=<role>][#<authority>]

and requires a normalised form, so that relying parties can compare
entitlements as strings:

* the ``urn``, the namespace identifier (NID) and the delegated namespace
  are case-insensitive: they are written in lower case;
* group names and the role are case-sensitive and are kept as they are;
* a character that is not allowed in a URN component, or that would be
  read as a delimiter (``:`` between groups, ``#`` before the authority,
  ``%`` itself, ``/``, ``?``, and ``=`` in a group name, which would look
  like the role), is percent-encoded as UTF-8 with upper-case hex digits;
  a percent-encoded unreserved character is decoded (RFC 3986 6.2.2);
* the authority (the fragment) names who asserts the membership; it is a
  host name, written in lower case.

Only a membership that is ``active`` and not expired at the moment the
token is made gives an entitlement: that is what makes a removal or an
expiry effective at the next token.

This module imports neither pecan nor SQLAlchemy: it takes plain
:class:`Membership` records.
"""

import collections
import datetime
import re
import urllib.parse

ACTIVE = 'active'
EXPIRED = 'expired'

#: Characters kept as they are inside a group name or a role: RFC 3986
#: unreserved characters and the sub-delimiters that no part of the
#: entitlement syntax uses as a delimiter.  ``quote`` encodes everything
#: else (``: # % / ? = @`` and every non-ASCII character).
_SAFE = "-._~!$&'()*+,;"

_PERCENT = re.compile(r'%([0-9A-Fa-f]{2})')
_UNRESERVED = frozenset(
    'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~')

#: Group paths are ``vo``, ``vo:group``, ``vo:group:sub``: names joined
#: by this separator.
SEPARATOR = ':'

#: A membership as the entitlement rules need it.  ``group`` is the path
#: of the group (``vo`` or ``vo:group[:sub...]``) as names unencoded;
#: ``expires_at`` is a naive UTC datetime or None (no expiry).
Membership = collections.namedtuple('Membership',
                                    'group role status expires_at')


def is_current(membership, now):
    """True when ``membership`` counts at ``now`` (naive UTC): active, and
    either without expiry or expiring strictly after ``now``."""
    if membership.status != ACTIVE:
        return False
    return membership.expires_at is None or membership.expires_at > now


def shown_status(status, expires_at, now):
    """The status a person or manager is shown for a membership: an
    ``active`` one whose expiry has come (``expires_at <= now``, naive
    UTC) is ``expired``, since it no longer counts (:func:`is_current`);
    every other status is shown as stored.  Nothing rewrites the stored
    status when the date passes, so the date alone decides."""
    if status == ACTIVE and expires_at is not None and expires_at <= now:
        return EXPIRED
    return status


def split_group(path):
    """The names of a group path: ``'vo:a:b'`` -> ``['vo', 'a', 'b']``.

    :raises ValueError: an empty path or an empty name.
    """
    names = path.split(SEPARATOR) if isinstance(path, str) else list(path)
    if not names or any(not name for name in names):
        raise ValueError('A group path is names joined by ":", not %r.'
                         % (path,))
    return names


def _decode_unreserved(value):
    """Decode the percent-encodings of unreserved characters and write
    the others with upper-case hex digits (RFC 3986 6.2.2.1, 6.2.2.2)."""
    def one(match):
        char = chr(int(match.group(1), 16))
        if char in _UNRESERVED:
            return char
        return '%' + match.group(1).upper()
    return _PERCENT.sub(one, value)


def encode_component(name):
    """``name`` (a group name or a role, as a person typed it) as a
    normalised URN component."""
    return urllib.parse.quote(name, safe=_SAFE)


def normalise(entitlement):
    """The AARC-G069 normal form of an entitlement URN given as a string
    (e.g. one received from an upstream IdP).

    :raises ValueError: not ``urn:<nid>:<namespace>:group:...``.
    """
    head, hash_, authority = entitlement.partition('#')
    parts = head.split(SEPARATOR)
    try:
        group_at = [p.lower() for p in parts].index('group', 3)
    except ValueError:
        raise ValueError('Not an AARC group entitlement: %r.'
                         % (entitlement,)) from None
    if parts[0].lower() != 'urn' or group_at + 1 >= len(parts):
        raise ValueError('Not an AARC group entitlement: %r.'
                         % (entitlement,))
    prefix = [_decode_unreserved(p).lower() for p in parts[:group_at + 1]]
    rest = []
    for part in parts[group_at + 1:]:
        if part.lower().startswith('role='):
            rest.append('role=' + _decode_unreserved(part[5:]))
        else:
            rest.append(_decode_unreserved(part))
    text = SEPARATOR.join(prefix + rest)
    if hash_:
        text += '#' + _decode_unreserved(authority).lower()
    return text


class Issuer(object):
    """Makes the entitlements of a person for one proxy.

    :param nid: the URN namespace identifier, e.g. ``geant``.
    :param namespace: the delegated namespace, e.g. ``example.org``
        (may itself contain ``:``).
    :param authority: who asserts the memberships (the proxy's host name),
        or None to leave the ``#<authority>`` part out.
    """

    def __init__(self, nid, namespace, authority=None):
        if not nid or not namespace:
            raise ValueError('An entitlement needs a NID and a namespace.')
        self.prefix = 'urn:%s:%s:group' % (nid.lower(), namespace.lower())
        self.authority = authority.lower() if authority else None

    def entitlement(self, group, role=None):
        """The normalised URN of ``role`` (None for plain membership) in
        group path ``group``."""
        names = [encode_component(name) for name in split_group(group)]
        text = SEPARATOR.join([self.prefix] + names)
        if role:
            text += ':role=' + encode_component(role)
        if self.authority:
            text += '#' + self.authority
        return text

    def entitlements(self, memberships, now=None):
        """Sorted, unique entitlement URNs of the current memberships: for
        each, the group's plain URN and the URN with its role."""
        now = now or datetime.datetime.utcnow()
        found = set()
        for membership in memberships:
            if not is_current(membership, now):
                continue
            found.add(self.entitlement(membership.group))
            if membership.role:
                found.add(self.entitlement(membership.group,
                                           membership.role))
        return sorted(found)


def groups(memberships, now=None):
    """The plain ``groups`` claim: sorted, unique group paths of the
    current memberships, as names joined by ``:``."""
    now = now or datetime.datetime.utcnow()
    return sorted({SEPARATOR.join(split_group(m.group))
                   for m in memberships if is_current(m, now)})
