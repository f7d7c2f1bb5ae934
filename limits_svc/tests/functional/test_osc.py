"""The real ``openstack`` command against the real limits API.

Each test starts the complete limits WSGI app (noauth, fresh SQLite) on a
loopback port in a thread, builds its fixture data over HTTP, and runs
``openstack --os-auth-type none --os-endpoint ...`` as a subprocess for
the commands under test, with the identity passed through the plugin's
``ARBITER_NOAUTH_*`` variables.  Every ``openstack`` run costs about two
seconds, so the data that is not under test is made over HTTP.

The service's page size is 2, so that every list without ``--limit``
has to follow ``next`` links to be complete.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import fixtures
import testtools

from limits_svc import service
from svc_common.cmd import api as api_cmd
from svc_common.tests.fixtures import api as api_fixture

ADMIN_ENV = {'ARBITER_NOAUTH_USER': 'admin',
             'ARBITER_NOAUTH_ROLES': 'admin,member,reader',
             'ARBITER_NOAUTH_SYSTEM_SCOPE': 'all'}
PAGE_SIZE = 2


def _openstack_command():
    """The ``openstack`` script of this interpreter's environment."""
    script = os.path.join(os.path.dirname(sys.executable), 'openstack')
    if os.path.exists(script):
        return [script]
    found = shutil.which('openstack')
    if found:
        return [found]
    return [sys.executable, '-m', 'openstackclient.shell']


class LimitsServer(fixtures.Fixture):
    """The limits API on ``.url``; ``.requests`` counts what it answered."""

    def _setUp(self):
        app = self.useFixture(api_fixture.ServiceApp(
            service.SPEC, overrides={('api', 'max_limit'): PAGE_SIZE}))
        self.requests = 0

        def counting(environ, start_response):
            self.requests += 1
            return app.wsgi(environ, start_response)

        server = api_cmd.make_server(counting, '127.0.0.1', 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = 'http://127.0.0.1:%d' % server.server_port

    def call(self, method, path, body=None):
        """One admin request; ``(status, decoded body or None)``."""
        headers = {'X-User-Id': 'admin', 'X-Roles': 'admin,member,reader',
                   'X-System-Scope': 'all',
                   'Content-Type': 'application/json'}
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data,
                                         headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            status = exc.code
        return status, json.loads(raw) if raw else None

    def make(self, method, path, body=None):
        status, answer = self.call(method, path, body)
        if status >= 300:
            raise AssertionError('%s %s: %s %s' % (method, path, status,
                                                   answer))
        return answer


class TestOpenStackCommand(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(LimitsServer())

    def openstack(self, *args, identity=ADMIN_ENV, endpoint=None):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env.update(identity)
        argv = (_openstack_command() +
                ['--os-auth-type', 'none',
                 '--os-endpoint', endpoint or self.server.url] +
                list(args))
        return subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=120)

    def openstack_ok(self, *args):
        result = self.openstack(*args)
        self.assertEqual(0, result.returncode,
                         'openstack %s\nstdout: %s\nstderr: %s'
                         % (' '.join(args), result.stdout, result.stderr))
        return result

    def openstack_json(self, *args):
        return json.loads(self.openstack_ok(*(args + ('-f', 'json'))).stdout)

    @staticmethod
    def table_rows(text):
        """Cells of a table printed by ``openstack``, indentation kept."""
        return [[cell[1:].rstrip() for cell in line.split('|')[1:-1]]
                for line in text.splitlines() if line.startswith('|')]

    def build_tree(self):
        """root (subtree cores 10) > child > leaf; 8 cores per project."""
        make = self.server.make
        make('POST', '/v1/projects', {'id': 'root'})
        make('POST', '/v1/projects', {'id': 'child', 'parent_id': 'root'})
        make('POST', '/v1/projects', {'id': 'leaf', 'parent_id': 'child'})
        make('POST', '/v1/projects', {'id': 'other'})
        make('POST', '/v1/registered_limits', {
            'service_id': 'compute', 'resource_name': 'cores',
            'default_limit': 8})
        make('POST', '/v1/limits', {
            'project_id': 'root', 'service_id': 'compute',
            'resource_name': 'cores', 'resource_limit': 10,
            'scope': 'subtree'})

    def test_local_mode_projects_and_limits(self):
        self.server.make('POST', '/v1/projects', {'id': 'root'})
        project = self.openstack_json('quota', 'project', 'create', 'child',
                                      '--parent', 'root', '--name', 'Child')
        self.assertEqual(('child', 'root', 'Child'),
                         (project['id'], project['parent_id'],
                          project['name']))

        registered = self.openstack_json(
            'quota', 'registered', 'limit', 'create', 'cores',
            '--service', 'compute', '--default-limit', '8')
        self.assertEqual(8, registered['default_limit'])

        limit = self.openstack_json(
            'quota', 'limit', 'create', 'cores', '--project', 'root',
            '--service', 'compute', '--resource-limit', '10',
            '--scope', 'subtree', '--description', 'whole tree')
        self.assertEqual(('root', 10, 'subtree'),
                         (limit['project_id'], limit['resource_limit'],
                          limit['scope']))
        stored = self.server.make('GET', '/v1/limits/%s' % limit['id'])
        self.assertEqual('whole tree', stored['limit']['description'])

        for name in ('ram', 'instances'):
            self.server.make('POST', '/v1/registered_limits', {
                'service_id': 'compute', 'resource_name': name,
                'default_limit': -1})
        listed = self.openstack_json('quota', 'registered', 'limit', 'list')
        # Three limits, pages of two: the second page came from 'next'.
        self.assertEqual(
            {('cores', 8), ('ram', -1), ('instances', -1)},
            {(row['Resource Name'], row['Default Limit']) for row in listed})

    def test_a_move_over_a_subtree_limit_is_refused(self):
        """``quota project set --parent`` is refused when the moved
        subtree's usage would take a joining level past its subtree
        limit, and says so in its help; the help and the CLI guide said
        a move was checked against no limit."""
        self.build_tree()
        make = self.server.make
        make('POST', '/v1/projects', {'id': 'busy', 'parent_id': 'other'})
        make('PUT', '/v1/allocations/vm-1', {'project_id': 'busy',
                                             'resources': {'cores': 8}})
        make('PUT', '/v1/allocations/vm-2', {'project_id': 'leaf',
                                             'resources': {'cores': 3}})
        result = self.openstack('quota', 'project', 'set', '--parent',
                                'child', 'busy')
        self.assertEqual(1, result.returncode, result.stdout)
        self.assertIn('cores in root: subtree limit 10, usage 3, '
                      'requested +8', result.stderr)
        self.assertEqual('other', self.server.make(
            'GET', '/v1/projects/busy')['project']['parent_id'])
        helped = ' '.join(self.openstack_ok(
            'quota', 'project', 'set', '--help').stdout.split())
        self.assertIn('A move is refused, and nothing changes, when the '
                      'usage it carries would take a level it joins past '
                      'its subtree limit', helped)

    def test_allocate_check_and_report(self):
        self.build_tree()
        make = self.server.make
        make('PUT', '/v1/allocations/a1', {'project_id': 'leaf',
                                           'resources': {'cores': 6}})
        make('PUT', '/v1/allocations/a0', {'project_id': 'other',
                                           'resources': {'cores': 1}})

        allocation = self.openstack_json(
            'quota', 'allocation', 'set', 'a2', '--project', 'child',
            '--resource', 'cores=3')
        self.assertEqual({'cores': 3}, allocation['resources'])

        # root's subtree holds 9 of 10 cores: 2 more are refused there.
        check = self.openstack('quota', 'check', 'child',
                               '--resource', 'cores=2')
        self.assertEqual(1, check.returncode, check.stderr)
        self.assertIn('Refused: 1 limit(s)', check.stderr)
        self.assertIn('cores in root: subtree limit 10, usage 9, '
                      'requested +2', check.stdout)

        refused = self.openstack('quota', 'allocation', 'set', 'a3',
                                 '--project', 'leaf', '--resource', 'cores=2')
        self.assertEqual(1, refused.returncode, refused.stdout)
        self.assertIn('Refused by 1 limit(s) (HTTP 409 limits.over_limit',
                      refused.stderr)
        self.assertIn('cores in root: subtree limit 10, usage 9, '
                      'requested +2', refused.stderr)
        self.assertEqual(404, self.server.call(
            'GET', '/v1/allocations/a3')[0])

        tree = self.table_rows(self.openstack_ok(
            'quota', 'tree', 'show', 'root').stdout)
        self.assertEqual([['Project', 'cores'],
                          ['root', '0/8, subtree 9/10'],
                          ['  child', '3/8'],
                          ['    leaf', '6/8']], tree)

        listed = self.openstack_json('quota', 'allocation', 'list')
        self.assertEqual(
            [('a0', 'other', {'cores': 1}), ('a1', 'leaf', {'cores': 6}),
             ('a2', 'child', {'cores': 3})],
            [(row['Consumer ID'], row['Project ID'], row['Resources'])
             for row in listed])

        shown = self.openstack_json('quota', 'allocation', 'show', 'a1')
        self.assertEqual(('leaf', {'cores': 6}),
                         (shown['project_id'], shown['resources']))

        self.openstack_ok('quota', 'allocation', 'delete', 'a1', 'a2')
        left = make('GET', '/v1/allocations')['allocations']
        self.assertEqual(['a0'], [a['consumer_id'] for a in left])

    def test_generation_is_shown_and_if_match_writes_that_one_only(self):
        self.build_tree()
        generation = self.server.make('PUT', '/v1/allocations/a1', {
            'project_id': 'leaf',
            'resources': {'cores': 2}})['allocation']['generation']

        shown = self.openstack_json('quota', 'allocation', 'show', 'a1')
        self.assertEqual(generation, shown['generation'])
        table = dict(self.table_rows(self.openstack_ok(
            'quota', 'allocation', 'show', 'a1').stdout)[1:])
        self.assertEqual(str(generation), table['generation'])
        listed = self.openstack_json('quota', 'allocation', 'list')
        self.assertEqual([('a1', generation)],
                         [(row['Consumer ID'], row['Generation'])
                          for row in listed])

        written = self.openstack_json(
            'quota', 'allocation', 'set', 'a1', '--project', 'leaf',
            '--resource', 'cores=3', '--if-match', str(generation))
        self.assertEqual({'cores': 3}, written['resources'])
        self.assertNotEqual(generation, written['generation'])

        # The generation read before that write is no longer the
        # allocation's: nothing is written or freed.
        late = self.openstack('quota', 'allocation', 'set', 'a1',
                              '--project', 'leaf', '--resource', 'cores=5',
                              '--if-match', str(generation))
        self.assertEqual(1, late.returncode, late.stdout)
        self.assertIn('(HTTP 412 limits.allocation_changed', late.stderr)
        self.assertIn('"openstack quota allocation show <consumer-id>"',
                      late.stderr)
        late = self.openstack('quota', 'allocation', 'delete', 'a1',
                              '--if-match', str(generation))
        self.assertEqual(1, late.returncode, late.stdout)
        self.assertIn('(HTTP 412 limits.allocation_changed', late.stderr)
        self.assertEqual({'cores': 3}, self.server.make(
            'GET', '/v1/allocations/a1')['allocation']['resources'])

        self.openstack_ok('quota', 'allocation', 'delete', 'a1',
                          '--if-match', str(written['generation']))
        self.assertEqual(404, self.server.call('GET',
                                               '/v1/allocations/a1')[0])

    def test_if_match_of_delete_takes_one_consumer(self):
        requests = self.server.requests
        result = self.openstack('quota', 'allocation', 'delete', 'a1', 'a2',
                                '--if-match', '7')
        self.assertEqual(1, result.returncode, result.stdout)
        self.assertIn('--if-match takes the generation of one allocation',
                      result.stderr)
        result = self.openstack('quota', 'allocation', 'set', 'a1',
                                '--project', 'leaf', '--resource', 'cores=1',
                                '--if-match', 'abc')
        self.assertEqual(2, result.returncode, result.stdout)
        self.assertIn("'abc' is not a generation", result.stderr)
        self.assertEqual(requests, self.server.requests)

    def test_endpoint_with_v1_and_dicts_as_json_in_value_format(self):
        self.build_tree()
        self.server.make('POST', '/v1/registered_limits', {
            'service_id': 'compute', 'resource_name': 'ram',
            'default_limit': -1})
        self.server.make('PUT', '/v1/allocations/a1', {
            'project_id': 'leaf', 'resources': {'cores': 2, 'ram': 512}})
        # The root followed by /v1, as the version document names it.
        result = self.openstack('quota', 'allocation', 'show', 'a1',
                                '-f', 'value', '-c', 'resources',
                                endpoint=self.server.url + '/v1')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual({'cores': 2, 'ram': 512},
                         json.loads(result.stdout))

    def test_bad_resource_amount_is_a_usage_error(self):
        result = self.openstack('quota', 'check', 'root',
                                '--resource', 'cores=abc')
        self.assertEqual(2, result.returncode)
        self.assertIn("'cores=abc': the amount of cores must be an integer",
                      result.stderr)
        self.assertEqual(0, self.server.requests)

    def test_noauth_without_identity_says_what_to_set(self):
        result = self.openstack('quota', 'allocation', 'list', identity={})
        self.assertEqual(1, result.returncode)
        self.assertIn('HTTP 401', result.stderr)
        self.assertIn('ARBITER_NOAUTH_USER', result.stderr)

    def test_compute_quota_commands_are_not_shadowed(self):
        result = self.openstack_ok('help', 'quota', 'show')
        self.assertIn('usage: openstack quota show', result.stdout)
        self.assertIn('--usage', result.stdout)

    def test_an_id_with_the_characters_of_a_url_is_one_id(self):
        """``?`` or ``#`` in a typed ID stays in it: the project is not
        found (it was a GET of the list, and the command failed with
        'project')."""
        for command in (('quota', 'project', 'show'),
                        ('quota', 'allocation', 'show')):
            result = self.openstack(*(command + ('#x?y',)))
            self.assertEqual(1, result.returncode, result.stdout)
            self.assertIn('"#x?y".', result.stderr)
            self.assertIn('HTTP 404', result.stderr)
