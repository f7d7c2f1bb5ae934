"""Who the caller is to a VO, and the policy check of VO-scoped rules.

The caller's proxy user is the person whose id is the request context's
``user_id``: the person of the proxy session cookie or of a proxy access
token with the management scope (:mod:`federation_proxy.api.session_auth`),
or a Keystone user registered as the proxy person of the same id (the
leaf Keystones see the proxy's ``sub``); with ``auth_strategy = noauth``
it is the ``X-User-Id`` header.

:func:`authorize_vo` builds the target of a rule on one VO from the
caller's current memberships (``vo_manager``, ``vo_member``; see
:mod:`federation_proxy.policies.community`) and checks it with the
service's enforcer.  A refusal of a caller who holds no role in the VO is
the VO's 404, so that strangers and managers of other VOs cannot tell
whether it exists; a caller who belongs to the VO but may not do this
gets the 403.
"""

from oslo_policy import policy as oslo_policy
import pecan

from federation_proxy.db import communities
from federation_proxy.db import logins
from svc_common import errors


def caller_id():
    return pecan.request.context.user_id


def is_user():
    """True when the caller is a person known to the proxy."""
    return logins.is_person(pecan.request.db, pecan.request.context,
                            caller_id())


def roles_by_vo():
    """``{vo_id: {role, ...}}`` of the caller's current memberships."""
    if not caller_id():
        return {}
    return communities.vo_roles(pecan.request.db, pecan.request.context,
                                caller_id())


def _check(action, target):
    req = pecan.request
    return req.enforcer.authorize('%s:%s' % (req.spec.namespace, action),
                                  target, req.context, do_raise=True)


def enforce(action, target, not_found=None):
    """Check ``action`` on ``target`` (a dict of the attributes the rules
    read), mapping a refusal to the one error shape; ``not_found`` is
    raised instead of the 403 when given."""
    try:
        _check(action, target)
    except oslo_policy.InvalidScope:
        if not_found is not None:
            raise not_found from None
        raise errors.Forbidden('A token of this scope cannot perform '
                               '%s.' % action, code='wrong_scope')
    except oslo_policy.PolicyNotAuthorized:
        if not_found is not None:
            raise not_found from None
        raise errors.Forbidden('Policy does not allow %s.%s'
                               % (action, _refusal_hint(action, target)),
                               code='forbidden')


def _refusal_hint(action, target):
    """What a caller refused ``action`` may do about it, after the
    refusal's sentence: "Policy does not allow request:create." told a
    caller unknown to the proxy, or a person in no VO listing VOs,
    nothing they could act on."""
    if system_scoped():
        return ''
    if target.get('is_user') is False:
        return (' The proxy does not know user %s as a person: %s'
                % (caller_id(), communities.PERSON_HINT))
    if action == 'vo:list' and target.get('vo_member') is False:
        return (' You belong to no VO yet: ask to join one with its ID '
                '("openstack vo request create <vo-id>") or accept an '
                'invitation.')
    return ''


def vo_target(vo_id, roles=None):
    """The policy target of an action on VO ``vo_id``."""
    roles = roles_by_vo() if roles is None else roles
    mine = roles.get(vo_id, set())
    return {'vo_id': vo_id, 'vo_manager': 'manager' in mine,
            'vo_member': bool(mine), 'is_user': is_user()}


def authorize_vo(action, vo_id):
    """Check ``action`` on VO ``vo_id``; the VO must exist.  A caller who
    holds no role in the VO and is refused gets the VO's 404."""
    roles = roles_by_vo()
    target = vo_target(vo_id, roles)
    absent = errors.NotFound('No vo %s.' % errors.quoted_id(vo_id),
                             code='vo_not_found')
    hide = vo_id not in roles and not system_scoped()
    enforce(action, target, not_found=absent if hide else None)
    communities.get_vo(pecan.request.db, pecan.request.context, vo_id)
    return target


def authorize_requester(action, vo_id, request_id):
    """Check ``action`` on request ``request_id`` of VO ``vo_id``, with
    the VO's target and ``is_requester``: whether the caller made that
    request.  A caller who holds no role in the VO and is refused (or
    asks for a request that does not exist) gets the request's 404, so
    that nobody learns of another person's request; the VO's people and
    operators, who may see its requests, get the 403."""
    roles = roles_by_vo()
    target = vo_target(vo_id, roles)
    absent = errors.NotFound('No request %s.' % errors.quoted_id(request_id),
                             code='request_not_found')
    try:
        request = communities.get_request(pecan.request.db,
                                          pecan.request.context, vo_id,
                                          request_id)
    except errors.NotFound:
        request = None
    target['is_requester'] = (request is not None and caller_id() is not
                              None and request.user_id == caller_id())
    hide = vo_id not in roles and not system_scoped()
    enforce(action, target, not_found=absent if hide else None)
    if request is None:
        raise absent
    return target


def acting_manager(target):
    """The caller's id when the check of ``target`` (from
    :func:`authorize_vo`) passed as the VO's manager, not as an
    operator (a system administrator), else None: what a grant's
    transaction holds (:func:`federation_proxy.db.communities.
    hold_manager`), since the roles the check read may be removed before
    the grant is written.  A manager with a system-scoped token that
    makes no administrator (a system reader) is the VO's manager: any
    system scope was taken for an operator's, and a grant such a manager
    made while removed was written all the same."""
    if not target.get('vo_manager') or _system_admin(target):
        return None
    return caller_id()


def _system_admin(target):
    """Whether the caller passes the ``system_admin`` persona rule."""
    req = pecan.request
    return system_scoped() and req.enforcer.enforce(
        'system_admin', target, req.context)


def system_scoped():
    """True when the caller's token is system scoped."""
    return pecan.request.context.system_scope == 'all'


def list_target():
    """The target of a list across VOs: ``vo_member`` when the caller
    belongs to any VO."""
    roles = roles_by_vo()
    return roles, {'vo_manager': any('manager' in r for r in roles.values()),
                   'vo_member': bool(roles), 'is_user': is_user()}
