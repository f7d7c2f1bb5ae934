"""/v1/idps and /v1/clients: the upstream identity providers the proxy
logs people in through, and the relying parties it issues tokens to.

Both are the operator's (system scope). An IdP's client secret is
write-only and kept encrypted; a client's secret is in the answer that
makes it, once, and kept hashed (see :mod:`federation_proxy.db.idps` and
:mod:`federation_proxy.db.clients`).
"""

import datetime

import pecan
from pecan import rest

from federation_proxy.api import settings
from federation_proxy.api import views
from federation_proxy.db import clients as clients_db
from federation_proxy.db import idps as idps_db
from federation_proxy.schemas import client as client_schema
from federation_proxy.schemas import community
from federation_proxy.schemas import idp as idp_schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import policy


def _db():
    return pecan.request.db, pecan.request.context


def _revocation():
    """``(now, access-token lifetime)``: until when an IdP's disabling
    or deletion revokes the access tokens of the grants it ends."""
    return settings.now(), datetime.timedelta(
        seconds=settings.conf().access_token_lifetime)


def _page():
    """``(params, limit, marker)`` of a list request (its query checked
    first: a 400 names the field)."""
    params = pecan.request.params
    validation.validate(community.LIST_QUERY, dict(params))
    limit, marker = validation.page(params, pecan.request.conf.api.max_limit)
    return params, limit, marker


def _authorize(action, what):
    """System-scoped rules: anyone else is refused before any lookup."""
    controller.authorize('%s:%s' % (what, action), policy.SYSTEM)


class IdPsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('idp:list', idp_schema.RESPONSE_IDPS,
                                     query=community.LIST_QUERY),
        'get_one': openapi.Operation('idp:get', idp_schema.RESPONSE_IDP),
        'post': openapi.Operation('idp:create', idp_schema.RESPONSE_IDP,
                                  status=201, body=idp_schema.IDP_CREATE,
                                  errors=(409,)),
        'patch': openapi.Operation('idp:update', idp_schema.RESPONSE_IDP,
                                   body=idp_schema.IDP_UPDATE,
                                   errors=(409,)),
        'delete': openapi.Operation('idp:delete', status=204),
    }

    @pecan.expose('json')
    def get_all(self):
        _authorize('list', 'idp')
        params, limit, marker = _page()
        items = [views.idp(r) for r in idps_db.list_idps(*_db(), limit,
                                                         marker)]
        return {'idps': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/idps', params)}

    @pecan.expose('json')
    def get_one(self, idp_id):
        _authorize('get', 'idp')
        return {'idp': views.idp(idps_db.get_idp(*_db(), idp_id))}

    @pecan.expose('json')
    def post(self):
        _authorize('create', 'idp')
        body = validation.json_body(idp_schema.IDP_CREATE)
        conf = pecan.request.conf.federation
        row = idps_db.create_idp(*_db(), body, conf.secret_key,
                                 conf.discovery_timeout)
        return controller.created({'idp': views.idp(row)})

    @pecan.expose('json')
    def patch(self, idp_id):
        _authorize('update', 'idp')
        body = validation.json_body(idp_schema.IDP_UPDATE)
        conf = pecan.request.conf.federation
        row = idps_db.update_idp(*_db(), idp_id, body, conf.secret_key,
                                 conf.discovery_timeout, *_revocation())
        return {'idp': views.idp(row)}

    @pecan.expose('json')
    def delete(self, idp_id):
        _authorize('delete', 'idp')
        idps_db.delete_idp(*_db(), idp_id, *_revocation())
        controller.no_content()


class ClientsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('client:list',
                                     client_schema.RESPONSE_CLIENTS,
                                     query=community.LIST_QUERY),
        'get_one': openapi.Operation('client:get',
                                     client_schema.RESPONSE_CLIENT),
        'post': openapi.Operation('client:create',
                                  client_schema.RESPONSE_CLIENT, status=201,
                                  body=client_schema.CLIENT_CREATE,
                                  errors=(409,)),
        'patch': openapi.Operation('client:update',
                                   client_schema.RESPONSE_CLIENT,
                                   body=client_schema.CLIENT_UPDATE,
                                   errors=(409,)),
        'delete': openapi.Operation('client:delete', status=204),
    }

    @pecan.expose('json')
    def get_all(self):
        _authorize('list', 'client')
        params, limit, marker = _page()
        items = [views.client(r) for r in clients_db.list_clients(
            *_db(), limit, marker)]
        return {'clients': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/clients', params)}

    @pecan.expose('json')
    def get_one(self, client_id):
        _authorize('get', 'client')
        return {'client': views.client(clients_db.get_client(*_db(),
                                                             client_id))}

    @pecan.expose('json')
    def post(self):
        _authorize('create', 'client')
        body = validation.json_body(client_schema.CLIENT_CREATE)
        row, secret = clients_db.create_client(*_db(), body)
        return controller.created({'client': views.client(row, secret)})

    @pecan.expose('json')
    def patch(self, client_id):
        _authorize('update', 'client')
        body = validation.json_body(client_schema.CLIENT_UPDATE)
        row, secret = clients_db.update_client(*_db(), client_id, body)
        return {'client': views.client(row, secret)}

    @pecan.expose('json')
    def delete(self, client_id):
        _authorize('delete', 'client')
        lifetime = pecan.request.conf.federation.access_token_lifetime
        clients_db.delete_client(*_db(), client_id, settings.now(),
                                 datetime.timedelta(seconds=lifetime))
        controller.no_content()
