"""/v1/allocations, /v1/enforce and /v1/usages: the ledger."""

import re

import pecan
from pecan import rest

from limits_svc.api import common
from limits_svc.db import allocations as allocations_db
from limits_svc.db import usages as usages_db
from limits_svc.schemas import allocation as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import errors
from svc_common import policy


def _allocation_dict(allocation):
    return dict(allocation,
                expires_at=controller.isoformat(allocation['expires_at']))


def _etag(generation):
    """The ETag of an allocation of this generation (a quoted string)."""
    return '"%d"' % generation


def _answer_allocation(allocation):
    """``{"allocation": ...}``, with the allocation's ``ETag`` header
    (none when nothing is left of it)."""
    if allocation['generation'] is not None:
        pecan.response.headers['ETag'] = _etag(allocation['generation'])
    return {'allocation': _allocation_dict(allocation)}


def _no_limit_policy():
    return pecan.request.conf.limits.no_limit_policy


def _refuse_kept():
    """Whether growth is refused in a project kept after it left Keystone
    (409 limits.project_deleted): in keystone mode, where the sync marks
    such projects; a local tree is the operator's, marks or not."""
    return pecan.request.conf.limits.mode == 'keystone'


def _authorize_project(action, project_id):
    """Check ``action`` on the project a body names."""
    controller.authorize(action, policy.project_target(project_id),
                         not_found=common.no_such_project(project_id))


# The opaque tag of an allocation's ETag (:func:`_etag`).
_GENERATION_TAG = re.compile('0|[1-9][0-9]{0,19}')


def _generation_of_tag(opaque):
    """The generation an opaque tag (the text between the quotes) is the
    ETag of, or None."""
    return int(opaque) if _GENERATION_TAG.fullmatch(opaque) else None


# One element of an entity-tag list (RFC 9110 8.8.3 and 5.6.1): an
# optional weak prefix and a quoted opaque tag, and the comma after it;
# an empty element is a comma alone.
_LIST_ELEMENT = re.compile(
    r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*)?(?:,|\Z)')


def _entity_tags(value):
    """The ETags of the list ``value`` (an ``If-Match`` or
    ``If-None-Match`` that is not ``*``) as ``(weak, generation)`` pairs,
    ``generation`` None for a well-formed tag that is no allocation's
    ETag; None when ``value`` is no list of entity tags (``5`` without
    quotes, ``*`` among tags, an unterminated quote)."""
    tags = []
    position = 0
    while position < len(value):
        element = _LIST_ELEMENT.match(value, position)
        if element is None:
            return None
        if element.group(2) is not None:
            tags.append((element.group(1) is not None,
                         _generation_of_tag(element.group(2))))
        position = element.end()
    return tags


def _if_match():
    """``(only_existing, generations)`` of the request's ``If-Match``.

    ``If-Match: *`` matches any live allocation of the consumer
    (``only_existing``); a list of ETags matches the live allocation whose
    generation is one of them (``generations``, a frozenset).  A weak or
    malformed ETag is none of an allocation's and matches nothing, so the
    request fails as HTTP says it must: 412, nothing written (``5``
    without quotes is no ETag: it matched ``"5"`` when webob read the
    header).  Without the header, ``(False, None)``: no condition.
    """
    value = pecan.request.headers.get('If-Match')
    if value is None:
        return False, None
    if value.strip() == '*':
        return True, None
    tags = _entity_tags(value) or ()
    return False, frozenset(generation for weak, generation in tags
                            if not weak and generation is not None)


def _if_none_match():
    """``(only_absent, unwanted)`` of the request's ``If-None-Match``.

    ``*`` is "only if the consumer has no live allocation"
    (``only_absent``); a list of ETags is "only if its live allocation,
    if any, is none of them" (``unwanted``, a frozenset of generations).
    HTTP compares If-None-Match weakly, so ``W/"5"`` names generation 5
    as ``"5"`` does; a well-formed tag that is no allocation's ETag
    names nothing.  Without the header, ``(False, None)``.

    A value that is neither ``*`` nor a list of entity tags (``5``
    without quotes, ``*`` among tags, an unterminated quote, no tag at
    all) is a 400 naming the header: ignoring it, as this service once
    did, turned a conditional write into an unconditional one.
    """
    value = pecan.request.headers.get('If-None-Match')
    if value is None:
        return False, None
    if value.strip(' \t') == '*':
        return True, None
    tags = _entity_tags(value)
    if tags is None:
        raise errors.BadRequest(
            'Invalid header If-None-Match: %s is neither * nor a '
            'comma-separated list of ETags such as "5", W/"5".'
            % validation.json_text(value, 80),
            code='invalid_input', field='If-None-Match')
    if not tags:
        raise errors.BadRequest(
            'Invalid header If-None-Match: it names no ETag.',
            code='invalid_input', field='If-None-Match')
    return False, frozenset(generation for weak, generation in tags
                            if generation is not None)


def _not_modified(allocation):
    """Whether the request's ``If-None-Match`` names the ETag a ``GET``
    of ``allocation`` would answer (or is ``*``): RFC 9110 13.1.2, weak
    comparison.  A malformed value is a 400, as for a write."""
    any_allocation, unwanted = _if_none_match()
    if allocation['generation'] is None:
        return any_allocation
    return any_allocation or (unwanted is not None and
                              allocation['generation'] in unwanted)


def _check_if_match(allocation, only_existing, generations):
    """Raise 412 ``limits.allocation_changed`` unless ``allocation``,
    the one a ``GET`` answers, is one the request's ``If-Match`` names
    (RFC 9110 13.1.1, strong comparison): ``*`` matches it, a list of
    ETags must hold its ETag.  The header is read as for a write (see
    :func:`_if_match`): a weak or malformed ETag matches nothing."""
    if only_existing or generations is None:
        return
    if allocation['generation'] not in generations:
        raise allocations_db.AllocationChanged(
            'The allocation of consumer %s is not the one of the ETag '
            'given (If-Match): it was written since.'
            % errors.quoted_id(allocation['consumer_id']))


def _answer_not_modified(allocation):
    """``304 Not Modified``: no body, the allocation's ``ETag``."""
    if allocation['generation'] is not None:
        pecan.response.headers['ETag'] = _etag(allocation['generation'])
    pecan.response.status = 304


def _authorize_leaving(action):
    """A check of ``action`` on the project a consumer leaves: a request
    that moves a consumer into another project also acts on the project
    the consumer is in now.  The DB layer calls it under the consumer's
    lock, with that project.

    (A 403: a consumer id is the caller's own choice, and it names another
    project's consumer.)
    """
    def check(project_id):
        controller.authorize(action, policy.project_target(project_id))
    return check


#: The conditional request headers of a write, for the OpenAPI document.
_CONDITIONS = {
    'If-Match': '``*`` (only if the consumer holds an allocation) or the '
                'ETags of which the live allocation must be one; else 412 '
                '``limits.allocation_absent`` or '
                '``limits.allocation_changed``.',
    'If-None-Match': '``*`` (only if the consumer holds no allocation) or '
                     'ETags (weak comparison) of which the live allocation '
                     'must be none; else 412 ``limits.allocation_exists``.',
}

#: The conditional request headers of a read, for the OpenAPI document.
_GET_CONDITIONS = {
    'If-Match': '``*`` or ETags (strong comparison, read as for a '
                'write): answer the allocation only if its ETag is one of '
                'them, else 412 ``limits.allocation_changed``.',
    'If-None-Match': '``*`` or ETags (weak comparison): when the '
                     'allocation\'s ETag is one of them, answer 304 Not '
                     'Modified, without a body, with the ETag.',
}

#: The header of an answer that shows an allocation.
_ETAG_HEADER = {
    'ETag': 'The allocation\'s generation, quoted: the value for '
            '``If-Match`` of a later write.',
}


class AllocationsController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('allocation:list',
                                     schema.RESPONSE_ALLOCATIONS,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('allocation:get',
                                     schema.RESPONSE_ALLOCATION,
                                     errors=(412,),
                                     headers=_GET_CONDITIONS,
                                     response_headers=_ETAG_HEADER,
                                     not_modified=True),
        'put': openapi.Operation('allocation:put', schema.RESPONSE_ALLOCATION,
                                 body=schema.PUT,
                                 path={'consumer_id': schema.PUT_CONSUMER},
                                 errors=(409, 412),
                                 headers=_CONDITIONS,
                                 response_headers=_ETAG_HEADER),
        'delete': openapi.Operation('allocation:delete', status=204,
                                    errors=(412,), headers=_CONDITIONS),
    }

    @pecan.expose('json')
    def get_all(self):
        params = pecan.request.params
        own = controller.visible_project()
        project_id = params.get('project_id') if own is None else own
        controller.authorize('allocation:list',
                             controller.list_target(project_id))
        # A project id no allocation can have is a 400 naming it, not an
        # empty list.
        validation.validate(schema.LIST_QUERY, {
            name: params[name] for name in ('project_id',) if name in params})
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        req = pecan.request
        items = [_allocation_dict(a) for a in allocations_db.list_allocations(
            req.db, req.context, limit, marker, project_id)]
        return {'allocations': items, 'links': validation.links_for_page(
            items, limit, 'consumer_id', '/v1/allocations', params)}

    @pecan.expose('json')
    def get_one(self, consumer_id):
        allocation = allocations_db.get_allocation(
            pecan.request.db, pecan.request.context, consumer_id)
        controller.authorize(
            'allocation:get', policy.project_target(allocation['project_id']),
            not_found=common.no_such_allocation(consumer_id))
        only_existing, generations = _if_match()
        # Read before If-Match is decided: a malformed If-None-Match is
        # a 400 whatever If-Match finds, as for a write.
        not_modified = _not_modified(allocation)
        # RFC 9110 13.2.2: If-Match first; its 412 wins over a 304.
        _check_if_match(allocation, only_existing, generations)
        if not_modified:
            return _answer_not_modified(allocation)
        return _answer_allocation(allocation)

    @pecan.expose('json')
    def put(self, consumer_id):
        validation.validate(schema.PUT_CONSUMER, consumer_id)
        body = validation.json_body(schema.PUT)
        _authorize_project('allocation:put', body['project_id'])
        only_existing, generations = _if_match()
        only_absent, unwanted = _if_none_match()
        req = pecan.request
        allocation = allocations_db.put_allocation(
            req.db, req.context, consumer_id, body['project_id'],
            body['resources'], _no_limit_policy(),
            expires_in=body.get('expires_in'),
            check_held=_authorize_leaving('allocation:put'),
            only_existing=only_existing, only_absent=only_absent,
            generations=generations, unwanted_generations=unwanted,
            refuse_kept=_refuse_kept())
        return _answer_allocation(allocation)

    @pecan.expose('json')
    def delete(self, consumer_id):
        def check(project_id):
            controller.authorize(
                'allocation:delete', policy.project_target(project_id),
                not_found=common.no_such_allocation(consumer_id))
        only_existing, generations = _if_match()
        only_absent, unwanted = _if_none_match()
        allocations_db.delete_allocation(
            pecan.request.db, pecan.request.context, consumer_id,
            check_held=check, only_existing=only_existing,
            generations=generations, only_absent=only_absent,
            unwanted_generations=unwanted)
        controller.no_content()


class EnforceController(rest.RestController):
    """POST /v1/enforce: the allocation decision, written nowhere."""

    OPENAPI = {'post': openapi.Operation(
        'enforce', schema.RESPONSE_ENFORCE, body=schema.ENFORCE,
        errors=(404, 409))}

    @pecan.expose('json')
    def post(self):
        body = validation.json_body(schema.ENFORCE)
        _authorize_project('enforce', body['project_id'])
        decision = allocations_db.decide(
            pecan.request.db, pecan.request.context, body.get('consumer_id'),
            body['project_id'], body['resources'], _no_limit_policy(),
            refuse_kept=_refuse_kept())
        if decision.held_project_id not in (None, body['project_id']):
            # The dry run counts the consumer's allocation where it is.
            _authorize_leaving('enforce')(decision.held_project_id)
        return {'allowed': decision.allowed,
                'deltas': decision.deltas,
                'blocking': [v.to_dict() for v in decision.violations]}


class UsagesController(rest.RestController):
    """PUT /v1/usages/{project_id}: reconcile with an outside count."""

    OPENAPI = {'put': openapi.Operation(
        'usage:reconcile', schema.RESPONSE_RECONCILE, body=schema.RECONCILE,
        errors=(409,))}

    @pecan.expose('json')
    def put(self, project_id):
        _authorize_project('usage:reconcile', project_id)
        body = validation.json_body(schema.RECONCILE)
        deltas = usages_db.reconcile_usage(
            pecan.request.db, pecan.request.context, project_id,
            body['resources'], refuse_kept=_refuse_kept())
        return {'project_id': project_id, 'adjusted': deltas}
