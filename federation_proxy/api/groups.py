"""/v1/vos/{vo_id}/groups and /v1/vos/{vo_id}/roles: the tree of groups
of a VO (``vo``, ``vo:group``, ``vo:group:sub``) and the roles it gives
besides ``member`` and ``manager``.

As every resource under a VO, they are managed by system admins and by
the VO's own managers (see :mod:`federation_proxy.api.vo_access`); the
ids of another VO's groups and roles are absent here.
"""

import pecan
from pecan import rest

from federation_proxy.api import views
from federation_proxy.api import vo_access
from federation_proxy.db import communities
from federation_proxy.schemas import group as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation


def _db():
    return pecan.request.db, pecan.request.context


def _page():
    """``(limit, marker)`` of a list request (its query checked first:
    a 400 names the field)."""
    params = pecan.request.params
    validation.validate(schema.LIST_QUERY, dict(params))
    return validation.page(params, pecan.request.conf.api.max_limit)


class GroupsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('group:list', schema.RESPONSE_GROUPS,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('group:get', schema.RESPONSE_GROUP),
        'post': openapi.Operation('group:create', schema.RESPONSE_GROUP,
                                  status=201, body=schema.GROUP_CREATE,
                                  errors=(409,)),
        'delete': openapi.Operation('group:delete', status=204,
                                    errors=(409,)),
    }

    @pecan.expose('json')
    def get_all(self, vo_id):
        vo_access.authorize_vo('group:list', vo_id)
        limit, marker = _page()
        items = [views.group(r) for r in communities.list_groups(
            *_db(), vo_id, limit, marker)]
        return {'groups': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/vos/%s/groups' % vo_id,
            pecan.request.params)}

    @pecan.expose('json')
    def get_one(self, vo_id, group_id):
        vo_access.authorize_vo('group:get', vo_id)
        return {'group': views.group(
            communities.get_group(*_db(), vo_id, group_id))}

    @pecan.expose('json')
    def post(self, vo_id):
        vo_access.authorize_vo('group:create', vo_id)
        body = validation.json_body(schema.GROUP_CREATE)
        row = communities.create_group(*_db(), vo_id, body.get('parent_id'),
                                       body['name'],
                                       body.get('description'))
        return controller.created({'group': views.group(row)})

    @pecan.expose('json')
    def delete(self, vo_id, group_id):
        vo_access.authorize_vo('group:delete', vo_id)
        communities.delete_group(*_db(), vo_id, group_id)
        controller.no_content()


class RolesController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('role:list', schema.RESPONSE_ROLES,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('role:get', schema.RESPONSE_ROLE),
        'post': openapi.Operation('role:create', schema.RESPONSE_ROLE,
                                  status=201, body=schema.ROLE_CREATE,
                                  errors=(409,)),
        'delete': openapi.Operation('role:delete', status=204,
                                    errors=(409,)),
    }

    @pecan.expose('json')
    def get_all(self, vo_id):
        vo_access.authorize_vo('role:list', vo_id)
        limit, marker = _page()
        items = [views.role(r) for r in communities.list_roles(
            *_db(), vo_id, limit, marker)]
        return {'roles': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/vos/%s/roles' % vo_id,
            pecan.request.params)}

    @pecan.expose('json')
    def get_one(self, vo_id, role_id):
        vo_access.authorize_vo('role:get', vo_id)
        return {'role': views.role(
            communities.get_role(*_db(), vo_id, role_id))}

    @pecan.expose('json')
    def post(self, vo_id):
        vo_access.authorize_vo('role:create', vo_id)
        body = validation.json_body(schema.ROLE_CREATE)
        row = communities.create_role(*_db(), vo_id, body['name'],
                                      body.get('description'))
        return controller.created({'role': views.role(row)})

    @pecan.expose('json')
    def delete(self, vo_id, role_id):
        vo_access.authorize_vo('role:delete', vo_id)
        communities.delete_role(*_db(), vo_id, role_id)
        controller.no_content()
