"""Policies of /v1/allocations and /v1/enforce.

The target of each rule is the project of the allocation: the body's
``project_id`` for a PUT and a dry run (and the consumer's current project
too when the PUT moves it), the allocation's project for a show or a
delete, the filtered or own project for a list.
"""

from limits_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace
PATH = '/v1/allocations'
ITEM = '/v1/allocations/{consumer_id}'


def list_rules():
    return [
        policy.rule(NS, 'allocation:list', personas.RULE_READER_OR_SERVICE,
                    'List allocations (project readers: their own '
                    'project\'s).', [('GET', PATH)], policy.ANY_SCOPE),
        policy.rule(NS, 'allocation:get', personas.RULE_READER_OR_SERVICE,
                    'Show a consumer\'s allocation.', [('GET', ITEM)],
                    policy.ANY_SCOPE),
        policy.rule(NS, 'allocation:put', personas.RULE_ADMIN_OR_SERVICE,
                    'Allocate, replace or confirm a consumer\'s allocation '
                    '(checked on the new project and on the project the '
                    'consumer leaves).', [('PUT', ITEM)], policy.ANY_SCOPE),
        policy.rule(NS, 'allocation:delete', personas.RULE_ADMIN_OR_SERVICE,
                    'Free a consumer\'s allocation.', [('DELETE', ITEM)],
                    policy.ANY_SCOPE),
        policy.rule(NS, 'enforce',
                    personas.RULE_ADMIN_SERVICE_OR_PROJECT_MEMBER,
                    'Dry-run an allocation: would it fit every limit?',
                    [('POST', '/v1/enforce')], policy.ANY_SCOPE),
    ]
