"""/v1/registered_limits and /v1/limits: defaults and project overrides."""

import pecan
from pecan import rest

from limits_svc.api import common
from limits_svc.db import api as db_api
from limits_svc.db import models
from limits_svc.schemas import limit as schema
from svc_common.api import validation

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


class _LimitsController(rest.RestController):
    """The same five handlers for both kinds of limit."""

    MODEL = None
    KIND = None           # policy name prefix
    COLLECTION = None     # JSON key and path of the collection
    MEMBER = None
    CREATE = None
    UPDATE = None
    FILTERS = ('service_id', 'region_id', 'resource_name')

    def _target(self, row):
        """Project limits belong to their project; registered limits are
        defaults that every reader may see (None: the caller's own)."""
        project_id = getattr(row, 'project_id', None)
        return {'project_id': project_id} if project_id else None

    @pecan.expose('json')
    def get_all(self):
        ctx = pecan.request.context
        common.authorize('%s:list' % self.KIND, hide_outside=False)
        params = pecan.request.params
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        filters = {name: params.get(name) for name in self.FILTERS}
        own = common.visible_project(ctx)
        if own is not None and 'project_id' in self.FILTERS:
            filters['project_id'] = own
        with common.reader() as session:
            items = [_limit_dict(row) for row in db_api.list_limits(
                session, self.MODEL, filters, limit, marker)]
        return {self.COLLECTION: items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/%s' % self.COLLECTION, params)}

    @pecan.expose('json')
    def get_one(self, limit_id):
        with common.reader() as session:
            row = db_api.get_limit(session, self.MODEL, limit_id)
            common.authorize('%s:get' % self.KIND, self._target(row))
            return {self.MEMBER: _limit_dict(row)}

    @pecan.expose('json')
    def post(self):
        common.authorize('%s:create' % self.KIND, hide_outside=False)
        common.require_local_mode('Limits')
        body = validation.json_body(self.CREATE)
        with common.writer() as session:
            row = db_api.create_limit(session, self.MODEL, dict(body))
            return common.created({self.MEMBER: _limit_dict(row)})

    @pecan.expose('json')
    def patch(self, limit_id):
        common.authorize('%s:update' % self.KIND, hide_outside=False)
        common.require_local_mode('Limits')
        body = validation.json_body(self.UPDATE)
        with common.writer() as session:
            row = db_api.update_limit(session, self.MODEL, limit_id, body)
            return {self.MEMBER: _limit_dict(row)}

    @pecan.expose('json')
    def delete(self, limit_id):
        common.authorize('%s:delete' % self.KIND, hide_outside=False)
        common.require_local_mode('Limits')
        with common.writer() as session:
            db_api.delete_limit(session, self.MODEL, limit_id)
        common.no_content()


class RegisteredLimitsController(_LimitsController):
    MODEL = models.RegisteredLimit
    KIND = 'registered_limit'
    COLLECTION = 'registered_limits'
    MEMBER = 'registered_limit'
    CREATE = schema.REGISTERED_CREATE
    UPDATE = schema.REGISTERED_UPDATE


class ProjectLimitsController(_LimitsController):
    MODEL = models.ProjectLimit
    KIND = 'limit'
    COLLECTION = 'limits'
    MEMBER = 'limit'
    CREATE = schema.LIMIT_CREATE
    UPDATE = schema.LIMIT_UPDATE
    FILTERS = ('project_id', 'service_id', 'region_id', 'resource_name',
               'scope')
