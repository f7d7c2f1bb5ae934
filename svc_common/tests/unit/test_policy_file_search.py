"""svc_common.policy.Enforcer: policy files written while a service runs.

The enforcer does not look for a missing policy file at every check (see
:class:`svc_common.policy.Enforcer`); these tests hold what an operator
sees: a policy file or directory written while the service runs applies
within :data:`svc_common.policy.POLICY_SEARCH_INTERVAL`, and a change of
an existing file applies at the next check.  The clock is the test's own,
so nothing here waits.
"""

import os
import types
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy
import testtools
import yaml

from svc_common import context
from svc_common import personas
from svc_common import policy

RULES = [
    policy.rule('test', 'thing:get', personas.RULE_ANY_READER,
                'Read a thing.', [('GET', '/v1/things/{id}')],
                policy.ANY_SCOPE),
]
READER = context.RequestContext(user_id='u', roles=['reader'],
                                project_id='p1')
TARGET = {'project_id': 'p1'}


class Clock(object):
    """A monotonic clock that moves only when told."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def write_yaml(path, rules):
    with open(path, 'w') as out:
        yaml.safe_dump(rules, out)


class TestPolicyFileWrittenWhileRunning(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.directory = self.useFixture(fixtures.TempDir()).path
        config_file = os.path.join(self.directory, 'service.conf')
        open(config_file, 'w').close()
        conf = cfg.ConfigOpts()
        # oslo.config looks for policy.yaml and policy.d in the directory
        # of the configuration file, as in /etc/arbiter of a deployment.
        conf([], default_config_files=[config_file])
        self.conf = conf
        policy_opts.set_defaults(conf, enforce_scope=True,
                                 enforce_new_defaults=True)
        self.clock = Clock()
        self.enforcer = policy.make_enforcer(
            conf, personas.base_rules() + RULES, clock=self.clock)

    def allowed(self):
        return self.enforcer.enforce('test:thing:get', TARGET, READER)

    def test_policy_file_written_while_running_applies_within_interval(self):
        self.assertTrue(self.allowed())
        write_yaml(os.path.join(self.directory, 'policy.yaml'),
                   {'test:thing:get': 'rule:system_admin'})
        self.clock.now += policy.POLICY_SEARCH_INTERVAL
        self.assertFalse(self.allowed())

    def test_change_of_an_existing_file_applies_at_the_next_check(self):
        path = os.path.join(self.directory, 'policy.yaml')
        write_yaml(path, {'test:thing:get': 'rule:system_admin'})
        self.clock.now += policy.POLICY_SEARCH_INTERVAL
        self.assertFalse(self.allowed())
        write_yaml(path, {'test:thing:get': 'rule:project_reader'})
        # oslo.policy reloads a file whose modification time changed.
        stat = os.stat(path)
        os.utime(path, (stat.st_atime + 2, stat.st_mtime + 2))
        self.assertTrue(self.allowed())

    def test_policy_directory_written_while_running_applies(self):
        self.assertTrue(self.allowed())
        policy_dir = os.path.join(self.directory, 'policy.d')
        os.mkdir(policy_dir)
        write_yaml(os.path.join(policy_dir, 'override.yaml'),
                   {'test:thing:get': 'rule:system_admin'})
        self.clock.now += policy.POLICY_SEARCH_INTERVAL
        self.assertFalse(self.allowed())

    def test_removed_file_gives_the_defaults_back(self):
        path = os.path.join(self.directory, 'policy.yaml')
        write_yaml(path, {'test:thing:get': 'rule:system_admin'})
        self.assertFalse(self.allowed())
        # What oslo.policy does with a file that disappears is its own;
        # an empty file is the documented way back to the defaults.
        write_yaml(path, {})
        stat = os.stat(path)
        os.utime(path, (stat.st_atime + 2, stat.st_mtime + 2))
        self.assertTrue(self.allowed())

    def test_rules_set_by_hand_apply_at_once(self):
        self.assertTrue(self.allowed())
        self.enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'test:thing:get': 'rule:system_admin'}), overwrite=False)
        self.assertFalse(self.allowed())

    def test_missing_file_is_looked_for_once_per_interval(self):
        self.assertTrue(self.allowed())
        with mock.patch.object(self.conf, 'find_file',
                               wraps=self.conf.find_file) as find_file:
            for _ in range(10):
                self.assertTrue(self.allowed())
            self.assertEqual(0, find_file.call_count)
            self.clock.now += policy.POLICY_SEARCH_INTERVAL
            self.assertTrue(self.allowed())
            self.assertGreater(find_file.call_count, 0)


#: A check whose answer this module decides: what a check reading
#: something else than the target and the credentials (an ``http:``
#: check, a check a library registers) looks like to the enforcer.
OUTSIDE_ANSWER = {'allowed': True}


@oslo_policy.register('arbiter_test_outside')
class _OutsideCheck(oslo_policy.Check):
    def __call__(self, target, creds, enforcer):
        return OUTSIDE_ANSWER['allowed']


class TestKeptDecisions(testtools.TestCase):
    """An allowed decision the enforcer keeps is the one oslo.policy
    would make again: it depends on the caller, the target and the rules
    as they are now."""

    RULES = RULES + [
        policy.rule('test', 'thing:put', personas.RULE_PROJECT_ADMIN,
                    'Write a thing.', [('PUT', '/v1/things/{id}')],
                    policy.ANY_SCOPE),
        policy.rule('test', 'thing:outside', 'arbiter_test_outside:x',
                    'Decided elsewhere.', [('POST', '/v1/things')],
                    policy.ANY_SCOPE),
        policy.rule('test', 'thing:purge', personas.RULE_SYSTEM_ADMIN,
                    'Purge things.', [('DELETE', '/v1/things')],
                    policy.SYSTEM_SCOPE),
    ]

    def setUp(self):
        super().setUp()
        self.directory = self.useFixture(fixtures.TempDir()).path
        self.policy_file = os.path.join(self.directory, 'policy.yaml')
        write_yaml(self.policy_file, {})
        config_file = os.path.join(self.directory, 'service.conf')
        open(config_file, 'w').close()
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[config_file])
        policy_opts.set_defaults(conf, enforce_scope=True,
                                 enforce_new_defaults=True)
        self.clock = Clock()
        self.enforcer = policy.make_enforcer(
            conf, personas.base_rules() + self.RULES, clock=self.clock)

    def allowed(self, rule, ctx, target=TARGET):
        return self.enforcer.enforce(rule, target, ctx)

    def rewrite(self, rules):
        write_yaml(self.policy_file, rules)
        stat = os.stat(self.policy_file)
        os.utime(self.policy_file, (stat.st_atime + 2, stat.st_mtime + 2))

    def test_policy_file_changed_while_running_refuses_at_once(self):
        for _ in range(3):
            self.assertTrue(self.allowed('test:thing:get', READER))
        self.rewrite({'test:thing:get': 'rule:system_admin'})
        self.assertFalse(self.allowed('test:thing:get', READER))
        self.rewrite({})
        self.assertTrue(self.allowed('test:thing:get', READER))

    def test_persona_rule_changed_in_the_file_applies(self):
        self.assertTrue(self.allowed('test:thing:get', READER))
        # The rule names the persona; the file redefines the persona.
        self.rewrite({'project_reader': 'role:admin and '
                                        'project_id:%(project_id)s'})
        self.assertFalse(self.allowed('test:thing:get', READER))

    def test_another_caller_is_decided_for_itself(self):
        admin = context.RequestContext(
            user_id='u', roles=['admin', 'member', 'reader'],
            project_id='p1')
        self.assertTrue(self.allowed('test:thing:put', admin))
        self.assertFalse(self.allowed('test:thing:put', READER))
        other_admin = context.RequestContext(
            user_id='u', roles=['admin', 'member', 'reader'],
            project_id='p2')
        self.assertFalse(self.allowed('test:thing:put', other_admin))

    def test_another_target_is_decided_for_itself(self):
        self.assertTrue(self.allowed('test:thing:get', READER))
        self.assertFalse(self.allowed('test:thing:get', READER,
                                      {'project_id': 'p2'}))

    def test_refusals_keep_their_exceptions(self):
        system_admin = context.RequestContext(
            user_id='u', roles=['admin', 'member', 'reader'],
            system_scope='all')
        self.assertTrue(self.enforcer.authorize(
            'test:thing:purge', policy.SYSTEM, system_admin, do_raise=True))
        project_admin = context.RequestContext(
            user_id='u', roles=['admin', 'member', 'reader'],
            project_id='p1')
        self.assertRaises(oslo_policy.InvalidScope, self.enforcer.authorize,
                          'test:thing:purge', policy.SYSTEM, project_admin,
                          do_raise=True)
        self.assertRaises(oslo_policy.PolicyNotAuthorized,
                          self.enforcer.authorize, 'test:thing:put',
                          TARGET, READER, do_raise=True)

    def test_a_context_decision_is_kept(self):
        self.assertTrue(self.allowed('test:thing:get', READER))
        with mock.patch.object(oslo_policy.Enforcer, 'enforce') as asked:
            self.assertTrue(self.allowed('test:thing:get', READER))
        asked.assert_not_called()

    def test_a_tuple_is_not_the_list_it_holds(self):
        # oslo.policy walks a list item by item and compares a tuple as
        # its text.
        self.enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'test:thing:get': 'groups:g1'}), overwrite=False)
        self.assertTrue(self.allowed('test:thing:get', {'groups': ['g1']}))
        self.assertFalse(self.allowed('test:thing:get',
                                      {'groups': ('g1',)}))

    def test_credentials_oslo_policy_refuses_are_refused(self):
        self.enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'test:thing:get': 'role:reader'}), overwrite=False)
        self.assertTrue(self.allowed('test:thing:get', {'roles': ['reader']}))
        self.assertRaises(
            oslo_policy.InvalidContextObject, self.allowed, 'test:thing:get',
            types.MappingProxyType({'roles': ['reader']}))

    def test_rules_changed_while_a_decision_is_made_keep_nothing(self):
        # The rules change between oslo.policy's answer and the look at
        # whether the rule may be kept: what the old rules allowed is not
        # answered under the new ones, nor is the old rule's nature.
        self.addCleanup(OUTSIDE_ANSWER.update, allowed=True)
        work_out = self.enforcer._pure_check
        changed = []

        def racing(check, seen):
            found = work_out(check, seen)
            if not changed:
                changed.append(True)
                self.enforcer.set_rules(oslo_policy.Rules.from_dict(
                    {'test:thing:get': 'arbiter_test_outside:x'}),
                    overwrite=False)
                # Another thread's check under the new rules meanwhile.
                self.allowed('test:thing:get', context.RequestContext(
                    user_id='w', roles=['reader'], project_id='p1'))
            return found
        self.useFixture(fixtures.MockPatchObject(
            self.enforcer, '_pure_check', side_effect=racing))
        self.assertTrue(self.allowed('test:thing:get', READER))
        OUTSIDE_ANSWER['allowed'] = False
        self.assertFalse(self.allowed('test:thing:get', READER))
        other = context.RequestContext(user_id='v', roles=['reader'],
                                       project_id='p1')
        OUTSIDE_ANSWER['allowed'] = True
        self.assertTrue(self.allowed('test:thing:get', other))
        OUTSIDE_ANSWER['allowed'] = False
        self.assertFalse(self.allowed('test:thing:get', other))

    def test_check_deciding_elsewhere_is_asked_every_time(self):
        self.addCleanup(OUTSIDE_ANSWER.update, allowed=True)
        self.assertTrue(self.allowed('test:thing:outside', READER))
        OUTSIDE_ANSWER['allowed'] = False
        self.assertFalse(self.allowed('test:thing:outside', READER))

    def test_same_text_of_another_type_is_another_caller(self):
        # is_admin_project True and the string 'True' differ for
        # oslo.context's and oslo.policy's checks.
        self.enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'test:thing:get': 'is_admin_project:True'}), overwrite=False)
        creds = {'is_admin_project': True, 'roles': []}
        self.assertTrue(self.allowed('test:thing:get', creds))
        self.assertTrue(self.allowed('test:thing:get',
                                     dict(creds, is_admin_project='True')))
        self.assertFalse(self.allowed('test:thing:get',
                                      dict(creds, is_admin_project=1)))
