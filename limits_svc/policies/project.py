"""Policies of /v1/projects (the project tree) and of usage.

The target is the project in the path; a create targets the new
project's parent (the whole system for a root project), a move also the
new parent.
"""

from limits_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace
PATH = '/v1/projects'
ITEM = '/v1/projects/{project_id}'


def list_rules():
    return [
        policy.rule(NS, 'project:list', personas.RULE_READER_OR_SERVICE,
                    'List projects of the tree (project readers see their '
                    'own project only).', [('GET', PATH)], policy.ANY_SCOPE),
        policy.rule(NS, 'project:get', personas.RULE_READER_OR_SERVICE,
                    'Show a project.', [('GET', ITEM)], policy.ANY_SCOPE),
        policy.rule(NS, 'project:create', personas.RULE_SYSTEM_ADMIN,
                    'Add a project to the tree (local mode).',
                    [('POST', PATH)], policy.SYSTEM_SCOPE),
        policy.rule(NS, 'project:update', personas.RULE_SYSTEM_ADMIN,
                    'Rename or move a project (local mode).',
                    [('PATCH', ITEM)], policy.SYSTEM_SCOPE),
        policy.rule(NS, 'project:delete', personas.RULE_SYSTEM_ADMIN,
                    'Remove a project without children or allocations '
                    '(local mode).', [('DELETE', ITEM)],
                    policy.SYSTEM_SCOPE),
        policy.rule(NS, 'usage:get', personas.RULE_READER_OR_SERVICE,
                    'Show limits and usage of a project, or of each '
                    'project of its subtree.', [('GET', ITEM + '/usage')],
                    policy.ANY_SCOPE),
        policy.rule(NS, 'usage:reconcile', personas.RULE_ADMIN_OR_SERVICE,
                    'Set a project\'s own usage to an outside count.',
                    [('PUT', '/v1/usages/{project_id}')], policy.ANY_SCOPE),
    ]
