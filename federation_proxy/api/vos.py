"""/v1/vos and what a VO's managers manage under it: memberships,
requests and invitations.

Every handler checks its rule against the VO's target first
(:func:`federation_proxy.api.vo_access.authorize_vo`), then reads the
objects of that VO only: an id of another VO's object is absent here.
"""

import pecan
from pecan import rest

from federation_proxy.api import groups as groups_api
from federation_proxy.api import views
from federation_proxy.api import vo_access
from federation_proxy.db import communities
from federation_proxy.schemas import community as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import policy


def _db():
    return pecan.request.db, pecan.request.context


def _lifetime(body=None):
    body = body or {}
    return body.get('lifetime_days',
                    pecan.request.conf.federation.membership_lifetime_days)


def _page(query_schema):
    """``(limit, marker)`` of a list request whose query parameters
    ``query_schema`` describes (checked first: a 400 names the field)."""
    params = pecan.request.params
    validation.validate(query_schema, dict(params))
    return validation.page(params, pecan.request.conf.api.max_limit)


class MembershipsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('membership:list',
                                     schema.RESPONSE_MEMBERSHIPS,
                                     query=schema.MEMBERSHIP_QUERY),
        'get_one': openapi.Operation('membership:get',
                                     schema.RESPONSE_MEMBERSHIP),
        'post': openapi.Operation('membership:create',
                                  schema.RESPONSE_MEMBERSHIP, status=201,
                                  body=schema.MEMBERSHIP_CREATE,
                                  errors=(409,)),
        'patch': openapi.Operation('membership:update',
                                   schema.RESPONSE_MEMBERSHIP,
                                   body=schema.MEMBERSHIP_UPDATE),
        'delete': openapi.Operation('membership:delete', status=204),
    }

    @pecan.expose('json')
    def get_all(self, vo_id):
        vo_access.authorize_vo('membership:list', vo_id)
        params = pecan.request.params
        limit, marker = _page(schema.MEMBERSHIP_QUERY)
        items = [views.membership(r) for r in communities.list_memberships(
            *_db(), vo_id=vo_id, user_id=params.get('user_id'), limit=limit,
            marker=marker)]
        return {'memberships': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/vos/%s/memberships' % vo_id, params)}

    @pecan.expose('json')
    def get_one(self, vo_id, membership_id):
        vo_access.authorize_vo('membership:get', vo_id)
        return {'membership': views.membership(
            communities.get_membership(*_db(), vo_id, membership_id))}

    @pecan.expose('json')
    def post(self, vo_id):
        target = vo_access.authorize_vo('membership:create', vo_id)
        body = validation.json_body(schema.MEMBERSHIP_CREATE)
        row, event = communities.create_membership(
            *_db(), vo_id, body['user_id'], body['role'],
            group_id=body.get('group_id'),
            status=body.get('status', 'active'), lifetime=_lifetime(body),
            manager=vo_access.acting_manager(target))
        views.announce(event)
        return controller.created({'membership': views.membership(row)})

    @pecan.expose('json')
    def patch(self, vo_id, membership_id):
        target = vo_access.authorize_vo('membership:update', vo_id)
        body = validation.json_body(schema.MEMBERSHIP_UPDATE)
        row, event = communities.update_membership(
            *_db(), vo_id, membership_id, status=body.get('status'),
            renew_days=body.get('renew_days'),
            manager=vo_access.acting_manager(target))
        views.announce(event)
        return {'membership': views.membership(row)}

    @pecan.expose('json')
    def delete(self, vo_id, membership_id):
        target = vo_access.authorize_vo('membership:delete', vo_id)
        views.announce(communities.delete_membership(
            *_db(), vo_id, membership_id,
            manager=vo_access.acting_manager(target)))
        controller.no_content()


class RequestsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('request:list',
                                     schema.RESPONSE_REQUESTS,
                                     query=schema.REQUEST_QUERY),
        'get_one': openapi.Operation('request:get', schema.RESPONSE_REQUEST),
        'post': openapi.Operation('request:create', schema.RESPONSE_REQUEST,
                                  status=201, body=schema.REQUEST_CREATE,
                                  errors=(409,)),
        'patch': openapi.Operation('request:decide', schema.RESPONSE_REQUEST,
                                   body=schema.REQUEST_DECIDE,
                                   errors=(409,)),
        'delete': openapi.Operation('request:withdraw', status=204,
                                    errors=(409,)),
    }

    @pecan.expose('json')
    def get_all(self, vo_id):
        vo_access.authorize_vo('request:list', vo_id)
        params = pecan.request.params
        limit, marker = _page(schema.REQUEST_QUERY)
        items = [views.request(r) for r in communities.list_requests(
            *_db(), vo_id, status=params.get('status'), limit=limit,
            marker=marker)]
        return {'requests': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/vos/%s/requests' % vo_id, params)}

    @pecan.expose('json')
    def get_one(self, vo_id, request_id):
        vo_access.authorize_vo('request:get', vo_id)
        return {'request': views.request(
            communities.get_request(*_db(), vo_id, request_id))}

    @pecan.expose('json')
    def post(self, vo_id):
        # Strangers ask to join: the VO is not hidden from them here.
        vo_access.enforce('request:create', vo_access.vo_target(vo_id))
        body = validation.json_body(schema.REQUEST_CREATE)
        row = communities.create_request(
            *_db(), vo_id, vo_access.caller_id(), reason=body.get('reason'),
            group_id=body.get('group_id'), role=body.get('role', 'member'))
        return controller.created({'request': views.request(row)})

    @pecan.expose('json')
    def patch(self, vo_id, request_id):
        target = vo_access.authorize_vo('request:decide', vo_id)
        body = validation.json_body(schema.REQUEST_DECIDE)
        row, event = communities.decide_request(
            *_db(), vo_id, request_id, body['status'] == 'approved',
            _lifetime(), manager=vo_access.acting_manager(target))
        views.announce(event)
        return {'request': views.request(row)}

    @pecan.expose('json')
    def delete(self, vo_id, request_id):
        # The person who asked withdraws: the request stays, withdrawn.
        vo_access.authorize_requester('request:withdraw', vo_id,
                                      request_id)
        communities.withdraw_request(*_db(), vo_id, request_id)
        controller.no_content()


class InvitationsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('invitation:list',
                                     schema.RESPONSE_INVITATIONS,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('invitation:get',
                                     schema.RESPONSE_INVITATION),
        'post': openapi.Operation('invitation:create',
                                  schema.RESPONSE_INVITATION, status=201,
                                  body=schema.INVITATION_CREATE),
        'delete': openapi.Operation('invitation:delete', status=204),
    }

    @pecan.expose('json')
    def get_all(self, vo_id):
        vo_access.authorize_vo('invitation:list', vo_id)
        limit, marker = _page(schema.LIST_QUERY)
        items = [views.invitation(r) for r in communities.list_invitations(
            *_db(), vo_id, limit=limit, marker=marker)]
        return {'invitations': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/vos/%s/invitations' % vo_id,
            pecan.request.params)}

    @pecan.expose('json')
    def get_one(self, vo_id, invitation_id):
        vo_access.authorize_vo('invitation:get', vo_id)
        return {'invitation': views.invitation(
            communities.get_invitation(*_db(), vo_id, invitation_id))}

    @pecan.expose('json')
    def post(self, vo_id):
        target = vo_access.authorize_vo('invitation:create', vo_id)
        body = validation.json_body(schema.INVITATION_CREATE)
        row, token = communities.create_invitation(
            *_db(), vo_id, body['email'],
            pecan.request.conf.federation.invitation_lifetime,
            group_id=body.get('group_id'), role=body.get('role', 'member'),
            manager=vo_access.acting_manager(target))
        return controller.created({'invitation': views.invitation(row,
                                                                  token)})

    @pecan.expose('json')
    def delete(self, vo_id, invitation_id):
        vo_access.authorize_vo('invitation:delete', vo_id)
        communities.delete_invitation(*_db(), vo_id, invitation_id)
        controller.no_content()


class VOsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('vo:list', schema.RESPONSE_VOS,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('vo:get', schema.RESPONSE_VO),
        'post': openapi.Operation('vo:create', schema.RESPONSE_VO,
                                  status=201, body=schema.VO_CREATE,
                                  errors=(404, 409)),
        'delete': openapi.Operation('vo:delete', status=204),
    }

    memberships = MembershipsController()
    requests = RequestsController()
    invitations = InvitationsController()
    groups = groups_api.GroupsController()
    roles = groups_api.RolesController()

    @pecan.expose('json')
    def get_all(self):
        roles, target = vo_access.list_target()
        vo_access.enforce('vo:list', target)
        only = (None if pecan.request.context.system_scope == 'all'
                else sorted(roles))
        params = pecan.request.params
        limit, marker = _page(schema.LIST_QUERY)
        items = [views.vo(r) for r in communities.list_vos(
            *_db(), limit, marker, only=only)]
        return {'vos': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/vos', params)}

    @pecan.expose('json')
    def get_one(self, vo_id):
        vo_access.authorize_vo('vo:get', vo_id)
        return {'vo': views.vo(communities.get_vo(*_db(), vo_id))}

    @pecan.expose('json')
    def post(self):
        controller.authorize('vo:create', policy.SYSTEM)
        body = validation.json_body(schema.VO_CREATE)
        row, events = communities.create_vo(
            *_db(), body['name'], body['managers'], body.get('description'),
            lifetime=_lifetime())
        views.announce(*events)
        return controller.created({'vo': views.vo(row)})

    @pecan.expose('json')
    def delete(self, vo_id):
        vo_access.authorize_vo('vo:delete', vo_id)
        views.announce(*communities.delete_vo(*_db(), vo_id))
        controller.no_content()
