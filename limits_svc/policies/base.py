"""Check strings shared by limits_svc's resources."""

from oslo_policy import policy

from svc_common import personas

READER = personas.RULE_ANY_READER
READER_OR_SERVICE = '%s or %s' % (personas.RULE_ANY_READER,
                                  personas.RULE_SERVICE)
ADMIN = personas.RULE_SYSTEM_ADMIN
ADMIN_OR_SERVICE = personas.RULE_ADMIN_OR_SERVICE
# A project member may dry-run a check for its own project.
CHECKER = '%s or %s' % (personas.RULE_ADMIN_OR_SERVICE,
                        personas.RULE_PROJECT_MEMBER)
BOTH_SCOPES = ['system', 'project']


def rule(name, check_str, description, method, path,
         scope_types=BOTH_SCOPES):
    return policy.DocumentedRuleDefault(
        name='limits:%s' % name, check_str=check_str,
        description=description, scope_types=scope_types,
        operations=[{'method': method, 'path': path}])
