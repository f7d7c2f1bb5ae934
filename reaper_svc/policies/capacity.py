"""Policy of the capacity figures.

Totals per aggregate name no server and no project, so every reader may
see them (a user deciding whether to queue a request, an operator).
"""

from reaper_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace


def list_rules():
    return [
        policy.rule(NS, 'capacity:get', personas.RULE_READER_OR_SERVICE,
                    'Show capacity per aggregate and resource class: '
                    'total, used, used by preemptible servers, free.',
                    [('GET', '/v1/capacity')], policy.ANY_SCOPE),
    ]
