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
    # A domain-scoped (or unscoped) token: no project, no system scope.
    'domain_admin': (ADMIN, None, None),
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
        policy.rule('test', 'thing:get', personas.RULE_ANY_READER,
                    'Read a thing.', [('GET', '/v1/things/{id}')],
                    policy.ANY_SCOPE),
        policy.rule('test', 'thing:put', personas.RULE_PROJECT_ADMIN,
                    'Write a thing.', [('PUT', '/v1/things/{id}')],
                    policy.ANY_SCOPE),
        policy.rule('test', 'thing:delete', personas.RULE_SYSTEM_ADMIN,
                    'Delete a thing.', [('DELETE', '/v1/things/{id}')],
                    policy.SYSTEM_SCOPE),
    ]

    def setUp(self):
        super().setUp()
        self.enforcer = make_enforcer(self.RULES)
        self.absent = errors.NotFound('No thing t1.', code='thing_not_found')

    def authorize(self, caller, action, target, **kwargs):
        return policy.authorize(self.enforcer, make_context(caller),
                                'test:thing:%s' % action, target, **kwargs)

    def test_allowed_returns_quietly(self):
        p1 = policy.project_target('p1')
        self.authorize('project_reader', 'get', p1)
        self.authorize('system_reader', 'get', p1)
        self.authorize('system_reader', 'get', policy.SYSTEM)

    def test_target_is_required(self):
        self.assertRaises(TypeError, policy.authorize, self.enforcer,
                          make_context('project_reader'), 'test:thing:get')
        self.assertRaises(TypeError, self.authorize, 'project_reader',
                          'get', None)

    def test_target_must_name_its_project(self):
        for target in ({}, {'id': 't1'}, {'project_id': None},
                       {'project_id': ''}):
            self.assertRaises(ValueError, self.authorize, 'system_admin',
                              'get', target)
        self.assertRaises(ValueError, policy.project_target, None)

    def test_system_target_matches_no_project_rule(self):
        # Not even for a system-scoped caller, whose project_id is None.
        for caller in ('project_admin', 'system_admin'):
            self.assertRaises(errors.Forbidden, self.authorize, caller,
                              'put', policy.SYSTEM)

    def test_project_rule_confines_to_the_targets_project(self):
        self.authorize('project_admin', 'put', policy.project_target('p1'))
        exc = self.assertRaises(errors.Forbidden, self.authorize,
                                'other_admin', 'put',
                                policy.project_target('p1'))
        self.assertEqual('forbidden', exc.code)

    def test_other_projects_object_is_the_absent_error(self):
        exc = self.assertRaises(errors.NotFound, self.authorize,
                                'other_reader', 'get',
                                policy.project_target('p1'),
                                not_found=self.absent)
        self.assertIs(self.absent, exc)

    def test_wrong_scope_on_other_project_is_the_absent_error(self):
        exc = self.assertRaises(errors.NotFound, self.authorize,
                                'other_admin', 'delete',
                                policy.project_target('p1'),
                                not_found=self.absent)
        self.assertIs(self.absent, exc)

    def test_services_see_every_project(self):
        # A service's token is scoped to its own project, but it sees all
        # projects: a refusal is a 403, never a pretended absence.
        exc = self.assertRaises(errors.Forbidden, self.authorize, 'service',
                                'put', policy.project_target('p1'),
                                not_found=self.absent)
        self.assertEqual(403, exc.status)

    def test_own_project_refusal_is_forbidden(self):
        exc = self.assertRaises(errors.Forbidden, self.authorize, 'nobody',
                                'get', policy.project_target('p1'),
                                not_found=self.absent)
        self.assertEqual(403, exc.status)
        self.assertEqual('forbidden', exc.code)

    def test_wrong_scope_type_is_forbidden(self):
        exc = self.assertRaises(errors.Forbidden, self.authorize,
                                'project_admin', 'delete',
                                policy.project_target('p1'),
                                not_found=self.absent)
        self.assertEqual('wrong_scope', exc.code)

    def test_caller_without_a_project_sees_none(self):
        """A domain-scoped or unscoped caller lists nothing, and another
        project's object is the absent error to it, as to a stranger."""
        ctx = make_context('domain_admin')
        self.assertEqual(policy.NO_PROJECT, policy.visible_project(ctx))
        self.assertIsNone(policy.visible_project(make_context('service')))
        exc = self.assertRaises(errors.NotFound, self.authorize,
                                'domain_admin', 'get',
                                policy.project_target('p1'),
                                not_found=self.absent)
        self.assertIs(self.absent, exc)

    def test_without_not_found_other_project_is_forbidden(self):
        self.assertRaises(errors.Forbidden, self.authorize, 'other_reader',
                          'get', policy.project_target('p1'))


class TestRuleBuilder(testtools.TestCase):

    def test_documented_rule_in_the_namespace(self):
        rule = policy.rule('widgets', 'widget:get', personas.RULE_ANY_READER,
                           'Show a widget.', [('GET', '/v1/widgets/{id}')],
                           policy.ANY_SCOPE)
        self.assertIsInstance(rule, oslo_policy.DocumentedRuleDefault)
        self.assertEqual('widgets:widget:get', rule.name)
        self.assertEqual(personas.RULE_ANY_READER, rule.check_str)
        self.assertEqual([{'method': 'GET', 'path': '/v1/widgets/{id}'}],
                         rule.operations)
        self.assertEqual(['system', 'project'], rule.scope_types)

    def test_scope_types_and_operations_are_required(self):
        self.assertRaises(TypeError, policy.rule, 'w', 'widget:get',
                          personas.RULE_ANY_READER, 'Show.',
                          [('GET', '/v1/widgets')])
        self.assertRaises(ValueError, policy.rule, 'w', 'widget:get',
                          personas.RULE_ANY_READER, 'Show.', [],
                          policy.ANY_SCOPE)

    def test_root_rule_lets_every_reader_and_services_in(self):
        enforcer = make_enforcer(personas.root_rules('widgets'))
        for caller, target in (('system_reader', policy.SYSTEM),
                               ('project_reader', {'project_id': 'p1'}),
                               ('service', policy.SYSTEM)):
            self.assertTrue(enforcer.enforce('widgets:root:get', target,
                                             make_context(caller)))
        self.assertFalse(enforcer.enforce('widgets:root:get',
                                          {'project_id': 'p1'},
                                          make_context('nobody')))
