"""/v1/plans: what the reaper would free for a request, acting on
nothing."""

import pecan
from pecan import rest

from reaper_svc.api import cloud
from reaper_svc.db import actions as actions_db
from reaper_svc.db import clock as clock_db
from reaper_svc import reaper
from reaper_svc.schemas import plan as schema
from reaper_svc import strategies
from reaper_svc.strategies import model
from reaper_svc.strategies import rules
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import errors
from svc_common import policy


def build_request(body):
    """The :class:`~reaper_svc.strategies.model.Request` of a plan body:
    one server's resources (given, or the flavor's), how many, where."""
    traits = frozenset(body.get('required_traits', ()))
    forbidden = frozenset()
    if 'flavor' in body:
        resources, flavor_traits, forbidden = cloud.flavor_resources(
            body['flavor'], 'flavor')
        traits |= flavor_traits
        field = 'flavor'
    else:
        resources, field = body['resources'], 'resources'
    try:
        return model.Request(
            resources=resources, count=body.get('count', 1),
            aggregates=(frozenset(body['aggregates'])
                        if 'aggregates' in body else None),
            availability_zone=body.get('availability_zone'),
            required_traits=traits, forbidden_traits=forbidden)
    except ValueError as exc:
        raise errors.BadRequest('Invalid field %s: %s.' % (field, exc),
                                code='invalid_input', field=field)


def cannot_fit(request, eligible_hosts):
    """The 409 of a request that no choice of victims makes room for."""
    where = []
    if request.aggregates:
        where.append('aggregates %s' % ', '.join(sorted(request.aggregates)))
    if request.availability_zone:
        where.append('availability zone %s' % request.availability_zone)
    if request.required_traits:
        where.append('traits %s' % ', '.join(sorted(request.required_traits)))
    scope = ' (%s)' % '; '.join(where) if where else ''
    if not eligible_hosts:
        why = ('no enabled and up host%s offers every resource class it '
               'needs' % scope)
    else:
        why = ('even stopping every preemptible server out of its '
               'guaranteed runtime on the %d eligible hosts%s would not '
               'make room' % (eligible_hosts, scope))
    # The resources as people write them (VCPU=8), not a Python dict.
    resources = ', '.join('%s=%s' % item for item in
                          reaper.request_dict(request)['resources'].items())
    return errors.Conflict(
        'Cannot make room for %d server(s) of %s: %s.' % (
            request.count, resources, why),
        code='cannot_fit', eligible_hosts=eligible_hosts)


class PlansController(rest.RestController):

    OPENAPI = {'post': openapi.Operation(
        'plan:create', schema.RESPONSE_PLAN, body=schema.CREATE,
        errors=(409, 503))}

    @pecan.expose('json')
    def post(self):
        controller.authorize('plan:create', policy.SYSTEM)
        body = validation.json_body(schema.CREATE)
        request = build_request(body)
        strategy = strategies.load(pecan.request.conf.preemption.strategy)
        with cloud.answering_for_cloud():
            cluster = reaper.without_candidates(
                cloud.driver().cluster(), actions_db.claimed_servers(
                    pecan.request.db, pecan.request.context))
        selection = rules.select(
            strategy, cluster, request, clock_db.database_now(
                pecan.request.db, pecan.request.context))
        if selection.outcome == 'unsatisfiable':
            raise cannot_fit(request, sum(
                1 for host in cluster.hosts.values() if request.allows(host)))
        victims = [cluster.servers[v] for v in selection.victims]
        return {'plan': {
            'outcome': selection.outcome,
            'strategy': strategy.name,
            'request': reaper.request_dict(request),
            'victims': [{'server_id': v.id, 'host': v.host,
                         'project_id': v.project_id,
                         'resources': dict(v.resources)} for v in victims],
            'hosts': selection.hosts, 'wasted': selection.wasted}}
