"""The console scripts, run as an operator runs them.

``<prog>-manage db sync|version``, ``<prog>-status upgrade check``, the
config and policy sample generators, and the ``arbiter-all-in-one`` local
run, each as a real subprocess.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import fixtures
import testtools

from svc_common.cmd import all_in_one
from svc_common.db import migration
from svc_common.tests.fixtures import rabbitmq

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def command(name):
    """Full path of an installed console script (``pip install -e .``),
    preferring the one installed beside the running interpreter."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        path = shutil.which(name) or path
    if not os.path.exists(path):
        raise AssertionError('%s is not installed: run pip install -e .'
                             % name)
    return path


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=120,
                          **kwargs)


class _CommandTests(object):

    SPEC = None

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.db_path = os.path.join(self.tmp, 'svc.sqlite')
        self.conf_file = os.path.join(self.tmp, 'svc.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n' % self.db_path)

    def manage(self, *args):
        return run([command('%s-manage' % self.SPEC.prog),
                    '--config-file', self.conf_file] + list(args))

    def status(self):
        return run([command('%s-status' % self.SPEC.prog),
                    '--config-file', self.conf_file, 'upgrade', 'check'])

    def test_db_sync_and_version(self):
        before = self.manage('db', 'version')
        self.assertEqual(0, before.returncode, before.stderr)
        self.assertIn('None', before.stdout)
        sync = self.manage('db', 'sync')
        self.assertEqual(0, sync.returncode, sync.stderr)
        self.assertTrue(os.path.exists(self.db_path))
        head = migration.head_revision(self.SPEC)
        after = self.manage('db', 'version')
        self.assertEqual(head, after.stdout.strip())

    def test_upgrade_check_fails_before_sync_and_passes_after(self):
        before = self.status()
        self.assertEqual(2, before.returncode, before.stdout + before.stderr)
        self.assertIn('db sync', before.stdout)
        self.manage('db', 'sync')
        after = self.status()
        self.assertEqual(0, after.returncode, after.stdout + after.stderr)
        self.assertIn('Success', after.stdout)

    def test_manage_rejects_unknown_command(self):
        result = self.manage('db', 'explode')
        self.assertNotEqual(0, result.returncode)
        self.assertIn('explode', result.stderr)

    def generate(self, tool, generator_conf, out_name):
        """Run a sample generator on the service's etc/ file; the sample."""
        out = os.path.join(self.tmp, out_name)
        conf = os.path.join(REPO, 'etc', self.SPEC.prog,
                            generator_conf % self.SPEC.prog)
        result = run([command(tool), '--config-file', conf,
                      '--output-file', out], cwd=REPO)
        self.assertEqual(0, result.returncode, result.stderr)
        with open(out) as f:
            return f.read()

    def test_config_sample_generator(self):
        sample = self.generate('oslo-config-generator',
                               '%s-config-generator.conf', 'sample.conf')
        for section in ('[api]', '[database]', '[keystone_authtoken]',
                        '[oslo_policy]', '[oslo_messaging_rabbit]'):
            self.assertIn(section, sample)
        self.assertIn('#port = %d' % self.SPEC.default_port, sample)

    def test_policy_sample_generator(self):
        sample = self.generate('oslopolicy-sample-generator',
                               '%s-policy-generator.conf', 'policy.yaml')
        self.assertIn('"%s:root:get"' % self.SPEC.namespace, sample)
        self.assertIn('"system_admin"', sample)


def _make_classes():
    for spec in all_in_one.load_specs():
        name = spec.package.title().replace('_', '')
        cls_name = 'Test%sCommands' % name
        globals()[cls_name] = type(cls_name,
                                   (_CommandTests, testtools.TestCase),
                                   {'SPEC': spec})


_make_classes()


class TestAllInOne(testtools.TestCase):
    """The README's first command brings up all four services."""

    def _wait_for(self, url, proc, deadline):
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.fail('arbiter-all-in-one exited early: %s'
                          % proc.stdout.read())
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    return resp.status
            except OSError:
                time.sleep(0.2)
        self.fail('%s did not answer in time' % url)

    def test_four_services_answer_and_stop_on_sigterm(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        base = rabbitmq.free_port()
        while any(_port_busy(base + i) for i in range(4)):
            base = rabbitmq.free_port()
        proc = subprocess.Popen(
            [command('arbiter-all-in-one'), '--data-dir',
             os.path.join(tmp, 'data'), '--port-base', str(base)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(_kill, proc)
        deadline = time.monotonic() + 60
        for offset in range(4):
            url = 'http://127.0.0.1:%d/healthcheck' % (base + offset)
            self.assertEqual(200, self._wait_for(url, proc, deadline))
        with urllib.request.urlopen('http://127.0.0.1:%d/' % base) as resp:
            self.assertIn(b'"v1.0"', resp.read())
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        self.assertEqual(0, proc.returncode, output)
        for spec in all_in_one.load_specs():
            self.assertIn(spec.prog, output)
            self.assertTrue(os.path.exists(os.path.join(
                tmp, 'data', '%s.sqlite' % spec.prog)))
        self.assertIn('http://127.0.0.1:%d/' % (base + 3), output)
        self.assertIn('Stopped.', output)


def _port_busy(port):
    with socket.socket() as sock:
        return sock.connect_ex(('127.0.0.1', port)) == 0


def _kill(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()
