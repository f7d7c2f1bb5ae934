"""A configuration file that gives an option a value it cannot take.

oslo.config converts a value when the code first reads it, so ``[api]
port = 99999`` ended ``limits-api`` with a CRITICAL traceback,
``purge_interval = abc`` ``limits-engine`` with another, ``[api]
max_limit = -5`` passed ``limits-status upgrade check`` and then failed
the service's list requests, and the local run took such a file from
``--config-dir`` without a word.  Each now names the option, its file
and why, before anything runs.
"""

import os
import socket

import fixtures
from oslo_config import cfg
import testtools

from limits_svc import service
from svc_common.tests.functional import test_commands
from svc_common import wsgi_app


class TestBadOptionValues(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.db = os.path.join(self.tmp, 'limits.sqlite')

    def conf_file(self, text, name='limits.conf'):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as conf:
            conf.write('[database]\nconnection = sqlite:///%s\n%s'
                       % (self.db, text))
        return path

    def run_script(self, name, *args):
        return test_commands.run([test_commands.command(name)] + list(args))

    def test_api_with_a_port_out_of_range(self):
        path = self.conf_file('[api]\nport = 99999\n')
        result = self.run_script('limits-api', '--config-file', path)
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertEqual(
            'limits-api: cannot read the configuration: [api] port in %s '
            'is not valid: Should be less than or equal to 65535\n' % path,
            result.stderr)

    def test_engine_with_a_word_for_a_number(self):
        path = self.conf_file('[limits]\npurge_interval = abc\n')
        result = self.run_script('limits-engine', '--config-file', path)
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertIn('limits-engine: cannot read the configuration: '
                      '[limits] purge_interval in %s is not valid: ' % path,
                      result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_manage_refuses_it_too(self):
        path = self.conf_file('[api]\nmax_limit = -5\n')
        result = self.run_script('limits-manage', '--config-file', path,
                                 'db', 'sync')
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertIn('[api] max_limit in %s is not valid' % path,
                      result.stderr)
        self.assertFalse(os.path.exists(self.db))

    def test_upgrade_check_fails_on_it(self):
        self.assertEqual(0, self.run_script(
            'limits-manage', '--config-file', self.conf_file(''),
            'db', 'sync').returncode)
        path = self.conf_file('[api]\nmax_limit = -5\n')
        result = self.run_script('limits-status', '--config-file', path,
                                 'upgrade', 'check', '--json')
        self.assertEqual(2, result.returncode, result.stdout)
        self.assertIn('"check": "Configuration option values", "result": 2',
                      result.stdout.replace('\n', ' '))
        self.assertIn('[api] max_limit in %s is not valid' % path,
                      result.stdout)

    def test_upgrade_check_passes_good_values(self):
        path = self.conf_file('[api]\nmax_limit = 50\n')
        self.run_script('limits-manage', '--config-file', path, 'db', 'sync')
        result = self.run_script('limits-status', '--config-file', path,
                                 'upgrade', 'check')
        self.assertEqual(0, result.returncode, result.stdout)

    def test_local_run_refuses_it_before_anything(self):
        config_dir = os.path.join(self.tmp, 'etc')
        os.mkdir(config_dir)
        with open(os.path.join(config_dir, 'reaper.conf'), 'w') as conf:
            conf.write('[preemption]\ngrace_period = soon\n')
        data_dir = os.path.join(self.tmp, 'data')
        # A port that is taken: the run would stop there (another message)
        # if the file were not refused first.
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        result = self.run_script('arbiter-all-in-one', '--config-dir',
                                 config_dir, '--data-dir', data_dir,
                                 '--port-base', str(taken.getsockname()[1]))
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertIn('arbiter-all-in-one: [preemption] grace_period in %s '
                      'is not valid: ' % os.path.join(config_dir,
                                                      'reaper.conf'),
                      result.stderr)
        self.assertIn('Nothing was created.', result.stderr)
        self.assertFalse(os.path.exists(data_dir))

    def test_wsgi_application_does_not_load(self):
        path = self.conf_file('[api]\nmax_limit = -5\n')
        self.useFixture(fixtures.EnvironmentVariable(
            wsgi_app.config_env_var(service.SPEC), path))
        error = self.assertRaises(cfg.ConfigFileValueError,
                                  wsgi_app.init_application, service.SPEC)
        self.assertIn('[api] max_limit in %s is not valid' % path,
                      str(error))

    def test_value_naming_an_option_that_does_not_exist(self):
        path = self.conf_file('')
        with open(path, 'w') as conf:
            conf.write('[database]\nconnection = sqlite:///$nowhere/x\n')
        result = self.run_script('limits-manage', '--config-file', path,
                                 'db', 'version')
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertEqual(
            'limits-manage: cannot read the configuration: [database] '
            'connection is not valid: it refers to an option that does not '
            'exist (no such option nowhere in group [DEFAULT])\n',
            result.stderr)
