# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Tree arithmetic and the allocation decision of hierarchical limits.

This module holds the part of limits_svc that decides; it knows nothing of
HTTP or of the database and imports neither. The API and DB layers read rows,
hand plain values to the functions below, and act on the answer inside the
same transaction that read the rows.

Enforcement model
-----------------

Projects form a forest: each project has at most one parent, and a chain of
parents never loops. For a project P, ``ancestors(P)`` is the *chain*
``[P, parent(P), ..., root]``.

Each project has, per resource, two usage figures:

* its **own usage**: the sum of the allocations made in that project;
* its **subtree usage**: its own usage plus the own usage of every
  descendant, at any depth.

Limits come from two places, as in Keystone's unified limits:

* a **registered limit** is a per-resource default;
* a **project limit** is an override for one project and resource, with a
  scope. Scope ``project`` caps the project's own usage; scope ``subtree``
  caps its subtree usage. A project may carry both for the same resource.

``-1`` means unlimited wherever a limit appears.

For one project and resource, the *effective own limit* is the project-scope
override if there is one, else the registered default, else what the
"no limit at all" policy says: ``deny`` (a limit of 0, which is what
oslo.limit does) or ``unlimited`` (-1). The *subtree limit* exists only
where a subtree-scope override was set on that very project. Registered
defaults apply to a project's own usage only; they never become a subtree
limit, so a default of 10 servers means "10 in each project", not
"10 in each project and everything below it".

An allocation of ``deltas`` (``{resource: amount}``, negative for a shrink)
in project P is allowed when, for every resource whose delta is positive:

* P's own usage plus the delta stays within P's effective own limit, and
* at every level L of P's chain (P included), L's subtree usage plus the
  delta stays within L's subtree limit, if L has one.

Own limits of ancestors are not consulted: an allocation in P does not
change an ancestor's own usage. A resource whose delta is zero or negative
never blocks, even at a level that is already over its limit (for example
after an operator lowered it): giving back is always allowed. Checking only
growing resources at every level of the chain is enough to guarantee that
no allocation takes a level from within a limit to over it, and that a
level already over a limit never grows further.

Replacing a consumer's allocation in the same project is one decision on
``replacement_deltas(old, new)``. Moving a consumer to another project is a
free in the old project (always allowed) followed by a decision on the full
new amounts in the new project, made against usages from which the old
allocation has already been taken away.

Resource names are opaque keys here. Keystone scopes limits by service and
region as well; the caller picks the limits of one service and region (or
uses a composite key) before calling in.
"""

import collections
import dataclasses

UNLIMITED = -1

# The most a usage counter may hold.  Request amounts are bounded far below
# this, and a write that would take any counter past it is refused, so no
# sum of amounts ever reaches the end of a signed 64-bit integer.
MAX_USAGE = 2 ** 62

SCOPE_PROJECT = 'project'
SCOPE_SUBTREE = 'subtree'
SCOPES = (SCOPE_PROJECT, SCOPE_SUBTREE)

NO_LIMIT_DENY = 'deny'
NO_LIMIT_UNLIMITED = 'unlimited'
NO_LIMIT_POLICIES = (NO_LIMIT_DENY, NO_LIMIT_UNLIMITED)
# oslo.limit treats a resource without any limit as a limit of zero.
DEFAULT_NO_LIMIT_POLICY = NO_LIMIT_DENY

_NO_LIMIT_VALUE = {NO_LIMIT_DENY: 0, NO_LIMIT_UNLIMITED: UNLIMITED}


class QuotaTreeError(Exception):
    """Base class of the errors raised by this module."""


class UnknownProject(QuotaTreeError):
    """A project id that is not part of the tree."""

    def __init__(self, project_id, referenced_by=None):
        self.project_id = project_id
        self.referenced_by = referenced_by
        if referenced_by is None:
            msg = 'Project %s is not in the project tree.' % project_id
        else:
            msg = ('Project %s is the parent of project %s but is not in the '
                   'project tree.' % (project_id, referenced_by))
        super().__init__(msg)


class ProjectTreeCycle(QuotaTreeError):
    """The parent links of some projects form a loop."""

    def __init__(self, cycle):
        self.cycle = tuple(cycle)
        super().__init__(
            'The parents of these projects form a cycle: %s.'
            % ' -> '.join(str(p) for p in self.cycle + self.cycle[:1]))


class InvalidLimit(QuotaTreeError, ValueError):
    """A limit value, scope or no-limit policy that makes no sense."""


def validate_limit_value(value):
    """Return ``value`` if it is a valid limit (an int >= -1), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidLimit('A limit must be an integer, not %r.' % (value,))
    if value < UNLIMITED:
        raise InvalidLimit(
            'A limit must be -1 (unlimited) or at least 0, not %d.' % value)
    return value


def validate_scope(scope):
    """Return ``scope`` if it is ``project`` or ``subtree``, else raise."""
    if scope not in SCOPES:
        raise InvalidLimit('A limit scope must be one of %s, not %r.'
                           % (', '.join(SCOPES), scope))
    return scope


def no_limit_value(policy):
    """The limit that stands for "no limit at all" under ``policy``."""
    try:
        return _NO_LIMIT_VALUE[policy]
    except (KeyError, TypeError):
        raise InvalidLimit('The no-limit policy must be one of %s, not %r.'
                           % (', '.join(NO_LIMIT_POLICIES), policy))


# ---------------------------------------------------------------------------
# The project tree
# ---------------------------------------------------------------------------

class ProjectTree:
    """An immutable forest of projects built from ``{project_id: parent_id}``.

    A parent of ``None`` makes a root. Every parent must itself be a key
    (:class:`UnknownProject` otherwise) and parent links must not loop
    (:class:`ProjectTreeCycle`). Chains are computed once, at construction,
    so that :meth:`ancestors` is a dictionary look-up.
    """

    __slots__ = ('_parent', '_chain', '_children')

    def __init__(self, parents):
        parent_of = dict(parents)
        for project_id, parent_id in parent_of.items():
            if parent_id is not None and parent_id not in parent_of:
                raise UnknownProject(parent_id, referenced_by=project_id)
        chain = {}
        for start in parent_of:
            if start in chain:
                continue
            # Walk up until a project whose chain is known, or a root.
            path = []
            on_path = set()
            node = start
            while node is not None and node not in chain:
                if node in on_path:
                    raise ProjectTreeCycle(path[path.index(node):])
                path.append(node)
                on_path.add(node)
                node = parent_of[node]
            above = chain[node] if node is not None else ()
            for project_id in reversed(path):
                above = (project_id,) + above
                chain[project_id] = above
        children = {project_id: [] for project_id in parent_of}
        for project_id, parent_id in parent_of.items():
            if parent_id is not None:
                children[parent_id].append(project_id)
        for kids in children.values():
            kids.sort()
        self._parent = parent_of
        self._chain = chain
        self._children = {k: tuple(v) for k, v in children.items()}

    def __contains__(self, project_id):
        return project_id in self._parent

    def __len__(self):
        return len(self._parent)

    def __iter__(self):
        return iter(self._parent)

    def __repr__(self):
        return '<ProjectTree of %d projects>' % len(self._parent)

    def _known(self, project_id):
        if project_id not in self._parent:
            raise UnknownProject(project_id)

    def parent(self, project_id):
        """The parent of ``project_id``, or None for a root."""
        self._known(project_id)
        return self._parent[project_id]

    def children(self, project_id):
        """The direct children of ``project_id``, sorted."""
        self._known(project_id)
        return list(self._children[project_id])

    def roots(self):
        """The projects without a parent, sorted."""
        return sorted(p for p, parent in self._parent.items()
                      if parent is None)

    def ancestors(self, project_id):
        """``[project_id, parent, ..., root]``: the chain, project first."""
        try:
            return list(self._chain[project_id])
        except KeyError:
            raise UnknownProject(project_id)

    def depth(self, project_id):
        """How many parents ``project_id`` has (0 for a root)."""
        try:
            return len(self._chain[project_id]) - 1
        except KeyError:
            raise UnknownProject(project_id)

    @property
    def max_depth(self):
        """The greatest depth of any project, or -1 for an empty tree."""
        return max((len(c) for c in self._chain.values()), default=0) - 1

    def descendants(self, project_id):
        """Every project below ``project_id``, any depth, itself excluded.

        The order is depth-first, children sorted, each project before its
        own descendants: the order in which a tree is drawn.
        """
        return self.subtree(project_id)[1:]

    def subtree(self, project_id):
        """``project_id`` followed by :meth:`descendants`."""
        self._known(project_id)
        result = []
        stack = [project_id]
        children = self._children
        while stack:
            node = stack.pop()
            result.append(node)
            stack.extend(reversed(children[node]))
        return result

    def is_ancestor(self, ancestor_id, project_id):
        """True if ``ancestor_id`` is on ``project_id``'s chain (or is it)."""
        self._known(ancestor_id)
        return ancestor_id in self.ancestors(project_id)


class TooDeep(QuotaTreeError):
    """A project deeper below a report's root than a tree may be."""

    def __init__(self, project_id, max_depth):
        self.project_id = project_id
        super().__init__('Project %s is %d or more levels below the root.'
                         % (project_id, max_depth))


class _Children(object):
    """The children of one project not yet drawn, read ``n`` at a time."""

    __slots__ = ('parent', 'depth', 'after', 'ready', 'done')

    def __init__(self, parent, depth, after):
        self.parent = parent
        self.depth = depth
        self.after = after
        self.ready = collections.deque()
        self.done = False


def drawing_order_page(path, limit, children, max_depth, descend=True):
    """The next ``limit`` projects of a subtree in drawing order (see
    :meth:`ProjectTree.descendants`), read a few children at a time.

    A page of a subtree's report should cost what the page holds, not what
    the subtree holds: nothing here reads more than the projects it draws
    and, for each parent it meets, the next run of that parent's children.

    :param path: ``[root, ..., last]``: the subtree's root down to the last
        project drawn on the previous page (``[root]`` when only the root
        was drawn).
    :param limit: the most projects to return.
    :param children: ``children(parent, after, n)``: at most ``n`` pairs
        ``(child_id, has_children)`` of the children of ``parent`` whose
        ids come after ``after`` (``''``: from the first) in code-point
        order, in that order.
    :param max_depth: a project this deep below the root is refused with
        :class:`TooDeep` (a loop of parent links would never end).
    :param descend: whether the children of ``path[-1]`` come first.
        False when ``path[-1]`` is no longer there (deleted, or moved
        away since the previous page): the page starts with its next
        siblings, as it would have.
    :returns: ``[(project_id, parent_id, depth below root)]``.
    """
    # The last project's children come first, then each level's next
    # siblings, from the deepest level up.
    pending = [_Children(parent, depth + 1, after) for depth, (parent, after)
               in enumerate(zip(path, path[1:]))]
    if descend:
        pending.append(_Children(path[-1], len(path), ''))
    page = []
    while pending and len(page) < limit:
        level = pending[-1]
        if not level.ready:
            if not level.done:
                wanted = limit - len(page)
                level.ready.extend(children(level.parent, level.after,
                                            wanted))
                level.done = len(level.ready) < wanted
            if not level.ready:
                pending.pop()
                continue
        child, has_children = level.ready.popleft()
        level.after = child
        if level.depth >= max_depth:
            raise TooDeep(child, max_depth)
        page.append((child, level.parent, level.depth))
        if has_children:
            pending.append(_Children(child, level.depth + 1, ''))
    return page


# ---------------------------------------------------------------------------
# Limits and their resolution
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class RegisteredLimit:
    """A default limit for one resource; applies to each project's own use."""

    resource_name: str
    default_limit: int

    def __post_init__(self):
        validate_limit_value(self.default_limit)


@dataclasses.dataclass(frozen=True, slots=True)
class ProjectLimit:
    """An override of one resource's limit on one project, with a scope."""

    project_id: str
    resource_name: str
    resource_limit: int
    scope: str = SCOPE_PROJECT

    def __post_init__(self):
        validate_limit_value(self.resource_limit)
        validate_scope(self.scope)


@dataclasses.dataclass(frozen=True, slots=True)
class ResolvedLimit:
    """The limits that apply to one project and resource.

    ``own`` is always an int (-1 for unlimited); ``subtree`` is None when
    the project carries no subtree-scope limit for the resource.
    """

    own: int
    subtree: int | None = None


def resolve_limit(project_id, resource_name, registered_limits,
                  project_limits, no_limit_policy=DEFAULT_NO_LIMIT_POLICY):
    """Resolve the own and subtree limit of one project and resource.

    :param registered_limits: ``{resource_name: default_limit}``.
    :param project_limits: ``{(project_id, resource_name, scope): limit}``,
        as built by :func:`index_project_limits`.
    :param no_limit_policy: ``'deny'`` or ``'unlimited'``: the own limit of
        a resource that has neither a project-scope override nor a
        registered default.
    :returns: a :class:`ResolvedLimit`.
    """
    own = project_limits.get((project_id, resource_name, SCOPE_PROJECT))
    if own is None:
        own = registered_limits.get(resource_name)
        if own is None:
            own = no_limit_value(no_limit_policy)
    subtree = project_limits.get((project_id, resource_name, SCOPE_SUBTREE))
    return ResolvedLimit(own, subtree)


def index_project_limits(project_limits):
    """``{(project_id, resource_name, scope): limit}`` from ProjectLimits.

    Two limits for the same project, resource and scope are an error.
    """
    index = {}
    for limit in project_limits:
        key = (limit.project_id, limit.resource_name, limit.scope)
        if key in index:
            raise InvalidLimit(
                'Project %s has two %s-scope limits for %s.'
                % (limit.project_id, limit.scope, limit.resource_name))
        index[key] = limit.resource_limit
    return index


def index_registered_limits(registered_limits):
    """``{resource_name: default_limit}`` from RegisteredLimits."""
    index = {}
    for limit in registered_limits:
        if limit.resource_name in index:
            raise InvalidLimit('Two registered limits for %s.'
                               % limit.resource_name)
        index[limit.resource_name] = limit.default_limit
    return index


class LimitCatalog:
    """Registered and project limits of one service and region, indexed.

    :param registered_limits: RegisteredLimit objects, or a mapping
        ``{resource_name: default_limit}``.
    :param project_limits: ProjectLimit objects.
    :param no_limit_policy: ``'deny'`` (default, as oslo.limit) or
        ``'unlimited'``.
    """

    __slots__ = ('registered', 'overrides', 'no_limit_policy')

    def __init__(self, registered_limits=(), project_limits=(),
                 no_limit_policy=DEFAULT_NO_LIMIT_POLICY):
        no_limit_value(no_limit_policy)
        if hasattr(registered_limits, 'items'):
            self.registered = {
                name: validate_limit_value(value)
                for name, value in registered_limits.items()}
        else:
            self.registered = index_registered_limits(registered_limits)
        self.overrides = index_project_limits(project_limits)
        self.no_limit_policy = no_limit_policy

    def resolve(self, project_id, resource_name):
        """The :class:`ResolvedLimit` of one project and resource."""
        return resolve_limit(project_id, resource_name, self.registered,
                             self.overrides, self.no_limit_policy)

    def resource_names(self):
        """Every resource named by a registered or a project limit."""
        names = set(self.registered)
        names.update(key[1] for key in self.overrides)
        return names


# ---------------------------------------------------------------------------
# The allocation decision
# ---------------------------------------------------------------------------

@dataclasses.dataclass(slots=True)
class Level:
    """One level of the chain seen by :func:`check_allocation`.

    Every mapping is ``{resource_name: int}``; a missing usage is 0 and a
    missing (or None) limit means the level has no such limit. ``-1`` is
    unlimited. The own limit is looked at on the first level only.
    """

    project_id: str
    own_usage: dict
    subtree_usage: dict
    own_limits: dict
    subtree_limits: dict


@dataclasses.dataclass(frozen=True, slots=True)
class Violation:
    """One limit that an allocation would exceed."""

    project_id: str
    resource_name: str
    scope: str
    limit: int
    usage: int
    delta: int

    @property
    def requested(self):
        """The usage the allocation would have led to."""
        return self.usage + self.delta

    def to_dict(self):
        return {'project_id': self.project_id,
                'resource': self.resource_name,
                'scope': self.scope,
                'limit': self.limit,
                'usage': self.usage,
                'delta': self.delta}


def check_allocation(chain, deltas):
    """Decide an allocation of ``deltas`` in ``chain[0].project_id``.

    :param chain: the :class:`Level` of the project followed by those of
        its ancestors up to the root, as from :func:`build_chain`.
    :param deltas: ``{resource_name: int}``; negative amounts give back.
    :returns: a list of :class:`Violation`, empty when the allocation is
        allowed, ordered by level (project first), then resource name, then
        scope (``project`` before ``subtree``).
    """
    if not chain:
        raise ValueError('The chain must hold at least the project itself.')
    growing = sorted(name for name, delta in deltas.items() if delta > 0)
    if not growing:
        return []
    violations = []
    first = chain[0]
    own_usage = first.own_usage
    own_limits = first.own_limits
    for level in chain:
        subtree_usage = level.subtree_usage
        subtree_limits = level.subtree_limits
        for name in growing:
            delta = deltas[name]
            if level is first:
                limit = own_limits.get(name)
                if limit is not None and limit >= 0:
                    usage = own_usage.get(name, 0)
                    if usage + delta > limit:
                        violations.append(Violation(
                            level.project_id, name, SCOPE_PROJECT,
                            limit, usage, delta))
            limit = subtree_limits.get(name)
            if limit is not None and limit >= 0:
                usage = subtree_usage.get(name, 0)
                if usage + delta > limit:
                    violations.append(Violation(
                        level.project_id, name, SCOPE_SUBTREE,
                        limit, usage, delta))
    return violations


def cancelled_by_give_back(freed, negative_adjustments):
    """How much of an allocation given back cancels a negative adjustment
    instead of lowering usage: ``{resource_name: amount}``.

    A negative adjustment (reconciliation found less in use than the
    allocations say) means some allocations were already gone in truth;
    freeing one of them cancels that much of the adjustment instead of
    counting it off twice, so usage never drops below zero.

    :param freed: ``{resource_name: amount > 0}``.
    :param negative_adjustments: ``{resource_name: adjustment < 0}`` of
        the project the allocation is in.
    """
    return {name: min(amount, -negative_adjustments.get(name, 0))
            for name, amount in freed.items()}


def freed_usages(usages, project_id, chain, freed):
    """The counters as they are once an allocation is given back.

    A consumer that moves to another project gives its allocation back
    first, then takes the new one: the decision on the new project reads
    the counters with the old allocation already freed.  ``freed`` is
    what the usage really drops by: the amounts less what
    :func:`cancelled_by_give_back` cancels.

    :param usages: ``{(project_id, resource_name): (own, subtree)}``.
    :param project_id: the project the allocation is in.
    :param chain: ``[project_id, parent, ..., root]``.
    :param freed: ``{resource_name: amount}``.
    :returns: a new mapping like ``usages``.
    """
    after = dict(usages)
    for level in chain:
        for name, amount in freed.items():
            own, subtree = after.get((level, name), (0, 0))
            after[(level, name)] = (
                own - amount if level == project_id else own,
                subtree - amount)
    return after


def move_levels(old_chain, new_chain):
    """The levels a subtree leaves and joins when it is moved.

    :param old_chain: ``[old parent, ..., root]`` (empty for a root).
    :param new_chain: ``[new parent, ..., root]`` (empty to become a root).
    :returns: ``(losing, gaining)``: the levels of the old chain that are
        not on the new one, and those of the new chain that are not on the
        old one.  Common ancestors are in neither: their subtree usage
        does not change.
    """
    old = set(old_chain)
    new = set(new_chain)
    return ([level for level in old_chain if level not in new],
            [level for level in new_chain if level not in old])


def subtree_level(project_id, subtree_usage, limits):
    """A :class:`Level` that carries only subtree figures, for
    :func:`check_move`.

    :param subtree_usage: ``{resource_name: int}`` of the level.
    :param limits: a :class:`LimitCatalog`.
    """
    subtree_limits = {}
    for name in subtree_usage:
        resolved = limits.resolve(project_id, name)
        if resolved.subtree is not None:
            subtree_limits[name] = resolved.subtree
    return Level(project_id, {}, subtree_usage, {}, subtree_limits)


def check_move(gaining, moved):
    """Decide a move of a subtree whose usage is ``moved``.

    Only the levels that gain the subtree (see :func:`move_levels`) are
    checked, and only against their subtree limits: own usages do not
    change, and a level whose usage does not grow never refuses.

    :param gaining: :class:`Level` objects of the gaining levels.
    :param moved: ``{resource_name: int}``, the moved subtree's usage.
    :returns: a list of :class:`Violation` (scope ``subtree``), ordered by
        level as given, then resource name.
    """
    violations = []
    growing = sorted(name for name, amount in moved.items() if amount > 0)
    for level in gaining:
        for name in growing:
            limit = level.subtree_limits.get(name)
            if limit is None or limit < 0:
                continue
            usage = level.subtree_usage.get(name, 0)
            if usage + moved[name] > limit:
                violations.append(Violation(
                    level.project_id, name, SCOPE_SUBTREE, limit, usage,
                    moved[name]))
    return violations


def replacement_deltas(previous, requested):
    """Deltas that turn allocation ``previous`` into ``requested``.

    Both are ``{resource_name: amount}``; a resource missing from one side
    counts as 0 there. Resources whose amount does not change are left out.
    """
    deltas = {}
    for name, amount in requested.items():
        change = amount - previous.get(name, 0)
        if change:
            deltas[name] = change
    for name, amount in previous.items():
        if name not in requested and amount:
            deltas[name] = -amount
    return deltas


def build_chain(tree, project_id, limits, own_usage, subtree_usage,
                resource_names):
    """The list of :class:`Level` for an allocation in ``project_id``.

    :param tree: a :class:`ProjectTree`.
    :param limits: a :class:`LimitCatalog`.
    :param own_usage: ``{project_id: {resource_name: int}}``; only the
        project itself is read.
    :param subtree_usage: ``{project_id: {resource_name: int}}`` for every
        project of the chain (missing projects count as zero usage).
    :param resource_names: the resources to resolve limits for, normally
        the keys of the deltas.
    """
    empty = {}
    chain = []
    for level_id in tree.ancestors(project_id):
        own_limits = {}
        subtree_limits = {}
        for name in resource_names:
            resolved = limits.resolve(level_id, name)
            own_limits[name] = resolved.own
            if resolved.subtree is not None:
                subtree_limits[name] = resolved.subtree
        chain.append(Level(
            level_id,
            own_usage.get(level_id, empty) if level_id == project_id
            else empty,
            subtree_usage.get(level_id, empty),
            own_limits,
            subtree_limits))
    return chain


# ---------------------------------------------------------------------------
# Usage sums and reports
# ---------------------------------------------------------------------------

def subtree_usages(tree, own_usage, root=None):
    """Subtree usage of every project from each project's own usage.

    :param tree: a :class:`ProjectTree`.
    :param own_usage: ``{project_id: {resource_name: int}}``; a project
        missing here uses nothing. A project that is not in the tree raises
        :class:`UnknownProject` (unless ``root`` limits the sum to a
        subtree, in which case projects outside it are ignored).
    :param root: if given, sum only over the subtree of ``root``.
    :returns: ``{project_id: {resource_name: int}}`` with an entry (maybe
        empty) for every project summed over. A resource appears in a
        project's entry when it appears in the own usage of some project
        of that subtree.
    """
    if root is None:
        for project_id in own_usage:
            if project_id not in tree:
                raise UnknownProject(project_id)
        projects = list(tree)
    else:
        projects = tree.subtree(root)
    # Children before parents: deepest first.
    projects.sort(key=tree.depth, reverse=True)
    sums = {project_id: dict(own_usage.get(project_id, ()))
            for project_id in projects}
    for project_id in projects:
        if project_id == root:
            continue
        parent_id = tree.parent(project_id)
        if parent_id is None:
            continue
        parent_sum = sums[parent_id]
        for name, amount in sums[project_id].items():
            parent_sum[name] = parent_sum.get(name, 0) + amount
    return sums


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceReport:
    """Limits and usage of one resource at one project."""

    own_limit: int
    subtree_limit: int | None
    own_usage: int
    subtree_usage: int

    def to_dict(self):
        return {'own_limit': self.own_limit,
                'subtree_limit': self.subtree_limit,
                'own_usage': self.own_usage,
                'subtree_usage': self.subtree_usage}


@dataclasses.dataclass(frozen=True, slots=True)
class LevelReport:
    """One project of a usage report."""

    project_id: str
    parent_id: str | None
    depth: int
    resources: dict

    def to_dict(self):
        return {'project_id': self.project_id,
                'parent_id': self.parent_id,
                'depth': self.depth,
                'resources': {name: report.to_dict()
                              for name, report in self.resources.items()}}


def usage_report(tree, root, limits, own_usage, resource_names=None,
                 subtree_usage=None, projects=None):
    """Limits and usage of every project in the subtree of ``root``.

    :param tree: a :class:`ProjectTree`.
    :param root: the project whose subtree is reported.
    :param limits: a :class:`LimitCatalog`.
    :param own_usage: ``{project_id: {resource_name: int}}``.
    :param resource_names: the resources to report; by default every
        resource that has a limit in ``limits`` or some usage in the subtree.
    :param subtree_usage: ``{project_id: {resource_name: int}}``, the
        subtree usage of the reported projects where the caller knows it
        (a report of one project, whose descendants are not in ``tree``);
        by default it is summed from ``own_usage`` over ``tree``.
    :param projects: the projects to report, a run of the subtree of
        ``root`` in the report's order (a page of it); by default all of
        them.
    :returns: a list of :class:`LevelReport` in tree-drawing order (root
        first, then depth-first with children sorted); ``depth`` is
        counted from ``root`` (0).
    """
    sums = (subtree_usage if subtree_usage is not None else
            subtree_usages(tree, own_usage, root=root))
    if projects is None:
        projects = tree.subtree(root)
    if resource_names is None:
        names = limits.resource_names()
        for project_id in projects:
            names.update(own_usage.get(project_id, ()))
    else:
        names = set(resource_names)
    names = sorted(names)
    base_depth = tree.depth(root)
    empty = {}
    report = []
    for project_id in projects:
        own = own_usage.get(project_id, empty)
        below = sums.get(project_id, empty)
        resources = {}
        for name in names:
            resolved = limits.resolve(project_id, name)
            resources[name] = ResourceReport(
                resolved.own, resolved.subtree,
                own.get(name, 0), below.get(name, 0))
        report.append(LevelReport(
            project_id,
            tree.parent(project_id),
            tree.depth(project_id) - base_depth,
            resources))
    return report
