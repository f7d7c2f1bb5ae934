"""/v1/projects: the project tree, and each project's usage report."""

import pecan
from pecan import rest

from limits_svc.api import common
from limits_svc.db import api as db_api
from limits_svc import quota_tree
from limits_svc.schemas import project as schema
from svc_common.api import controller
from svc_common.api import validation
from svc_common import policy


def _project_dict(project):
    return {'id': project.id, 'name': project.name,
            'parent_id': project.parent_id, 'domain_id': project.domain_id,
            'created_at': controller.isoformat(project.created_at),
            'updated_at': controller.isoformat(project.updated_at)}


def _authorize_project(action, project_id):
    controller.authorize(action, policy.project_target(project_id),
                         not_found=common.no_such_project(project_id))


def _authorize_parent(action, parent_id):
    """Adding a project under a parent, or moving it there, also acts on
    the parent; making it a root project acts on the whole system."""
    if parent_id is None:
        controller.authorize(action, policy.SYSTEM)
    else:
        _authorize_project(action, parent_id)


def usage_report(session, project_id, subtree, no_limit_policy):
    """Limits and usage of the project, or of each project of its subtree."""
    parents = (db_api.subtree_parents(session, project_id) if subtree else
               {db_api.get_project(session, project_id).id: None})
    tree = quota_tree.ProjectTree(parents)
    ids = list(parents)
    own = db_api.own_usages(session, ids)
    # One project alone: its subtree usage is the ledger's counter, not
    # the sum over a tree that holds only the project itself.
    below = None if subtree else db_api.subtree_usages(session, ids)
    names = sorted({name for usage in own.values() for name in usage} |
                   {name for usage in (below or {}).values()
                    for name in usage} |
                   db_api.limited_resource_names(session, ids))
    catalog = db_api.limit_catalog(session, ids, names, no_limit_policy)
    levels = quota_tree.usage_report(tree, project_id, catalog, own, names,
                                     subtree_usage=below)
    return [level.to_dict() for level in levels]


class UsageController(rest.RestController):
    """GET /v1/projects/{project_id}/usage[?subtree=true]"""

    @pecan.expose('json')
    def get_all(self, project_id):
        _authorize_project('usage:get', project_id)
        subtree = validation.boolean_param(pecan.request.params, 'subtree')
        with controller.reader() as session:
            levels = usage_report(session, project_id, subtree,
                                  pecan.request.conf.limits.no_limit_policy)
        return {'project_id': project_id, 'subtree': subtree,
                'projects': levels}


class ProjectsController(rest.RestController):

    usage = UsageController()

    @pecan.expose('json')
    def get_all(self):
        controller.authorize('project:list', controller.list_target())
        params = pecan.request.params
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        with controller.reader() as session:
            rows = db_api.list_projects(session, limit, marker,
                                        params.get('parent_id'),
                                        only=controller.visible_project())
            projects = [_project_dict(p) for p in rows]
        return {'projects': projects, 'links': validation.links_for_page(
            projects, limit, 'id', '/v1/projects', params)}

    @pecan.expose('json')
    def get_one(self, project_id):
        _authorize_project('project:get', project_id)
        with controller.reader() as session:
            return {'project': _project_dict(
                db_api.get_project(session, project_id))}

    @pecan.expose('json')
    def post(self):
        body = validation.json_body(schema.CREATE)
        _authorize_parent('project:create', body.get('parent_id'))
        common.require_local_mode('Projects')
        with controller.writer() as session:
            project = db_api.create_project(
                session, body['id'], body.get('name'), body.get('parent_id'),
                body.get('domain_id', 'default'))
            return controller.created({'project': _project_dict(project)})

    @pecan.expose('json')
    def patch(self, project_id):
        _authorize_project('project:update', project_id)
        common.require_local_mode('Projects')
        body = validation.json_body(schema.UPDATE)
        if 'parent_id' in body:
            _authorize_parent('project:update', body['parent_id'])
        project = db_api.update_project(
            pecan.request.db, pecan.request.context, project_id,
            pecan.request.conf.limits.no_limit_policy,
            **{k: body[k] for k in ('name', 'parent_id') if k in body})
        return {'project': _project_dict(project)}

    @pecan.expose('json')
    def delete(self, project_id):
        _authorize_project('project:delete', project_id)
        common.require_local_mode('Projects')
        with controller.writer() as session:
            db_api.delete_project(session, project_id)
        controller.no_content()
