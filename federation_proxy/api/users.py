"""/v1/users and /v1/users/{user_id}/identities."""

import datetime
import urllib.parse

import pecan
from pecan import rest

from federation_proxy.api import settings
from federation_proxy.api import views
from federation_proxy.api import vo_access
from federation_proxy.db import communities
from federation_proxy.db import users as users_db
from federation_proxy import entitlements
from federation_proxy.schemas import community as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import errors
from svc_common import policy


def _user_target(user_id):
    return {'user_id': user_id, 'is_self': user_id == vo_access.caller_id()}


def _no_user(user_id):
    return errors.NotFound('No user %s.' % errors.quoted_id(user_id),
                           code='user_not_found')


def _authorize_user(action, user_id):
    """People other than system readers see only themselves: anyone
    else is answered as absent."""
    target = _user_target(user_id)
    vo_access.enforce(action, target, not_found=None if
                      pecan.request.context.system_scope == 'all' else
                      _no_user(user_id))
    try:
        users_db.get_user(pecan.request.db, pecan.request.context, user_id)
    except errors.NotFound as exc:
        if not target['is_self']:
            raise
        # A caller asking about themselves ("openstack vo request list
        # --mine") got "No user bob." and no more.
        raise errors.NotFound('%s The proxy does not know you as a '
                              'person: %s' % (exc.detail,
                                              communities.PERSON_HINT),
                              code=exc.code) from None


class IdentitiesController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('identity:list',
                                     schema.RESPONSE_IDENTITIES,
                                     query=schema.LIST_QUERY),
        'post': openapi.Operation('identity:create',
                                  schema.RESPONSE_IDENTITY, status=201,
                                  body=schema.IDENTITY_CREATE,
                                  errors=(409,)),
        'delete': openapi.Operation('identity:delete', status=204,
                                    errors=(409,)),
    }

    @pecan.expose('json')
    def get_all(self, user_id):
        _authorize_user('identity:list', user_id)
        params = pecan.request.params
        validation.validate(schema.LIST_QUERY, dict(params))
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        items = [views.identity(r) for r in users_db.list_identities(
            pecan.request.db, pecan.request.context, user_id, limit,
            marker)]
        return {'identities': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/users/%s/identities' %
            urllib.parse.quote(user_id, safe=''), params)}

    @pecan.expose('json')
    def post(self, user_id):
        _authorize_user('identity:create', user_id)
        body = validation.json_body(schema.IDENTITY_CREATE)
        row = users_db.link_identity(pecan.request.db, pecan.request.context,
                                     user_id, body['issuer'],
                                     body['subject'])
        return controller.created({'identity': views.identity(row)})

    @pecan.expose('json')
    def delete(self, user_id, identity_id):
        _authorize_user('identity:delete', user_id)
        users_db.unlink_identity(
            pecan.request.db, pecan.request.context, user_id, identity_id,
            settings.now(), datetime.timedelta(
                seconds=settings.conf().access_token_lifetime))
        controller.no_content()


def entitlement_issuer(conf):
    """The :class:`entitlements.Issuer` of this proxy's configuration:
    the authority is ``[federation] entitlement_authority``, else the
    host name of the issuer URL."""
    authority = (conf.entitlement_authority or
                 urllib.parse.urlsplit(conf.issuer).hostname)
    return entitlements.Issuer(conf.entitlement_nid,
                               conf.entitlement_namespace, authority)


class EntitlementsController(rest.RestController):
    """What a person's current memberships say about them in a token."""

    OPENAPI = {
        'get_all': openapi.Operation('user:entitlements',
                                     schema.RESPONSE_ENTITLEMENTS),
    }

    @pecan.expose('json')
    def get_all(self, user_id):
        _authorize_user('user:entitlements', user_id)
        rows = communities.current_memberships(
            pecan.request.db, pecan.request.context, user_id)
        conf = pecan.request.conf.federation
        return {'entitlements': {
            'eduperson_entitlement':
                entitlement_issuer(conf).entitlements(rows),
            'groups': entitlements.groups(rows)}}


class UserRequestsController(rest.RestController):
    """The requests to join VOs that one person made: what they asked,
    and what became of it.  Under the person, not the VO: until a
    request is approved its maker cannot see the VO's requests."""

    OPENAPI = {
        'get_all': openapi.Operation('user_request:list',
                                     schema.RESPONSE_OWN_REQUESTS,
                                     query=schema.USER_REQUEST_QUERY),
        'get_one': openapi.Operation('user_request:get',
                                     schema.RESPONSE_OWN_REQUEST),
    }

    @pecan.expose('json')
    def get_all(self, user_id):
        _authorize_user('user_request:list', user_id)
        params = pecan.request.params
        validation.validate(schema.USER_REQUEST_QUERY, dict(params))
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        items = [views.own_request(r) for r in communities.list_user_requests(
            pecan.request.db, pecan.request.context, user_id,
            status=params.get('status'), vo_id=params.get('vo_id'),
            limit=limit, marker=marker)]
        return {'requests': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/users/%s/requests' %
            urllib.parse.quote(user_id, safe=''), params)}

    @pecan.expose('json')
    def get_one(self, user_id, request_id):
        _authorize_user('user_request:get', user_id)
        return {'request': views.own_request(communities.get_user_request(
            pecan.request.db, pecan.request.context, user_id, request_id))}


class UsersController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('user:list', schema.RESPONSE_USERS,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('user:get', schema.RESPONSE_USER),
        'post': openapi.Operation('user:create', schema.RESPONSE_USER,
                                  status=201, body=schema.USER_CREATE,
                                  errors=(409,)),
    }

    identities = IdentitiesController()
    entitlements = EntitlementsController()
    requests = UserRequestsController()

    @pecan.expose('json')
    def get_all(self):
        controller.authorize('user:list', policy.SYSTEM)
        params = pecan.request.params
        validation.validate(schema.LIST_QUERY, dict(params))
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        items = [views.user(r) for r in users_db.list_users(
            pecan.request.db, pecan.request.context, limit, marker)]
        return {'users': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/users', params)}

    @pecan.expose('json')
    def get_one(self, user_id):
        _authorize_user('user:get', user_id)
        return {'user': views.user(users_db.get_user(
            pecan.request.db, pecan.request.context, user_id))}

    @pecan.expose('json')
    def post(self):
        controller.authorize('user:create', policy.SYSTEM)
        # A query parameter here is a mistake (an identity's user_id
        # given in the query instead of the path): refuse it, never
        # create a person instead.
        validation.validate(schema.NO_QUERY, dict(pecan.request.params))
        body = validation.json_body(schema.USER_CREATE)
        row = users_db.create_user(pecan.request.db, pecan.request.context,
                                   body['issuer'], body['subject'],
                                   body.get('name'), body.get('email'),
                                   user_id=body.get('id'))
        return controller.created({'user': views.user(row)})
