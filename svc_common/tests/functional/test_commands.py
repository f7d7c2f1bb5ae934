"""The console scripts, run as an operator runs them.

``<prog>-manage db sync|version``, ``<prog>-status upgrade check``, the
config and policy sample generators, and the ``arbiter-all-in-one`` local
run, each as a real subprocess.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
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

    def test_upgrade_check_leaves_no_database_file(self):
        """The check of a database file that does not exist says so and
        does not create it: an empty file was left behind."""
        result = self.status()
        self.assertEqual(2, result.returncode, result.stdout + result.stderr)
        self.assertIn('The database file %s does not exist'
                      % self.db_path[:40], result.stdout)
        self.assertFalse(os.path.exists(self.db_path))

    def test_upgrade_check_names_a_database_the_services_refuse(self):
        """A MySQL connection is named as one the services refuse, as
        ``<prog>-manage`` names it: the check said "No module named
        'pymysql'", as if installing the driver would do."""
        with open(self.conf_file, 'w') as f:
            f.write('[database]\nconnection = '
                    'mysql+pymysql://arbiter:pw@127.0.0.1/arbiter\n')
        result = self.status()
        self.assertEqual(2, result.returncode, result.stdout + result.stderr)
        details = ' '.join(result.stdout.replace('|', ' ').split())
        self.assertIn('[database] connection names a mysql database; '
                      'Arbiter services run on PostgreSQL (production) or '
                      'SQLite (one host).', details)
        self.assertNotIn('Traceback', result.stdout + result.stderr)

    def test_status_refuses_another_word_than_check(self):
        """``<prog>-status upgrade chek`` (a typo) is a usage error: it
        ran every check as ``upgrade check`` would."""
        result = run([command('%s-status' % self.SPEC.prog),
                      '--config-file', self.conf_file, 'upgrade', 'chek'])
        self.assertEqual(2, result.returncode, result.stdout)
        self.assertEqual('', result.stdout)
        self.assertIn("%s-status upgrade: error: argument check: invalid "
                      "choice: 'chek' (choose from 'check')"
                      % self.SPEC.prog, result.stderr)

    def test_db_commands_say_which_database(self):
        sync = self.manage('db', 'sync')
        self.assertEqual(0, sync.returncode, sync.stderr)
        self.assertIn('%s database: sqlite:///%s ([database] connection in '
                      '%s)' % (self.SPEC.prog, self.db_path, self.conf_file),
                      sync.stderr)
        version = self.manage('db', 'version')
        self.assertIn(self.db_path, version.stderr)

    def test_db_version_without_config_names_the_default(self):
        """With no configuration file, the command says that it falls back
        to /var/lib/arbiter, and reading does not create the file."""
        if os.path.exists('/etc/arbiter/%s.conf' % self.SPEC.prog):
            self.skipTest('/etc/arbiter has a configuration')
        home = os.path.join(self.tmp, 'home')
        os.mkdir(home)
        default = '/var/lib/arbiter/%s.sqlite' % self.SPEC.prog
        existed = os.path.exists(default)
        result = run([command('%s-manage' % self.SPEC.prog), 'db',
                      'version'], cwd=home, env=dict(os.environ, HOME=home))
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('sqlite:///%s' % default, result.stderr)
        self.assertIn('no configuration file was found', result.stderr)
        self.assertEqual(existed, os.path.exists(default))

    def test_help_of_every_script_is_clean(self):
        """``--help`` of each console script of the service answers with
        its usage and nothing before it: eventlet's deprecation notice
        came first for limits-status and the three engines."""
        names = ['api', 'manage', 'status']
        if self.SPEC.engine:
            names.append('engine')
        for name in names:
            script = '%s-%s' % (self.SPEC.prog, name)
            result = run([command(script), '--help'])
            self.assertEqual(0, result.returncode, result.stderr)
            self.assertEqual('', result.stderr, script)
            # The usage line named the prog ("usage: limits"), no command.
            self.assertTrue(result.stdout.startswith('usage: %s ' % script),
                            '%s: %s' % (script, result.stdout[:200]))

    def test_unreadable_config_file_is_one_line_not_a_traceback(self):
        """A --config-file that does not exist (a typo) or does not
        parse: one line naming the file and exit code 2, as for a usage
        error; it was oslo.config's traceback."""
        broken = os.path.join(self.tmp, 'broken.conf')
        with open(broken, 'w') as f:
            f.write('[database\n')
        missing = os.path.join(self.tmp, 'typo.conf')
        names = [('manage', ['db', 'version']), ('status',
                                                 ['upgrade', 'check'])]
        if self.SPEC.engine:
            names.append(('engine', []))
        for name, args in names:
            script = '%s-%s' % (self.SPEC.prog, name)
            for path, what in ((missing, 'Failed to find some config '
                                'files: %s' % missing),
                               (broken, 'Failed to parse %s' % broken)):
                result = run([command(script), '--config-file', path] + args)
                self.assertEqual(2, result.returncode, result.stderr)
                self.assertNotIn('Traceback', result.stderr)
                self.assertTrue(result.stderr.startswith(
                    '%s: cannot read the configuration: %s'
                    % (script, what)), result.stderr)

    def test_commands_read_the_services_config_file(self):
        """With no --config-file, <prog>-manage reads the service's own
        file (~/.arbiter/<prog>.conf here), not one named after the
        command (<prog>-manage.conf)."""
        home = os.path.join(self.tmp, 'home')
        os.makedirs(os.path.join(home, '.arbiter'))
        path = os.path.join(home, '.arbiter', '%s.conf' % self.SPEC.prog)
        with open(path, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n'
                    % self.db_path)
        result = run([command('%s-manage' % self.SPEC.prog), 'db',
                      'version'], cwd=home, env=dict(os.environ, HOME=home))
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('([database] connection in %s)' % path, result.stderr)

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


class TestSetupVenv(testtools.TestCase):
    """tools/setup-venv.sh (the README's first step) on a python3 that
    cannot make a virtualenv, as Debian's without python3-venv."""

    def test_missing_venv_module_is_named_before_anything_is_made(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        os.mkdir(os.path.join(tmp, 'tools'))
        shutil.copy(os.path.join(REPO, 'tools', 'setup-venv.sh'),
                    os.path.join(tmp, 'tools'))
        for name in ('requirements.txt', 'setup.cfg'):
            shutil.copy(os.path.join(REPO, name), tmp)
        fake_bin = os.path.join(tmp, 'bin')
        os.mkdir(fake_bin)
        fake = os.path.join(fake_bin, 'python3')
        with open(fake, 'w') as f:
            # Debian's python3 without python3-venv: no ensurepip, and
            # "-m venv" fails after making the directory.
            f.write('#!/bin/bash\n'
                    'case "$*" in\n'
                    '  *ensurepip*) exit 1;;\n'
                    '  "-m venv "*) mkdir -p "$3/bin"; exit 1;;\n'
                    'esac\n'
                    'exec %s "$@"\n' % sys.executable)
        os.chmod(fake, 0o755)
        result = run(['bash', os.path.join(tmp, 'tools', 'setup-venv.sh')],
                     env=dict(os.environ, PATH=os.pathsep.join(
                         [fake_bin, os.environ.get('PATH', '')])))
        self.assertEqual(1, result.returncode, result.stdout)
        self.assertIn('cannot create a virtualenv', result.stderr)
        self.assertIn('apt-get install python3-venv', result.stderr)
        self.assertFalse(os.path.exists(os.path.join(tmp, '.venv')))


class TestFederationKeys(testtools.TestCase):
    """``federation-manage keys list|rotate`` on a new database."""

    def test_list_before_any_key_says_so(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(tmp, 'federation.conf')
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n'
                    % os.path.join(tmp, 'federation.sqlite'))

        def keys(action):
            return run([command('federation-manage'), '--config-file', conf,
                        'keys', action])

        self.assertEqual(0, run([command('federation-manage'),
                                 '--config-file', conf, 'db',
                                 'sync']).returncode)
        empty = keys('list')
        self.assertEqual(0, empty.returncode, empty.stderr)
        self.assertEqual('No signing keys yet: the OIDC provider makes its '
                         'first two when its API starts, or run '
                         '"federation-manage keys rotate".\n', empty.stdout)
        self.assertEqual(0, keys('rotate').returncode)
        listed = keys('list').stdout.splitlines()
        self.assertEqual(['current', 'next'],
                         sorted(line.split()[1] for line in listed))


class TestServiceCommandsNeedTheSchema(testtools.TestCase):
    """A service's own ``<prog>-manage`` commands on a database that
    ``db sync`` has not brought to the latest revision: they ended with
    oslo.db's traceback (``no such table``) and left an empty SQLite file
    behind."""

    COMMANDS = [('limits', ['sync']), ('limits', ['usage', 'audit']),
                ('federation', ['keys', 'list']),
                ('federation', ['keys', 'rotate'])]

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def manage(self, prog, args):
        conf = os.path.join(self.tmp, '%s.conf' % prog)
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n'
                    % os.path.join(self.tmp, '%s.sqlite' % prog))
        return run([command('%s-manage' % prog), '--config-file', conf] +
                   args)

    def test_empty_database(self):
        for prog, args in self.COMMANDS:
            result = self.manage(prog, args)
            self.assertEqual(1, result.returncode, (args, result.stderr))
            self.assertNotIn('Traceback', result.stderr)
            self.assertIn('%s-manage: the database is empty and this command '
                          'needs revision ' % prog, result.stderr)
            self.assertIn('run "%s-manage db sync" first. Nothing was '
                          'done.' % prog, result.stderr)
            self.assertEqual('', result.stdout)
            self.assertFalse(os.path.exists(
                os.path.join(self.tmp, '%s.sqlite' % prog)))

    def test_database_behind(self):
        spec = [s for s in all_in_one.load_specs()
                if s.prog == 'federation'][0]
        first = migration.revisions(spec)[0]
        self.assertEqual(0, self.manage('federation', [
            'db', 'sync', '--revision', first]).returncode)
        result = self.manage('federation', ['keys', 'rotate'])
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertIn('the database is at revision %s and this command needs '
                      'revision %s' % (first, migration.head_revision(spec)),
                      result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(0, self.manage('federation',
                                        ['db', 'sync']).returncode)
        self.assertEqual(0, self.manage('federation',
                                        ['keys', 'rotate']).returncode)


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

    def _free_base(self):
        """A base port whose 4 ports nothing listens on nor holds (an
        outgoing connection's local port is not listening, but a bind on
        it fails all the same)."""
        base = rabbitmq.free_port()
        while not all(_bindable(base + i) for i in range(4)):
            base = rabbitmq.free_port()
        return base

    def _start(self, cwd, extra=()):
        """A run on free ports, answering; ``(proc, base)``.

        A free port may be taken by someone else before the run binds it;
        the run then exits naming the port, and this tries other ports (a
        few times at most).
        """
        for _attempt in range(3):
            base = self._free_base()
            proc = subprocess.Popen(
                [command('arbiter-all-in-one'), '--port-base', str(base)] +
                list(extra), cwd=cwd, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True)
            self.addCleanup(_kill, proc)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if all(_port_busy(base + i) for i in range(4)):
                    return proc, base
                time.sleep(0.2)
            if 'already in use' not in proc.stderr.read():
                break
        self.fail('arbiter-all-in-one did not start: %s'
                  % proc.stdout.read())

    def test_engines_run_in_the_local_run(self):
        """limits-engine runs inside the local run: an expired
        reservation is swept without any request."""
        tmp = self.useFixture(fixtures.TempDir()).path
        config_dir = os.path.join(tmp, 'etc')
        os.mkdir(config_dir)
        with open(os.path.join(config_dir, 'limits.conf'), 'w') as f:
            f.write('[limits]\npurge_interval = 1\n')
        proc, base = self._start(tmp, ['--config-dir', config_dir])
        url = 'http://127.0.0.1:%d' % base
        self._wait_for(url + '/healthcheck', proc, time.monotonic() + 60)
        admin = {'X-User-Id': 'admin', 'X-Roles': 'admin,member,reader',
                 'X-System-Scope': 'all', 'Content-Type': 'application/json'}

        def call(method, path, body=None):
            req = urllib.request.Request(
                url + path, method=method, headers=admin,
                data=json.dumps(body).encode() if body else None)
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status
            except urllib.error.HTTPError as exc:
                return exc.code

        self.assertEqual(201, call('POST', '/v1/projects', {'id': 'p'}))
        self.assertEqual(201, call('POST', '/v1/registered_limits', {
            'service_id': 'nova', 'resource_name': 'cores',
            'default_limit': 10}))
        self.assertEqual(200, call('PUT', '/v1/allocations/r1', {
            'project_id': 'p', 'resources': {'cores': 4},
            'expires_in': 1}))
        deadline = time.monotonic() + 20
        while call('GET', '/v1/allocations/r1') == 200:
            self.assertLess(time.monotonic(), deadline,
                            'the reservation was never swept')
            time.sleep(0.5)
        self.assertEqual(404, call('GET', '/v1/allocations/r1'))

    def test_four_services_answer_and_stop_on_sigterm(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        # No --data-dir: a run on other ports gets a directory of its own.
        proc, base = self._start(tmp)
        deadline = time.monotonic() + 60
        for offset in range(4):
            url = 'http://127.0.0.1:%d/healthcheck' % (base + offset)
            self.assertEqual(200, self._wait_for(url, proc, deadline))
        with urllib.request.urlopen('http://127.0.0.1:%d/' % base) as resp:
            self.assertIn(b'"v1.0"', resp.read())
        data = os.path.join(tmp, 'arbiter-data-%d' % base)
        self.assertTrue(os.path.isdir(data))

        # A second run given the same directory refuses, and says why.
        other = self._free_base()
        second = run([command('arbiter-all-in-one'), '--port-base',
                      str(other), '--data-dir', data], cwd=tmp)
        self.assertEqual(1, second.returncode, second.stdout)
        self.assertIn('data directory %s is in use' % data, second.stderr)
        self.assertIn('--data-dir', second.stderr)
        self.assertNotIn('Traceback', second.stderr)
        self.assertFalse(_port_busy(other))

        proc.send_signal(signal.SIGTERM)
        output, errors = proc.communicate(timeout=30)
        self.assertEqual(0, proc.returncode, output + errors)
        # What a person needs is one block, after the engines' start
        # lines: the URLs, the CLI's variables, then "Arbiter is
        # running"; no warning, no migration log.
        block = output[output.index(
            'limits        limits               http://127.0.0.1:%d/\n'
            % base):output.index('Press Ctrl-C to stop.\n')]
        firsts = [line.split()[0] if line.strip() else ''
                  for line in block.splitlines()]
        self.assertEqual(
            ['limits', 'reaper', 'image-family', 'federation', '',
             'The', 'export', 'export', 'export', 'openstack', 'Arbiter'],
            [os.path.basename(first) for first in firsts])
        self.assertNotIn('INFO', block)
        self.assertNotIn('Eventlet', errors)
        self.assertNotIn('alembic', errors)
        # The in-process bus's connections warned twice per engine (the
        # log goes to standard output, oslo.log's default).
        self.assertNotIn('WARNING', output + errors)
        for spec in all_in_one.load_specs():
            self.assertIn(spec.prog, output)
            self.assertTrue(os.path.exists(os.path.join(
                data, '%s.sqlite' % spec.prog)))
        self.assertIn('http://127.0.0.1:%d/' % (base + 3), output)
        self.assertIn('OS_LIMITS_ENDPOINT_OVERRIDE=http://127.0.0.1:%d\n'
                      % base, output)
        self.assertIn('  export OS_PREEMPTION_ENDPOINT_OVERRIDE='
                      'http://127.0.0.1:%d OS_IMAGE_FAMILY_ENDPOINT_OVERRIDE='
                      'http://127.0.0.1:%d OS_FEDERATION_ENDPOINT_OVERRIDE='
                      'http://127.0.0.1:%d\n' % (base + 1, base + 2, base + 3),
                      output)
        self.assertIn('Stopped.', output)

    def test_openstack_cli_as_printed(self):
        """The variables the local run prints are enough for ``openstack
        quota ...`` against it."""
        tmp = self.useFixture(fixtures.TempDir()).path
        proc, base = self._start(tmp)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        lines = []
        while not lines or not lines[-1].startswith('  export ARBITER'):
            lines.append(proc.stdout.readline())
        for line in lines:
            if line.startswith('  export '):
                for pair in line.split()[1:]:
                    name, value = pair.split('=', 1)
                    env[name] = value
        result = run([command('openstack'), 'quota', 'registered', 'limit',
                      'create', '--service', 'nova', 'cores',
                      '--default-limit', '8', '-f', 'value',
                      '-c', 'default_limit'], env=env, cwd=tmp)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('8', result.stdout.strip())
        # The other services' commands too (only the limits endpoint was
        # printed: the image family guide's commands failed).
        result = run([command('openstack'), 'image', 'family', 'create',
                      'centos-7', '-f', 'value', '-c', 'name'], env=env,
                     cwd=tmp)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('centos-7', result.stdout.strip())

    def _plan(self, base, body):
        """``(status, body)`` of a plan asked of the run's reaper by a
        system administrator (noauth headers)."""
        req = urllib.request.Request(
            'http://127.0.0.1:%d/v1/plans' % (base + 1), method='POST',
            data=json.dumps(body).encode(), headers={
                'X-User-Id': 'admin', 'X-Roles': 'admin,member,reader',
                'X-System-Scope': 'all',
                'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def test_reaper_has_a_simulated_cloud_in_the_local_run(self):
        """With no configuration, the preemption guide's plan finds the
        flavor and answers with victims (it was a 400 "no flavor
        m1.large": the simulated driver had no cloud)."""
        tmp = self.useFixture(fixtures.TempDir()).path
        proc, base = self._start(tmp)
        self._wait_for('http://127.0.0.1:%d/healthcheck' % (base + 1), proc,
                       time.monotonic() + 60)
        status, body = self._plan(base, {'flavor': 'm1.large',
                                         'aggregates': ['batch']})
        self.assertEqual(200, status, body)
        plan = body['plan']
        self.assertEqual('victims', plan['outcome'])
        self.assertEqual(['batch-1'],
                         [v['server_id'] for v in plan['victims']])
        self.assertEqual(['cmp1'], plan['hosts'])

    def test_federation_issuer_is_the_local_runs_url(self):
        """On other ports (--port-base), the proxy's discovery document
        names the URL the run serves it on; it named
        http://127.0.0.1:9873, where nothing (or another run) answered."""
        tmp = self.useFixture(fixtures.TempDir()).path
        proc, base = self._start(tmp)
        url = 'http://127.0.0.1:%d' % (base + 3)
        self._wait_for(url + '/healthcheck', proc, time.monotonic() + 60)
        with urllib.request.urlopen(
                url + '/.well-known/openid-configuration',
                timeout=10) as resp:
            discovery = json.load(resp)
        self.assertEqual(url, discovery['issuer'])
        self.assertEqual(url + '/oidc/token', discovery['token_endpoint'])

    def test_operator_issuer_is_kept(self):
        """An operator's own ``[federation] issuer`` (in --config-dir)
        stays the issuer of the local run."""
        tmp = self.useFixture(fixtures.TempDir()).path
        spec = [s for s in all_in_one.load_specs()
                if s.prog == 'federation'][0]
        conf = all_in_one.local_conf(spec, tmp, '127.0.0.1', 10999)
        self.assertEqual('http://127.0.0.1:10999', conf.federation.issuer)
        with open(os.path.join(tmp, 'federation.conf'), 'w') as f:
            f.write('[federation]\nissuer = https://proxy.example.org\n')
        conf = all_in_one.local_conf(spec, tmp, '127.0.0.1', 10999,
                                     config_dir=tmp)
        self.assertEqual('https://proxy.example.org', conf.federation.issuer)
        conf = all_in_one.local_conf(spec, tmp, '::1', 10999)
        self.assertEqual('http://[::1]:10999', conf.federation.issuer)

    def test_operator_simulated_cloud_is_kept(self):
        """An operator's own ``[preemption] simulated_cloud`` (in
        --config-dir) is the cloud the local run's reaper sees."""
        tmp = self.useFixture(fixtures.TempDir()).path
        config_dir = os.path.join(tmp, 'etc')
        os.mkdir(config_dir)
        cloud = os.path.join(tmp, 'own-cloud.yaml')
        with open(cloud, 'w') as f:
            f.write('flavors:\n'
                    '  x1.tiny: {resources: {VCPU: 1}}\n'
                    'hosts:\n'
                    '  own1: {capacity: {VCPU: 4}}\n')
        with open(os.path.join(config_dir, 'reaper.conf'), 'w') as f:
            f.write('[preemption]\nsimulated_cloud = %s\n' % cloud)
        proc, base = self._start(tmp, ['--config-dir', config_dir])
        self._wait_for('http://127.0.0.1:%d/healthcheck' % (base + 1), proc,
                       time.monotonic() + 60)
        status, body = self._plan(base, {'flavor': 'x1.tiny', 'count': 4})
        self.assertEqual(200, status, body)
        self.assertEqual('fits', body['plan']['outcome'])
        status, body = self._plan(base, {'flavor': 'm1.large'})
        self.assertEqual(400, status, body)
        self.assertEqual('preemption.unknown_flavor',
                         body['errors'][0]['code'])

    def test_config_dir_that_would_be_ignored_is_refused(self):
        """A mistyped --config-dir, or one whose files are not named
        <prog>.conf, was silently ignored: the run started without the
        settings the user meant to give it."""
        tmp = self.useFixture(fixtures.TempDir()).path
        base = self._free_base()
        missing = run([command('arbiter-all-in-one'), '--port-base',
                       str(base), '--config-dir',
                       os.path.join(tmp, 'ect')], cwd=tmp)
        self.assertEqual(2, missing.returncode, missing.stderr)
        self.assertIn('--config-dir %s is not a directory'
                      % os.path.join(tmp, 'ect'), missing.stderr)
        wrong = os.path.join(tmp, 'etc')
        os.mkdir(wrong)
        with open(os.path.join(wrong, 'preemption.conf'), 'w') as f:
            f.write('[preemption]\n')
        unread = run([command('arbiter-all-in-one'), '--port-base',
                      str(base), '--config-dir', wrong], cwd=tmp)
        self.assertEqual(1, unread.returncode, unread.stderr)
        self.assertIn('--config-dir %s holds none of limits.conf, '
                      'reaper.conf, image-family.conf, federation.conf'
                      % wrong, unread.stderr)
        self.assertNotIn('Traceback', unread.stderr)
        self.assertEqual(['etc'], os.listdir(tmp))

    def test_port_base_out_of_range_is_a_usage_error(self):
        """--port-base 70000 was an OverflowError traceback; 0 bound a
        random port and then 1 to 3."""
        tmp = self.useFixture(fixtures.TempDir()).path
        for base in ('70000', '65533', '0', '-5'):
            result = run([command('arbiter-all-in-one'), '--port-base',
                          base], cwd=tmp)
            self.assertEqual(2, result.returncode, result.stdout)
            self.assertIn('--port-base %s is not a port from 1 to 65532'
                          % base, result.stderr)
            self.assertNotIn('Traceback', result.stderr)
        self.assertEqual([], os.listdir(tmp))

    def test_host_not_of_this_machine_is_named(self):
        """An address the machine does not have (192.0.2.1, kept for
        documentation) cannot be bound on any port: the error names
        --host, not ports that other ports would fix."""
        tmp = self.useFixture(fixtures.TempDir()).path
        result = run([command('arbiter-all-in-one'), '--host', '192.0.2.1',
                      '--port-base', str(self._free_base())], cwd=tmp)
        self.assertEqual(1, result.returncode, result.stdout)
        self.assertIn('--host 192.0.2.1 is not an address of this machine; '
                      'leave --host out to listen on 127.0.0.1. Nothing was '
                      'created.', result.stderr)
        self.assertNotIn('ss -ltnp', result.stderr)
        self.assertEqual([], os.listdir(tmp))

    def test_port_in_use_is_named_and_nothing_is_created(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        with socket.socket() as taken:
            # Another process may take a port between _free_base and the
            # bind: then try other ports.
            for _attempt in range(5):
                base = self._free_base()
                try:
                    taken.bind(('127.0.0.1', base + 1))
                    break
                except OSError:
                    continue
            else:
                self.fail('no free port to hold for 5 tries')
            taken.listen()
            result = run([command('arbiter-all-in-one'), '--port-base',
                          str(base)], cwd=tmp)
        self.assertEqual(1, result.returncode, result.stdout)
        self.assertIn('port %d of 127.0.0.1 (for reaper) is already in use'
                      % (base + 1), result.stderr)
        self.assertIn('--port-base', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual([], os.listdir(tmp))
        self.assertFalse(_port_busy(base))


class TestCliReference(testtools.TestCase):
    """doc/source/cli/index.rst and the install guide show ``db sync`` as
    it is today."""

    def test_db_sync_example(self):
        with open(os.path.join(REPO, 'doc', 'source', 'cli',
                               'index.rst')) as f:
            text = f.read()
        spec = [s for s in all_in_one.load_specs() if s.prog == 'limits'][0]
        head = migration.head_revision(spec)
        self.assertIn('   $ limits-manage db sync\n', text)
        example = text.split('   $ limits-manage db sync\n', 1)[1]
        origin, result = example.splitlines()[:2]
        self.assertEqual('Database at %s' % head, result.strip())
        home = self.useFixture(fixtures.TempDir()).path
        if os.path.exists('/etc/arbiter/limits.conf'):
            self.skipTest('/etc/arbiter has a configuration')
        shown = run([command('limits-manage'), 'db', 'version'], cwd=home,
                    env=dict(os.environ, HOME=home))
        self.assertEqual(origin.strip(), shown.stderr.strip())

    def test_install_guide_db_sync_example(self):
        """The install guide's ``db sync`` output ends at the head (it
        showed 0004 when the head was 0005)."""
        with open(os.path.join(REPO, 'doc', 'source', 'install',
                               'index.rst')) as f:
            text = f.read()
        spec = [s for s in all_in_one.load_specs() if s.prog == 'limits'][0]
        shown = [line.strip() for line in text.splitlines()
                 if line.strip().startswith('Database at ')]
        self.assertEqual(['Database at %s' % migration.head_revision(spec)],
                         shown)


def _bindable(port):
    with socket.socket() as sock:
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:
            return False
        return True


def _port_busy(port):
    with socket.socket() as sock:
        return sock.connect_ex(('127.0.0.1', port)) == 0


def _kill(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()
