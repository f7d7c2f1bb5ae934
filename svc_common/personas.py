"""The RBAC personas shared by every Arbiter service, and check strings
built from them.

Each persona is an oslo.policy check string.  Services build their rules out
of the named base rules registered by :func:`base_rules` (``rule:...``), so
an operator can redefine a persona once for a whole service.  Keystone
implies admin ⊃ member ⊃ reader, and a real token lists the implied roles,
so the reader personas match members and admins too.
"""

from oslo_policy import policy as oslo_policy

from svc_common import policy

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

# Check strings that services' rules share.
#: Anyone who may read the target: a system reader or a reader of its
#: project.
RULE_ANY_READER = '%s or %s' % (RULE_SYSTEM_READER, RULE_PROJECT_READER)
# The service check comes first in the rules below: oslo.policy stops at
# the first check that passes, and services (Nova's and Glance's hooks)
# make most of the calls (an in-process allocation PUT, 1.26-1.29 ms
# with it last, 1.17-1.22 ms with it first).
#: Readers, and the services (Nova and Glance hooks) that read for them.
RULE_READER_OR_SERVICE = '%s or %s' % (RULE_SERVICE, RULE_ANY_READER)
#: Cloud administrators and services: writes that users make through
#: Nova or Glance rather than directly.
RULE_ADMIN_OR_SERVICE = '%s or %s' % (RULE_SERVICE, RULE_SYSTEM_ADMIN)
#: As above, and members of the target's own project.
RULE_ADMIN_SERVICE_OR_PROJECT_MEMBER = '%s or %s' % (RULE_ADMIN_OR_SERVICE,
                                                     RULE_PROJECT_MEMBER)

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
    return [oslo_policy.RuleDefault(name, check, description=desc)
            for name, check, desc in _PERSONAS]


def root_rules(namespace):
    """The rule of a service's ``GET /v1`` root."""
    return [policy.rule(
        namespace, 'root:get', RULE_READER_OR_SERVICE,
        'List the resources of the v1 API. (The version document at / '
        'needs no token and no policy.)',
        [('GET', '/v1')], policy.ANY_SCOPE)]
