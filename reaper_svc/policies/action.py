"""Policies of preemption actions.

An action belongs to the projects it touched: the project whose request
triggered it and the projects of its victims.  Their readers read it;
operators (system readers) and services read every action.
"""

from reaper_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace
PATH = '/v1/actions'


def list_rules():
    return [
        policy.rule(NS, 'action:list', personas.RULE_READER_OR_SERVICE,
                    'List preemption actions: every action for operators '
                    'and services, those that touched the caller\'s '
                    'project otherwise.', [('GET', PATH)], policy.ANY_SCOPE),
        policy.rule(NS, 'action:get', personas.RULE_READER_OR_SERVICE,
                    'Show a preemption action: its trigger, request, '
                    'victims, states, timestamps and reason.',
                    [('GET', PATH + '/{action_id}')], policy.ANY_SCOPE),
    ]
