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


def snapshot(projects, registered_limits, limits, marker=SUBTREE_MARKER):
    return Snapshot(project_rows(projects),
                    registered_limit_rows(registered_limits),
                    limit_rows(limits, marker))
