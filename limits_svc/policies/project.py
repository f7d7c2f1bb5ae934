"""Policies of /v1/projects (the project tree)."""

from limits_svc.policies import base

PATH = '/v1/projects'
ITEM = '/v1/projects/{project_id}'


def list_rules():
    return [
        base.rule('project:list', base.READER_OR_SERVICE,
                  'List projects of the tree (project readers see their '
                  'own project only).', 'GET', PATH),
        base.rule('project:get', base.READER_OR_SERVICE, 'Show a project.',
                  'GET', ITEM),
        base.rule('project:create', base.ADMIN, 'Add a project to the tree '
                  '(local mode).', 'POST', PATH, ['system']),
        base.rule('project:update', base.ADMIN, 'Rename or move a project '
                  '(local mode).', 'PATCH', ITEM, ['system']),
        base.rule('project:delete', base.ADMIN, 'Remove a project without '
                  'children or allocations (local mode).', 'DELETE', ITEM,
                  ['system']),
        base.rule('usage:get', base.READER_OR_SERVICE, 'Show limits and '
                  'usage of a project, or of each project of its subtree.',
                  'GET', ITEM + '/usage'),
        base.rule('usage:reconcile', base.ADMIN_OR_SERVICE, 'Set a '
                  'project\'s own usage to an outside count.', 'PUT',
                  '/v1/usages/{project_id}'),
    ]
