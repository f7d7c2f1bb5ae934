"""The real ``openstack preemptible ...`` commands against the real
preemption API (in-process WSGI app on a loopback port, the sample
simulated cloud, noauth identity through the plugin's
``ARBITER_NOAUTH_*`` variables)."""

import json
import os
import subprocess
import threading

import fixtures
import testtools

from limits_svc.tests.functional import test_osc as limits_osc
from reaper_svc.tests.functional import base
from svc_common.cmd import api as api_cmd

ADMIN_ENV = limits_osc.ADMIN_ENV
MEMBER_ENV = {'ARBITER_NOAUTH_USER': 'alice',
              'ARBITER_NOAUTH_ROLES': 'member,reader',
              'ARBITER_NOAUTH_PROJECT': 'physics'}


class ReaperServer(fixtures.Fixture):
    """The preemption API on ``.url``; ``.db`` its database."""

    def _setUp(self):
        reaper = self.useFixture(base.ReaperApp())
        self.db = reaper.db
        server = api_cmd.make_server(reaper.service_app.wsgi, '127.0.0.1', 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = 'http://127.0.0.1:%d' % server.server_port


class TestOpenStackCommand(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(ReaperServer())

    def run_openstack(self, identity, *args):
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(('OS_', 'ARBITER_NOAUTH_'))}
        env.update(identity)
        argv = (limits_osc._openstack_command() +
                ['--os-auth-type', 'none', '--os-endpoint', self.server.url,
                 'preemptible'] + list(args))
        return subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=120)

    def openstack(self, identity, *args):
        result = self.run_openstack(identity, *args)
        self.assertEqual(0, result.returncode, 'openstack %s\n%s\n%s' % (
            ' '.join(args), result.stdout, result.stderr))
        return result.stdout

    def json_of(self, identity, *args):
        return json.loads(self.openstack(identity, *(args + ('-f', 'json'))))

    def test_requests_of_a_project_member(self):
        created = self.json_of(
            MEMBER_ENV, 'request', 'create', 'sim', '--flavor', 'm1.large',
            '--image', 'img-1', '--network', 'net-1', '--count', '3',
            '--min-runtime', '8h', '--deadline', '+12h')
        self.assertEqual(('physics', 'queued', 3, True, 8 * 3600),
                         (created['project_id'], created['state'],
                          created['count'], created['all_or_nothing'],
                          created['min_runtime']))
        self.assertEqual([{'name': 'sim', 'flavor': 'm1.large',
                           'image': 'img-1', 'networks': ['net-1'],
                           'count': 3}], created['servers'])
        rows = self.json_of(MEMBER_ENV, 'request', 'list')
        self.assertEqual([(created['id'], 'queued')],
                         [(r['ID'], r['State']) for r in rows])
        self.openstack(MEMBER_ENV, 'request', 'delete', created['id'])
        shown = self.json_of(MEMBER_ENV, 'request', 'show', created['id'])
        self.assertEqual('cancelled', shown['state'])
        unknown = self.run_openstack(MEMBER_ENV, 'request', 'create', 'x',
                                     '--flavor', 'nope', '--image', 'i')
        self.assertNotEqual(0, unknown.returncode)
        self.assertIn('no flavor nope', unknown.stderr)
        self.assertIn('preemption.unknown_flavor', unknown.stderr)

    def test_operator_plans_and_reads(self):
        capacity = self.json_of(ADMIN_ENV, 'capacity', 'show',
                                '--aggregate', 'batch')
        vcpu = [r for r in capacity if r['Resource Class'] == 'VCPU']
        self.assertEqual([('batch', 2, 32, 32, 24, 0)],
                         [(r['Aggregate'], r['Hosts'], r['Total'], r['Used'],
                           r['Preemptible'], r['Free']) for r in vcpu])
        plan = self.json_of(ADMIN_ENV, 'plan', 'create', '--flavor',
                            'm1.large', '--aggregate', 'batch')
        self.assertEqual(('victims', ['batch-1'], ['cmp1']),
                         (plan['outcome'], plan['victims'], plan['hosts']))
        refused = self.run_openstack(ADMIN_ENV, 'plan', 'create',
                                     '--resource', 'VCPU=64')
        self.assertNotEqual(0, refused.returncode)
        self.assertIn('preemption.cannot_fit', refused.stderr)
        action = base.add_action(self.server.db, 'physics', ['biology'])
        rows = self.json_of(ADMIN_ENV, 'action', 'list', '--state', 'failed')
        self.assertEqual([(action['id'], 'failed', 1)],
                         [(r['ID'], r['State'], r['Victims']) for r in rows])
        shown = self.json_of(ADMIN_ENV, 'action', 'show', action['id'])
        self.assertEqual(['biology'],
                         [v['project_id'] for v in shown['victims']])
        self.assertEqual('Not enough room.', shown['reason'])
