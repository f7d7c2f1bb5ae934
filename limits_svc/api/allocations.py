"""/v1/allocations, /v1/enforce and /v1/usages: the ledger."""

import datetime

import pecan
from pecan import rest

from limits_svc.api import common
from limits_svc.db import api as db_api
from limits_svc.schemas import allocation as schema
from svc_common.api import validation


def _allocation_dict(allocation):
    return dict(allocation,
                expires_at=common.isoformat(allocation['expires_at']))


def _no_limit_policy():
    return pecan.request.conf.limits.no_limit_policy


class AllocationsController(rest.RestController):

    @pecan.expose('json')
    def get_all(self):
        ctx = pecan.request.context
        params = pecan.request.params
        project_id = common.visible_project(ctx) or params.get('project_id')
        common.authorize('allocation:list', {'project_id': project_id},
                         hide_outside=False)
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        with common.reader() as session:
            items = [_allocation_dict(a) for a in db_api.list_allocations(
                session, limit, marker, project_id)]
        return {'allocations': items, 'links': validation.links_for_page(
            items, limit, 'consumer_id', '/v1/allocations', params)}

    @pecan.expose('json')
    def get_one(self, consumer_id):
        with common.reader() as session:
            allocation = db_api.get_allocation(session, consumer_id)
        common.authorize('allocation:get', allocation)
        return {'allocation': _allocation_dict(allocation)}

    @pecan.expose('json')
    def put(self, consumer_id):
        common.authorize('allocation:put', hide_outside=False)
        validation.validate(schema.PUT_CONSUMER, consumer_id)
        body = validation.json_body(schema.PUT)
        expires_at = None
        if body.get('expires_in'):
            expires_at = db_api.utcnow() + datetime.timedelta(
                seconds=body['expires_in'])
        req = pecan.request
        db_api.purge_expired_if_due(req.db, req.context)
        allocation = db_api.put_allocation(
            req.db, req.context, consumer_id, body['project_id'],
            body['resources'], _no_limit_policy(), expires_at)
        return {'allocation': _allocation_dict(allocation)}

    @pecan.expose('json')
    def delete(self, consumer_id):
        common.authorize('allocation:delete', hide_outside=False)
        db_api.delete_allocation(pecan.request.db, pecan.request.context,
                                 consumer_id)
        common.no_content()


class EnforceController(rest.RestController):
    """POST /v1/enforce: the allocation decision, written nowhere."""

    @pecan.expose('json')
    def post(self):
        body = validation.json_body(schema.ENFORCE)
        common.authorize('enforce', {'project_id': body['project_id']})
        with common.reader() as session:
            decision = db_api.decide(
                session.connection(), body.get('consumer_id'),
                body['project_id'], body['resources'], _no_limit_policy(),
                lock=False)
        violations = decision[-1]
        return {'allowed': not violations,
                'deltas': decision[-2],
                'blocking': [v.to_dict() for v in violations]}


class UsagesController(rest.RestController):
    """PUT /v1/usages/{project_id}: reconcile with an outside count."""

    @pecan.expose('json')
    def put(self, project_id):
        common.authorize('usage:reconcile', {'project_id': project_id},
                         hide_outside=False)
        body = validation.json_body(schema.RECONCILE)
        deltas = db_api.reconcile_usage(pecan.request.db,
                                        pecan.request.context, project_id,
                                        body['resources'])
        return {'project_id': project_id, 'adjusted': deltas}
