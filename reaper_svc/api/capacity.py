"""/v1/capacity: what the cloud has, uses, and could free, per
aggregate."""

import pecan
from pecan import rest

from reaper_svc.api import cloud
from reaper_svc.schemas import capacity as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation


class CapacityController(rest.RestController):

    OPENAPI = {'get_all': openapi.Operation(
        'capacity:get', schema.RESPONSE_CAPACITY, query=schema.QUERY,
        errors=(503,))}

    @pecan.expose('json')
    def get_all(self):
        controller.authorize('capacity:get', controller.list_target())
        params = pecan.request.params
        validation.validate(schema.QUERY, dict(params))
        wanted = params.get('aggregate')
        with cloud.answering_for_cloud():
            aggregates = cloud.driver().aggregates()
            figures = cloud.driver().capacity()
        return {'capacity': [
            {'aggregate': name, 'hosts': len(aggregates.get(name, ())),
             'resources': resources}
            for name, resources in sorted(figures.items())
            if wanted is None or name == wanted]}
