"""svc_common.policy.Enforcer: policy files written while a service runs.

The enforcer does not look for a missing policy file at every check (see
:class:`svc_common.policy.Enforcer`); these tests hold what an operator
sees: a policy file or directory written while the service runs applies
within :data:`svc_common.policy.POLICY_SEARCH_INTERVAL`, and a change of
an existing file applies at the next check.  The clock is the test's own,
so nothing here waits.
"""

import os
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
