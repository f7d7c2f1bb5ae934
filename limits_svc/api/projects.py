"""/v1/projects: the project tree, and each project's usage report."""

import pecan
from pecan import rest

from limits_svc.api import common
from limits_svc.db import projects as projects_db
from limits_svc.db import usages as usages_db
from limits_svc.schemas import project as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import policy


def _project_dict(project):
    return {'id': project.id, 'name': project.name,
            'parent_id': project.parent_id, 'domain_id': project.domain_id,
            'created_at': controller.isoformat(project.created_at),
            'updated_at': controller.isoformat(project.updated_at),
            'left_keystone_at': controller.isoformat(
                project.left_keystone_at)}


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


class UsageController(rest.RestController):
    """GET /v1/projects/{project_id}/usage[?subtree=true]"""

    OPENAPI = {'get_all': openapi.Operation(
        'usage:get', schema.RESPONSE_USAGE, query=schema.USAGE_QUERY)}

    @pecan.expose('json')
    def get_all(self, project_id):
        _authorize_project('usage:get', project_id)
        params = pecan.request.params
        subtree = validation.boolean_param(params, 'subtree')
        # The marker may be a path, longer than validation.page takes.
        marker = params.get('marker')
        validation.validate(
            schema.USAGE_QUERY_OF_PATH if marker and '/' in marker
            else schema.USAGE_QUERY_OF_ID,
            {name: params[name] for name in ('limit', 'marker')
             if name in params})
        limit = min(validation.integer_param(
            params, 'limit', default=pecan.request.conf.api.max_limit,
            minimum=1), pecan.request.conf.api.max_limit)
        report, next_marker = usages_db.usage_report(
            pecan.request.db, pecan.request.context, project_id, subtree,
            pecan.request.conf.limits.no_limit_policy, limit, marker)
        levels = [level.to_dict() for level in report]
        # One project alone is one answer, whatever limit says.  The next
        # page starts after the path of this one's last project.
        links = validation.links_for_page(
            [{'marker': next_marker}] * len(levels), limit, 'marker',
            '/v1/projects/%s/usage' % project_id, params) if subtree else []
        return {'project_id': project_id, 'subtree': subtree,
                'projects': levels, 'links': links}


class ProjectsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('project:list', schema.RESPONSE_PROJECTS,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('project:get', schema.RESPONSE_PROJECT),
        'post': openapi.Operation('project:create', schema.RESPONSE_PROJECT,
                                  status=201, body=schema.CREATE,
                                  errors=(404, 409)),
        'patch': openapi.Operation('project:update', schema.RESPONSE_PROJECT,
                                   body=schema.UPDATE, errors=(409,)),
        'delete': openapi.Operation('project:delete', status=204,
                                    errors=(409,)),
    }

    usage = UsageController()

    @pecan.expose('json')
    def get_all(self):
        controller.authorize('project:list', controller.list_target())
        params = pecan.request.params
        # A parent id no project can have is a 400 naming it, not an
        # empty list.
        validation.validate(schema.LIST_QUERY, {
            name: params[name] for name in ('parent_id',) if name in params})
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        rows = projects_db.list_projects(
            pecan.request.db, pecan.request.context, limit, marker,
            params.get('parent_id'), only=controller.visible_project())
        projects = [_project_dict(p) for p in rows]
        return {'projects': projects, 'links': validation.links_for_page(
            projects, limit, 'id', '/v1/projects', params)}

    @pecan.expose('json')
    def get_one(self, project_id):
        _authorize_project('project:get', project_id)
        return {'project': _project_dict(projects_db.get_project(
            pecan.request.db, pecan.request.context, project_id))}

    @pecan.expose('json')
    def post(self):
        body = validation.json_body(schema.CREATE)
        _authorize_parent('project:create', body.get('parent_id'))
        common.require_local_mode('Projects')
        project = projects_db.create_project(
            pecan.request.db, pecan.request.context, body['id'],
            body.get('name'), body.get('parent_id'),
            body.get('domain_id', 'default'))
        return controller.created({'project': _project_dict(project)})

    @pecan.expose('json')
    def patch(self, project_id):
        _authorize_project('project:update', project_id)
        common.require_local_mode('Projects')
        body = validation.json_body(schema.UPDATE)
        if 'parent_id' in body:
            _authorize_parent('project:update', body['parent_id'])
        project = projects_db.update_project(
            pecan.request.db, pecan.request.context, project_id,
            pecan.request.conf.limits.no_limit_policy,
            **{k: body[k] for k in ('name', 'parent_id') if k in body})
        return {'project': _project_dict(project)}

    @pecan.expose('json')
    def delete(self, project_id):
        _authorize_project('project:delete', project_id)
        common.require_local_mode('Projects')
        projects_db.delete_project(pecan.request.db, pecan.request.context,
                                   project_id)
        controller.no_content()
