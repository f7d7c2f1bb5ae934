"""The RBAC personas: who each check string lets through.

Credentials are presented as a real Keystone token presents them: a member
token lists ``member,reader`` and an admin token ``admin,member,reader``
(implied roles), and scope is either a project or the system.
"""

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy
import testtools

from svc_common import context
from svc_common import errors
from svc_common import personas
from svc_common import policy

ADMIN = ['admin', 'member', 'reader']
MEMBER = ['member', 'reader']
READER = ['reader']

# name -> (roles, project_id, system_scope)
CALLERS = {
    'system_admin': (ADMIN, None, 'all'),
    'system_member': (MEMBER, None, 'all'),
    'system_reader': (READER, None, 'all'),
    'project_admin': (ADMIN, 'p1', None),
    'project_member': (MEMBER, 'p1', None),
    'project_reader': (READER, 'p1', None),
    'other_admin': (ADMIN, 'p2', None),
    'other_reader': (READER, 'p2', None),
    'service': (['service'], 'service-project', None),
    'nobody': ([], 'p1', None),
}

# persona rule -> the callers it allows on a target owned by project p1.
ALLOWED = {
    'system_admin': {'system_admin'},
    'system_member': {'system_admin', 'system_member'},
    'system_reader': {'system_admin', 'system_member', 'system_reader'},
    'project_admin': {'project_admin'},
    'project_member': {'project_admin', 'project_member'},
    'project_reader': {'project_admin', 'project_member', 'project_reader'},
    'service': {'service'},
}


def make_context(name):
    roles, project_id, system_scope = CALLERS[name]
    return context.RequestContext(user_id='u-' + name, roles=roles,
                                  project_id=project_id,
                                  system_scope=system_scope)


def make_enforcer(rules=()):
    conf = cfg.ConfigOpts()
    conf([])
    policy_opts.set_defaults(conf, enforce_scope=True,
                             enforce_new_defaults=True)
    return policy.make_enforcer(conf, personas.base_rules() + list(rules))


class TestPersonas(testtools.TestCase):

    def test_every_persona_against_every_caller(self):
        enforcer = make_enforcer()
        target = {'project_id': 'p1'}
        for rule, allowed in sorted(ALLOWED.items()):
            for caller in sorted(CALLERS):
                ctx = make_context(caller)
                result = enforcer.enforce(rule, target, ctx)
                self.assertEqual(caller in allowed, result,
                                 'rule %s, caller %s' % (rule, caller))

    def test_member_only_token_is_not_a_reader(self):
        # A token without the implied role is not what Keystone issues;
        # the personas do not expand roles themselves.
        enforcer = make_enforcer()
        ctx = context.RequestContext(roles=['member'], project_id='p1')
        self.assertFalse(enforcer.enforce('project_reader',
                                          {'project_id': 'p1'}, ctx))

    def test_system_scope_must_be_all(self):
        enforcer = make_enforcer()
        ctx = context.RequestContext(roles=ADMIN, system_scope='other')
        self.assertFalse(enforcer.enforce('system_admin', {}, ctx))


class TestAuthorize(testtools.TestCase):

    RULES = [
        oslo_policy.DocumentedRuleDefault(
            name='test:thing:get', check_str=personas.RULE_ANY_READER,
            description='Read a thing.', scope_types=['system', 'project'],
            operations=[{'path': '/v1/things/{id}', 'method': 'GET'}]),
        oslo_policy.DocumentedRuleDefault(
            name='test:thing:delete', check_str=personas.RULE_SYSTEM_ADMIN,
            description='Delete a thing.', scope_types=['system'],
            operations=[{'path': '/v1/things/{id}', 'method': 'DELETE'}]),
    ]

    def setUp(self):
        super().setUp()
        self.enforcer = make_enforcer(self.RULES)

    def test_allowed_returns_quietly(self):
        policy.authorize(self.enforcer, make_context('project_reader'),
                         'test:thing:get', {'project_id': 'p1'})
        policy.authorize(self.enforcer, make_context('system_reader'),
                         'test:thing:get', {'project_id': 'p1'})

    def test_other_projects_object_is_not_found(self):
        exc = self.assertRaises(errors.NotFound, policy.authorize,
                                self.enforcer, make_context('other_reader'),
                                'test:thing:get', {'project_id': 'p1'})
        self.assertEqual(404, exc.status)

    def test_own_project_refusal_is_forbidden(self):
        exc = self.assertRaises(errors.Forbidden, policy.authorize,
                                self.enforcer, make_context('nobody'),
                                'test:thing:get', {'project_id': 'p1'})
        self.assertEqual(403, exc.status)
        self.assertEqual('forbidden', exc.code)

    def test_wrong_scope_type_is_forbidden(self):
        exc = self.assertRaises(errors.Forbidden, policy.authorize,
                                self.enforcer, make_context('project_admin'),
                                'test:thing:delete', {'project_id': 'p1'})
        self.assertEqual('wrong_scope', exc.code)

    def test_hide_outside_false_gives_403(self):
        self.assertRaises(errors.Forbidden, policy.authorize,
                          self.enforcer, make_context('other_reader'),
                          'test:thing:get', {'project_id': 'p1'},
                          hide_outside=False)

    def test_default_target_is_callers_project(self):
        policy.authorize(self.enforcer, make_context('project_reader'),
                         'test:thing:get')
