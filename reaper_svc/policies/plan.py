"""Policy of dry runs of victim selection.

A plan names servers of any project, so only operators (system readers)
and services may ask for one.
"""

from reaper_svc import service
from svc_common import personas
from svc_common import policy

NS = service.SPEC.namespace

RULE_OPERATOR_OR_SERVICE = '%s or %s' % (personas.RULE_SYSTEM_READER,
                                         personas.RULE_SERVICE)


def list_rules():
    return [
        policy.rule(NS, 'plan:create', RULE_OPERATOR_OR_SERVICE,
                    'Dry run: which preemptible servers the configured '
                    'strategy would stop to make room for a request. '
                    'Nothing is recorded or acted on.',
                    [('POST', '/v1/plans')], policy.ANY_SCOPE),
    ]
