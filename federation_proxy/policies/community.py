"""Policies of people, VOs and what VO managers manage.

Delegated management is expressed with attributes of the policy target
that the handler computes from the proxy's own data (see
:mod:`federation_proxy.api.vo_access`):

* ``vo_manager`` -- the caller holds an active, unexpired ``manager``
  membership of *this* VO (the VO named by the URL);
* ``vo_member`` -- the caller holds any active, unexpired membership of
  this VO (or, for a list, of any VO);
* ``is_user`` -- the caller is a person known to the proxy;
* ``is_self`` -- the person the URL names is the caller;
* ``is_requester`` -- the caller is the person who made the request the
  URL names.

The check strings test them with oslo.policy's literal comparison
(``'True':%(vo_manager)s``), so an operator can redefine every rule in a
policy file as usual.  Nothing else is granted by a VO role: a manager of
one VO is a stranger to every other.
"""

from federation_proxy import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace

VO_MANAGER = "'True':%(vo_manager)s"
VO_MEMBER = "'True':%(vo_member)s"
IS_USER = "'True':%(is_user)s"
IS_SELF = "'True':%(is_self)s"
IS_REQUESTER = "'True':%(is_requester)s"

ADMIN_OR_MANAGER = '%s or %s' % (personas.RULE_SYSTEM_ADMIN, VO_MANAGER)
READER_OR_MANAGER = '%s or %s' % (personas.RULE_SYSTEM_READER, VO_MANAGER)
READER_OR_MEMBER = '%s or %s' % (personas.RULE_SYSTEM_READER, VO_MEMBER)

VOS = '/v1/vos'
VO = VOS + '/{vo_id}'


def _rule(name, check, description, operations, scope=policy.ANY_SCOPE):
    return policy.rule(NS, name, check, description, operations, scope)


def _vo_crud(kind, collection, writes, extra=()):
    path = '%s/%s' % (VO, collection)
    item = path + '/{%s_id}' % kind
    rules = [
        _rule('%s:list' % kind, READER_OR_MANAGER,
              'List the %ss of a VO (system readers and the VO\'s '
              'managers).' % kind, [('GET', path)]),
        _rule('%s:get' % kind, READER_OR_MANAGER,
              'Show a %s of a VO.' % kind, [('GET', item)]),
    ]
    for action, method, where in writes:
        rules.append(_rule('%s:%s' % (kind, action), ADMIN_OR_MANAGER,
                           '%s a %s of a VO (system admins and the VO\'s '
                           'managers).' % (action.title(), kind),
                           [(method, path if where == 'path' else item)]))
    return rules + list(extra)


def list_rules():
    return [
        _rule('user:create', personas.RULE_SYSTEM_ADMIN,
              'Register a person with their first upstream identity.',
              [('POST', '/v1/users')], policy.SYSTEM_SCOPE),
        _rule('user:list', personas.RULE_SYSTEM_READER, 'List people.',
              [('GET', '/v1/users')], policy.SYSTEM_SCOPE),
        _rule('user:get', '%s or %s' % (personas.RULE_SYSTEM_READER,
                                        IS_SELF),
              'Show a person (system readers, and the person).',
              [('GET', '/v1/users/{user_id}')]),
        _rule('user:entitlements',
              '%s or %s' % (personas.RULE_SYSTEM_READER, IS_SELF),
              'Show the entitlements and groups a person\'s current '
              'memberships give (system readers, and the person).',
              [('GET', '/v1/users/{user_id}/entitlements')]),
        _rule('user_request:list', '%s or %s' % (
            personas.RULE_SYSTEM_READER, IS_SELF),
            'List the requests to join VOs that a person made, pending '
            'and decided (system readers, and the person).',
            [('GET', '/v1/users/{user_id}/requests')]),
        _rule('user_request:get', '%s or %s' % (
            personas.RULE_SYSTEM_READER, IS_SELF),
            'Show a request to join a VO that a person made (system '
            'readers, and the person).',
            [('GET', '/v1/users/{user_id}/requests/{request_id}')]),
        _rule('identity:list', '%s or %s' % (personas.RULE_SYSTEM_READER,
                                             IS_SELF),
              'List the upstream identities linked to a person.',
              [('GET', '/v1/users/{user_id}/identities')]),
        _rule('identity:create', personas.RULE_SYSTEM_ADMIN,
              'Link one more upstream identity to a person.',
              [('POST', '/v1/users/{user_id}/identities')]),
        _rule('identity:delete', '%s or %s' % (personas.RULE_SYSTEM_ADMIN,
                                               IS_SELF),
              'Unlink an upstream identity (never the last one).',
              [('DELETE', '/v1/users/{user_id}/identities/{identity_id}')]),
        _rule('vo:create', personas.RULE_SYSTEM_ADMIN,
              'Create a VO and name its first managers.',
              [('POST', VOS)], policy.SYSTEM_SCOPE),
        _rule('vo:list', READER_OR_MEMBER,
              'List VOs (all for system readers; their own for members).',
              [('GET', VOS)]),
        _rule('vo:get', READER_OR_MEMBER,
              'Show a VO (system readers and its members).',
              [('GET', VO)]),
        _rule('vo:delete', personas.RULE_SYSTEM_ADMIN,
              'Delete a VO and everything in it.', [('DELETE', VO)],
              policy.SYSTEM_SCOPE),
        _rule('request:create', IS_USER,
              'Ask to join a VO, with a reason (any person known to the '
              'proxy, for themselves).', [('POST', VO + '/requests')]),
        _rule('request:withdraw', IS_REQUESTER,
              'Withdraw a pending request to join a VO (only the person '
              'who made it; managers reject requests instead).',
              [('DELETE', VO + '/requests/{request_id}')]),
        _rule('invitation:accept', IS_USER,
              'Accept an invitation with its token (any person known to '
              'the proxy, for themselves).',
              [('POST', '/v1/invitation_acceptances')]),
        _rule('audit:list', READER_OR_MANAGER,
              'List audit records (all for system readers; a VO\'s '
              'records for its managers, with vo_id).',
              [('GET', '/v1/audit')]),
    ] + (_vo_crud('membership', 'memberships', [
        ('create', 'POST', 'path'), ('update', 'PATCH', 'item'),
        ('delete', 'DELETE', 'item')]) +
        _vo_crud('request', 'requests', [('decide', 'PATCH', 'item')]) +
        _vo_crud('group', 'groups', [
            ('create', 'POST', 'path'), ('delete', 'DELETE', 'item')]) +
        _vo_crud('role', 'roles', [
            ('create', 'POST', 'path'), ('delete', 'DELETE', 'item')]) +
        _vo_crud('invitation', 'invitations', [
            ('create', 'POST', 'path'), ('delete', 'DELETE', 'item')]))
