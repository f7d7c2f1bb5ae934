"""Turn Keystone's projects and unified limits into limits_svc's rows.

Pure mapping, no HTTP and no DB: :mod:`limits_svc.cmd.sync` fetches the
lists through keystoneauth1 and
:func:`limits_svc.db.keystone.replace_from_keystone` writes what this
returns.

Keystone's unified limits have no scope.  A project limit whose description
contains the marker (``[subtree]`` by default, ``[keystone]
subtree_marker``)
caps the project's whole subtree; every other limit caps the project's own
usage, as in Keystone's flat model.
"""

import dataclasses

SUBTREE_MARKER = '[subtree]'

# The largest limit a counter can be compared with (a BIGINT).
_MAX_LIMIT = 2 ** 63 - 1


class BadAnswer(ValueError):
    """An item of a Keystone list is not what Keystone's API answers (a
    missing or mistyped field, a limit below -1, an id too long to keep).

    Nothing is synced: a limit of ``7.5`` was kept as 7.5 on SQLite and 8
    on PostgreSQL, one of ``-5`` counted as no limit at all, and a field
    of the wrong type was a traceback half-way.
    """

    def __init__(self, key, index, item, problem):
        self.key = key
        shown = item.get('id') if isinstance(item, dict) else None
        where = '%s[%d]' % (key, index)
        if isinstance(shown, str):
            where += ' (id %s)' % shown[:64]
        super().__init__(
            'Keystone answered %s that limits_svc cannot use: %s. Nothing '
            'was synced; is [keystone] pointing at Keystone\'s identity '
            'API?' % (where, problem))


def _string(max_length, nullable=False, required=True):
    return ('string', max_length, nullable, required)


_ID = _string(64)
_NULLABLE_ID = _string(64, nullable=True, required=False)
_LIMIT = ('limit', None, False, True)
_DESCRIPTION = ('string', None, True, False)

# What limits_svc keeps of each item, as Keystone's v3 API defines it:
# ``(kind, longest, may be null, must be there)``.
_FIELDS = {
    'projects': {'id': _ID, 'name': _string(255, nullable=True,
                                            required=False),
                 'parent_id': _NULLABLE_ID, 'domain_id': _NULLABLE_ID},
    'registered_limits': {'id': _ID, 'service_id': _ID,
                          'region_id': _NULLABLE_ID,
                          'resource_name': _string(255),
                          'default_limit': _LIMIT,
                          'description': _DESCRIPTION},
    'limits': {'id': _ID, 'project_id': _NULLABLE_ID,
               'domain_id': _NULLABLE_ID, 'service_id': _ID,
               'region_id': _NULLABLE_ID, 'resource_name': _string(255),
               'resource_limit': _LIMIT, 'description': _DESCRIPTION},
}


def _field_problem(name, value, kind, longest, nullable):
    if value is None:
        return None if nullable else '%s is null' % name
    if kind == 'limit':
        if not isinstance(value, int) or isinstance(value, bool):
            return '%s %r is not an integer' % (name, value)
        if not -1 <= value <= _MAX_LIMIT:
            return '%s %d is not -1 (no limit) or a count' % (name, value)
        return None
    if not isinstance(value, str):
        return '%s %r is not a string' % (name, value)
    if not value and name.endswith('id'):
        return '%s is empty' % name
    if longest is not None and len(value) > longest:
        return '%s is longer than %d characters' % (name, longest)
    return None


def check_items(key, items):
    """Refuse a Keystone list of ``key`` (``projects``,
    ``registered_limits`` or ``limits``) that limits_svc cannot use.

    :raises BadAnswer: naming the first bad item and field.
    """
    if not isinstance(items, list):
        raise BadAnswer(key, 0, None, 'the list is not a JSON array')
    fields = _FIELDS[key]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadAnswer(key, index, item, 'the item is not an object')
        for name, (kind, longest, nullable, required) in fields.items():
            if name not in item:
                if required:
                    raise BadAnswer(key, index, item, '%s is missing' % name)
                continue
            problem = _field_problem(name, item[name], kind, longest,
                                     nullable)
            if problem:
                raise BadAnswer(key, index, item, problem)


# What Keystone keeps unique in each list besides the id, and how a
# refusal names it.
_UNIQUE = {
    'projects': (),
    'registered_limits': (('service_id', 'region_id', 'resource_name'),
                          'service, region and resource'),
    'limits': (('project_id', 'domain_id', 'service_id', 'region_id',
                'resource_name'),
               'project, domain, service, region and resource'),
}


def _check_unique(key, items):
    """Refuse a list that names one id twice, or one limit twice (its
    items checked by :func:`check_items` already).

    Keystone answers neither.  A project listed twice was synced as
    whichever came last, and two limits of one resource for one project
    stopped the sync with a database traceback.
    """
    fields, described = _UNIQUE[key] or ((), None)
    if len({item['id'] for item in items}) < len(items):
        ids = {}
        for index, item in enumerate(items):
            first = ids.setdefault(item['id'], index)
            if first != index:
                raise BadAnswer(key, index, item, 'id %s is also %s[%d]'
                                % (item['id'], key, first))
    if not fields:
        return
    identities = [tuple(map(item.get, fields)) for item in items]
    if len(set(identities)) < len(identities):
        seen = {}
        for index, identity in enumerate(identities):
            first = seen.setdefault(identity, index)
            if first != index:
                raise BadAnswer(key, index, items[index],
                                'it has the same %s as %s[%d]'
                                % (described, key, first))


def _check_parents(projects, rows, max_depth=None):
    """Refuse projects whose parents loop, or a chain of more than
    ``max_depth`` levels (``rows``: their :func:`project_rows`).

    Keystone's tree never loops; a copy that did has no subtree counters
    to compute, and the sync stopped with a traceback, again at every
    resync of the engine for as long as Keystone answered so.  The
    service walks a chain of at most ``max_depth`` levels and refuses a
    longer one (:data:`limits_svc.db.tree.MAX_DEPTH`): synced deeper, an
    allocation there could not even be freed, and the sweep of expired
    reservations stopped at it, every time.
    """
    parent_of = {row['id']: row['parent_id'] for row in rows}
    index_of = {project['id']: index for index, project in
                enumerate(projects)}
    levels = {}
    for row in rows:
        path = []
        on_path = set()
        node = row['id']
        while node is not None and node not in levels:
            if node in on_path:
                loop = path[path.index(node):]
                index = index_of[loop[0]]
                raise BadAnswer(
                    'projects', index, projects[index],
                    'its parents loop: %s' % ' -> '.join(loop + loop[:1]))
            path.append(node)
            on_path.add(node)
            node = parent_of[node]
        level = levels[node] if node is not None else 0
        for project_id in reversed(path):
            level += 1
            levels[project_id] = level
        if max_depth is not None and levels[row['id']] > max_depth:
            index = index_of[row['id']]
            raise BadAnswer(
                'projects', index, projects[index],
                'it is %d levels deep (its parents included); limits_svc '
                'keeps trees of at most %d levels'
                % (levels[row['id']], max_depth))


@dataclasses.dataclass
class Snapshot:
    """Everything limits_svc keeps of Keystone, as row dicts."""

    projects: list
    registered_limits: list
    project_limits: list


def project_rows(projects):
    """Keystone projects → ``{id, name, parent_id, domain_id}``.

    A top-level project's parent in Keystone is its domain; here it has
    none.  Projects acting as domains are left out.
    """
    rows = []
    for project in projects:
        if project.get('is_domain'):
            continue
        parent = project.get('parent_id')
        if parent == project.get('domain_id'):
            parent = None
        rows.append({'id': project['id'], 'name': project.get('name'),
                     'parent_id': parent,
                     'domain_id': project.get('domain_id') or 'default'})
    known = {row['id'] for row in rows}
    for row in rows:
        if row['parent_id'] not in known:
            row['parent_id'] = None
    return rows


def registered_limit_rows(registered_limits):
    return [{'id': lim['id'], 'service_id': lim['service_id'],
             'region_id': lim.get('region_id'),
             'resource_name': lim['resource_name'],
             'default_limit': lim['default_limit'],
             'description': lim.get('description')}
            for lim in registered_limits]


def scope_of(description, marker=SUBTREE_MARKER):
    return 'subtree' if marker and marker in (description or '') \
        else 'project'


def limit_rows(limits, marker=SUBTREE_MARKER):
    """Keystone project limits → rows; domain limits are kept as such."""
    return [{'id': lim['id'], 'project_id': lim.get('project_id'),
             'domain_id': lim.get('domain_id'),
             'service_id': lim['service_id'],
             'region_id': lim.get('region_id'),
             'resource_name': lim['resource_name'],
             'resource_limit': lim['resource_limit'],
             'scope': scope_of(lim.get('description'), marker),
             'description': lim.get('description')}
            for lim in limits]


def snapshot(projects, registered_limits, limits, marker=SUBTREE_MARKER,
             max_depth=None):
    """The rows of Keystone's three lists.

    :param max_depth: the most levels a chain of projects may have.
    :raises BadAnswer: an item is not what Keystone's API answers, or
        the lists are not as a whole (see :func:`_check_parents`).
    """
    lists = {'projects': projects, 'registered_limits': registered_limits,
             'limits': limits}
    for key, items in lists.items():
        check_items(key, items)
        _check_unique(key, items)
    rows = project_rows(projects)
    _check_parents(projects, rows, max_depth)
    return Snapshot(rows, registered_limit_rows(registered_limits),
                    limit_rows(limits, marker))
