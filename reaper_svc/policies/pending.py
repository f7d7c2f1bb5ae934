"""Policies of pending requests.

A pending request belongs to the project of the token it was made with:
members of that project submit and withdraw its requests, its readers
read them; operators read every request and cloud administrators may
withdraw any.
"""

from reaper_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace
PATH = '/v1/pending'
ITEM = PATH + '/{pending_id}'

RULE_ADMIN_OR_PROJECT_MEMBER = '%s or %s' % (personas.RULE_SYSTEM_ADMIN,
                                             personas.RULE_PROJECT_MEMBER)


def list_rules():
    return [
        policy.rule(NS, 'pending:list', personas.RULE_READER_OR_SERVICE,
                    'List pending requests: every project\'s for '
                    'operators and services, the caller\'s project\'s '
                    'otherwise.', [('GET', PATH)], policy.ANY_SCOPE),
        policy.rule(NS, 'pending:get', personas.RULE_READER_OR_SERVICE,
                    'Show a pending request.', [('GET', ITEM)],
                    policy.ANY_SCOPE),
        policy.rule(NS, 'pending:create', personas.RULE_PROJECT_MEMBER,
                    'Queue servers to be built for the caller\'s project '
                    'when room frees (project-scoped token).',
                    [('POST', PATH)], ('project',)),
        policy.rule(NS, 'pending:delete', RULE_ADMIN_OR_PROJECT_MEMBER,
                    'Withdraw a queued pending request.',
                    [('DELETE', ITEM)], policy.ANY_SCOPE),
    ]
