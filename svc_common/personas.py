"""The RBAC personas shared by every Arbiter service.

Each persona is an oslo.policy check string.  Services build their rules out
of the named base rules registered by :func:`base_rules` (``rule:...``), so
an operator can redefine a persona once for a whole service.  Keystone
implies admin ⊃ member ⊃ reader, and a real token lists the implied roles,
so the reader personas match members and admins too.
"""

from oslo_policy import policy

SYSTEM_ADMIN = 'role:admin and system_scope:all'
SYSTEM_MEMBER = 'role:member and system_scope:all'
SYSTEM_READER = 'role:reader and system_scope:all'
PROJECT_ADMIN = 'role:admin and project_id:%(project_id)s'
PROJECT_MEMBER = 'role:member and project_id:%(project_id)s'
PROJECT_READER = 'role:reader and project_id:%(project_id)s'
SERVICE = 'role:service'

# Names of the base rules, for use as ``rule:<name>`` in service policies.
RULE_SYSTEM_ADMIN = 'rule:system_admin'
RULE_SYSTEM_MEMBER = 'rule:system_member'
RULE_SYSTEM_READER = 'rule:system_reader'
RULE_PROJECT_ADMIN = 'rule:project_admin'
RULE_PROJECT_MEMBER = 'rule:project_member'
RULE_PROJECT_READER = 'rule:project_reader'
RULE_SERVICE = 'rule:service'
RULE_ANY_READER = 'rule:system_reader or rule:project_reader'
RULE_ADMIN_OR_SERVICE = 'rule:system_admin or rule:service'

_PERSONAS = (
    ('system_admin', SYSTEM_ADMIN,
     'An administrator of the whole cloud (system-scoped token).'),
    ('system_member', SYSTEM_MEMBER,
     'A member with a system-scoped token.'),
    ('system_reader', SYSTEM_READER,
     'A read-only auditor of the whole cloud (system-scoped token).'),
    ('project_admin', PROJECT_ADMIN,
     'An administrator of the project that owns the target.'),
    ('project_member', PROJECT_MEMBER,
     'A member of the project that owns the target.'),
    ('project_reader', PROJECT_READER,
     'A reader of the project that owns the target.'),
    ('service', SERVICE,
     'Another OpenStack service (Nova or Glance hooks, service users).'),
)


def base_rules():
    """The persona rules, to register before a service's own rules."""
    return [policy.RuleDefault(name, check, description=desc)
            for name, check, desc in _PERSONAS]


def root_rules(namespace):
    """The rule of a service's ``GET /v1`` root."""
    return [policy.DocumentedRuleDefault(
        name='%s:root:get' % namespace,
        check_str='%s or %s' % (RULE_ANY_READER, RULE_SERVICE),
        description='List the resources of the v1 API. (The version '
                    'document at / needs no token and no policy.)',
        operations=[{'path': '/v1', 'method': 'GET'}],
        scope_types=['system', 'project'])]
