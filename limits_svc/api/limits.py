"""/v1/registered_limits and /v1/limits: defaults and project overrides."""

import pecan
from pecan import rest

from limits_svc.api import common
from limits_svc.db import limits as limits_db
from limits_svc.db import models
from limits_svc.schemas import limit as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import policy

_FIELDS = {
    models.RegisteredLimit: ('id', 'service_id', 'region_id',
                             'resource_name', 'default_limit',
                             'description'),
    models.ProjectLimit: ('id', 'project_id', 'domain_id', 'service_id',
                          'region_id', 'resource_name', 'resource_limit',
                          'scope', 'description'),
}


def _limit_dict(row):
    return {name: getattr(row, name) for name in _FIELDS[type(row)]}


def _operations(kind, create, update, one, page, query,
                create_errors=(409,)):
    """The OpenAPI declarations of the five handlers, for one kind."""
    return {
        'get_all': openapi.Operation('%s:list' % kind, page, query=query),
        'get_one': openapi.Operation('%s:get' % kind, one),
        'post': openapi.Operation('%s:create' % kind, one, status=201,
                                  body=create, errors=create_errors),
        'patch': openapi.Operation('%s:update' % kind, one, body=update,
                                   errors=(409,)),
        'delete': openapi.Operation('%s:delete' % kind, status=204,
                                    errors=(409,)),
    }


class _LimitsController(rest.RestController):
    """The same five handlers for both kinds of limit."""

    MODEL = None
    KIND = None           # policy name prefix
    COLLECTION = None     # JSON key and path of the collection
    MEMBER = None
    CREATE = None
    UPDATE = None
    FILTERS = ('service_id', 'region_id', 'resource_name')

    @staticmethod
    def _read_target(project_id):
        """A project limit is its project's; a registered limit is a
        default every project shares, read as the caller's own view."""
        if project_id:
            return policy.project_target(project_id)
        return controller.list_target()

    @staticmethod
    def _write_target(project_id):
        """A project limit is its project's; a registered limit is the
        whole system's."""
        if project_id:
            return policy.project_target(project_id)
        return policy.SYSTEM

    def _authorize_row(self, action, limit_id, target_of):
        """Look the limit up, check ``action`` on its target and return
        the limit as a dict."""
        limit = _limit_dict(limits_db.get_limit(
            pecan.request.db, pecan.request.context, self.MODEL, limit_id))
        controller.authorize('%s:%s' % (self.KIND, action),
                             target_of(limit.get('project_id')),
                             not_found=common.no_such_limit(limit_id))
        return limit

    @pecan.expose('json')
    def get_all(self):
        params = pecan.request.params
        filters = {name: params.get(name) for name in self.FILTERS}
        own = controller.visible_project()
        if own is not None and 'project_id' in self.FILTERS:
            filters['project_id'] = own
        controller.authorize('%s:list' % self.KIND,
                             controller.list_target(filters.get('project_id')))
        # A filter value no limit can have (scope=bogus, a 10 kB
        # service_id) is a 400 naming it, not an empty list.
        validation.validate(self.LIST_QUERY, {
            name: value for name, value in params.items()
            if name in self.FILTERS})
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        items = [_limit_dict(row) for row in limits_db.list_limits(
            pecan.request.db, pecan.request.context, self.MODEL, filters,
            limit, marker)]
        return {self.COLLECTION: items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/%s' % self.COLLECTION, params)}

    @pecan.expose('json')
    def get_one(self, limit_id):
        return {self.MEMBER: self._authorize_row('get', limit_id,
                                                 self._read_target)}

    @pecan.expose('json')
    def post(self):
        body = validation.json_body(self.CREATE)
        project_id = body.get('project_id')
        controller.authorize(
            '%s:create' % self.KIND, self._write_target(project_id),
            not_found=common.no_such_project(project_id) if project_id
            else None)
        common.require_local_mode('Limits')
        row = limits_db.create_limit(pecan.request.db, pecan.request.context,
                                     self.MODEL, body)
        return controller.created({self.MEMBER: _limit_dict(row)})

    @pecan.expose('json')
    def patch(self, limit_id):
        self._authorize_row('update', limit_id, self._write_target)
        common.require_local_mode('Limits')
        body = validation.json_body(self.UPDATE)
        row = limits_db.update_limit(pecan.request.db, pecan.request.context,
                                     self.MODEL, limit_id, body)
        return {self.MEMBER: _limit_dict(row)}

    @pecan.expose('json')
    def delete(self, limit_id):
        self._authorize_row('delete', limit_id, self._write_target)
        common.require_local_mode('Limits')
        limits_db.delete_limit(pecan.request.db, pecan.request.context,
                               self.MODEL, limit_id)
        controller.no_content()


class RegisteredLimitsController(_LimitsController):
    MODEL = models.RegisteredLimit
    KIND = 'registered_limit'
    COLLECTION = 'registered_limits'
    MEMBER = 'registered_limit'
    CREATE = schema.REGISTERED_CREATE
    UPDATE = schema.REGISTERED_UPDATE
    LIST_QUERY = schema.REGISTERED_LIST_QUERY
    OPENAPI = _operations(KIND, CREATE, UPDATE,
                          schema.RESPONSE_REGISTERED_LIMIT,
                          schema.RESPONSE_REGISTERED_LIMITS, LIST_QUERY)


class ProjectLimitsController(_LimitsController):
    MODEL = models.ProjectLimit
    KIND = 'limit'
    COLLECTION = 'limits'
    MEMBER = 'limit'
    CREATE = schema.LIMIT_CREATE
    UPDATE = schema.LIMIT_UPDATE
    FILTERS = ('project_id', 'service_id', 'region_id', 'resource_name',
               'scope')
    LIST_QUERY = schema.LIMIT_LIST_QUERY
    # A project limit names a project, which may not exist.
    OPENAPI = _operations(KIND, CREATE, UPDATE, schema.RESPONSE_LIMIT,
                          schema.RESPONSE_LIMITS, LIST_QUERY,
                          create_errors=(404, 409))
