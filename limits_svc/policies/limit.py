"""Policies of /v1/registered_limits and /v1/limits.

A project limit's target is its project; registered limits are defaults
that every project shares, so their reads target the caller's own view
(``controller.list_target``) and their writes the whole system.
"""

from limits_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace


def _crud(kind, path, what):
    item = path + '/{limit_id}'
    return [
        policy.rule(NS, '%s:list' % kind, personas.RULE_READER_OR_SERVICE,
                    'List %s.' % what, [('GET', path)], policy.ANY_SCOPE),
        policy.rule(NS, '%s:get' % kind, personas.RULE_READER_OR_SERVICE,
                    'Show one of the %s.' % what, [('GET', item)],
                    policy.ANY_SCOPE),
        policy.rule(NS, '%s:create' % kind, personas.RULE_SYSTEM_ADMIN,
                    'Create one of the %s (local mode).' % what,
                    [('POST', path)], policy.SYSTEM_SCOPE),
        policy.rule(NS, '%s:update' % kind, personas.RULE_SYSTEM_ADMIN,
                    'Change one of the %s (local mode).' % what,
                    [('PATCH', item)], policy.SYSTEM_SCOPE),
        policy.rule(NS, '%s:delete' % kind, personas.RULE_SYSTEM_ADMIN,
                    'Delete one of the %s (local mode).' % what,
                    [('DELETE', item)], policy.SYSTEM_SCOPE),
    ]


def list_rules():
    return (_crud('registered_limit', '/v1/registered_limits',
                  'registered (default) limits') +
            _crud('limit', '/v1/limits', 'project limits'))
