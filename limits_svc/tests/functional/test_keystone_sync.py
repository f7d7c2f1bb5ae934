"""Keystone mode against a real Keystone (started on 127.0.0.1).

A 3-level tree with a registered limit and project limits is built in
Keystone; ``limits-manage sync`` (the same code) copies it; allocations are
then decided on it; a limit changed in Keystone is seen after a resync.
The engine's listener resyncs when Keystone announces a project change on
a real RabbitMQ.
"""

import os
import time

import fixtures
import testtools

from limits_svc.clients import keystone as keystone_client
from limits_svc.cmd import sync as sync_command
from limits_svc import keystone_engine
from limits_svc import service
from svc_common.db import migration
from svc_common.messaging import bus
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import keystone as keystone_fixture
from svc_common.tests.fixtures import rabbitmq


class KeystoneSyncBase(testtools.TestCase):
    """A real Keystone and RabbitMQ, the service in keystone mode, and a
    3-level tree with limits in Keystone."""

    # keystone.conf options of the test's Keystone.
    KEYSTONE_CONFIG = None

    def setUp(self):
        super().setUp()
        self.broker = self.useFixture(rabbitmq.SharedRabbitMQ())
        self.ks = self.useFixture(keystone_fixture.Keystone(
            notification_transport_url=self.broker.url,
            extra_config=self.KEYSTONE_CONFIG))
        tmp = self.useFixture(fixtures.TempDir()).path
        conf_file = os.path.join(tmp, 'limits.conf')
        with open(conf_file, 'w') as f:
            f.write('[limits]\nmode = keystone\n'
                    '[keystone]\nauth_type = password\nauth_url = %s\n'
                    'username = admin\npassword = %s\n'
                    'user_domain_id = default\nsystem_scope = all\n'
                    'resync_interval = 0\n'
                    % (self.ks.url, self.ks.admin_password))
        self.api = self.useFixture(af.ServiceApp(
            service.SPEC, overrides={('limits', 'mode'): 'keystone',
                                     (None, 'transport_url'):
                                         self.broker.url}))
        # The API fixture's database, with the sync's config file on top.
        from svc_common import config
        self.conf = config.build_conf(
            service.SPEC, default_config_files=[conf_file], overrides={
                ('database', 'connection'):
                    self.api.conf.database.connection,
                (None, 'transport_url'): self.broker.url})
        migration.upgrade(service.SPEC, self.conf.database.connection)
        from svc_common.db import database
        self.db = database.Database(self.conf)
        self.nova = self.ks.create_service('nova', 'compute')
        self.ks.create_registered_limit(self.nova['id'], 'cores', 100)
        self.top = self.ks.create_project('top')
        self.mid = self.ks.create_project('mid', parent_id=self.top['id'])
        self.leaf = self.ks.create_project('leaf', parent_id=self.mid['id'])
        self.top_limit = self.ks.create_limit(
            self.nova['id'], self.top['id'], 'cores', 10,
            description='whole tree [subtree]')
        self.ks.create_limit(self.nova['id'], self.leaf['id'], 'cores', 6)

    def allocate(self, consumer, project_id, cores, status=200):
        return self.api.app.put_json(
            '/v1/allocations/%s' % consumer,
            {'project_id': project_id, 'resources': {'cores': cores}},
            headers=af.SERVICE, status=status)


class TestKeystoneSync(KeystoneSyncBase):

    def test_sync_then_change_a_limit(self):
        counts = keystone_engine.sync(self.conf, self.db)
        self.assertGreaterEqual(counts['projects'], 3)
        self.assertEqual(2, counts['limits'])
        project = self.api.app.get('/v1/projects/%s' % self.leaf['id'],
                                   headers=af.SYSTEM_READER).json['project']
        self.assertEqual(self.mid['id'], project['parent_id'])
        # leaf's own limit (6) and top's subtree limit (10) both hold.
        self.allocate('vm-1', self.leaf['id'], 7, status=409)
        self.allocate('vm-1', self.leaf['id'], 6)
        resp = self.allocate('vm-2', self.mid['id'], 5, status=409)
        blocking = resp.json['errors'][0]['blocking']
        self.assertEqual([(self.top['id'], 'subtree', 10)],
                         [(b['project_id'], b['scope'], b['limit'])
                          for b in blocking])
        # Raise the top limit in Keystone: seen after the next sync.
        self.ks.update_limit(self.top_limit['id'], 20)
        keystone_engine.sync(self.conf, self.db)
        self.allocate('vm-2', self.mid['id'], 5)
        # Writes through this API are refused in keystone mode.
        resp = self.api.app.post_json('/v1/projects', {'id': 'x'},
                                      headers=af.SYSTEM_ADMIN, status=409)
        self.assertEqual('limits.managed_by_keystone',
                         resp.json['errors'][0]['code'])

    def test_growth_in_a_project_deleted_in_keystone_is_refused(self):
        """Keystone deletes leaf, and its limit of 6 cores with it, while
        leaf holds an allocation: the sync keeps leaf until it is freed.
        A service acting for it (Nova's hook, an admin) still reaches it,
        and a PUT that grew there was accepted past leaf's limit (7
        cores); now it is refused, 409 limits.project_deleted, nothing
        written, and the dry run says the same.  Shrinking and DELETE go
        on, and the next sync removes leaf."""
        leaf = self.leaf['id']

        def left_keystone_at():
            return self.api.app.get(
                '/v1/projects/%s' % leaf, headers=af.SYSTEM_READER).json[
                'project']['left_keystone_at']
        keystone_engine.sync(self.conf, self.db)
        self.allocate('vm-1', leaf, 4)
        self.assertIsNone(left_keystone_at())
        self.ks.delete_project(leaf)
        keystone_engine.sync(self.conf, self.db)
        # Shown: since when leaf is kept.
        self.assertRegex(left_keystone_at(),
                         r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        for consumer, cores in (('vm-1', 7), ('vm-2', 1)):
            error = self.allocate(consumer, leaf, cores,
                                  status=409).json['errors'][0]
            self.assertEqual('limits.project_deleted', error['code'])
            self.assertIn('Project %s was deleted in Keystone' % leaf,
                          error['detail'])
            self.assertIn('can only be reduced, moved to another project '
                          'or deleted', error['detail'])
            error = self.api.app.post_json(
                '/v1/enforce', {'project_id': leaf, 'consumer_id': consumer,
                                'resources': {'cores': cores}},
                headers=af.SERVICE, status=409).json['errors'][0]
            self.assertEqual('limits.project_deleted', error['code'])
        self.assertEqual({'cores': 4}, self.api.app.get(
            '/v1/allocations/vm-1', headers=af.SERVICE).json[
            'allocation']['resources'])
        self.api.app.get('/v1/allocations/vm-2', headers=af.SERVICE,
                         status=404)
        self.allocate('vm-1', leaf, 2)
        self.api.app.delete('/v1/allocations/vm-1', headers=af.SERVICE,
                            status=204)
        keystone_engine.sync(self.conf, self.db)
        self.api.app.get('/v1/projects/%s' % leaf, headers=af.SYSTEM_READER,
                         status=404)

    def test_engine_resyncs_on_keystone_notification(self):
        resyncer = keystone_engine.Resyncer(self.conf, self.db)
        resyncer.start()
        self.addCleanup(resyncer.stop)
        transport = bus.get_notification_transport(self.conf)
        listener = bus.get_notification_listener(
            self.conf, transport, keystone_engine.targets(self.conf),
            [keystone_engine.KeystoneListener(resyncer)], pool='limits')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        new = self.ks.create_project('late', parent_id=self.top['id'])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            resp = self.api.app.get('/v1/projects/%s' % new['id'],
                                    headers=af.SYSTEM_READER,
                                    expect_errors=True)
            if resp.status_int == 200:
                break
            time.sleep(0.5)
        self.assertEqual(200, resp.status_int)
        self.assertEqual(self.top['id'], resp.json['project']['parent_id'])
        self.assertGreaterEqual(resyncer.syncs, 1)


class TestTruncatedKeystoneLists(KeystoneSyncBase):
    """Keystone with ``list_limit`` answers the first projects and
    ``"truncated": true``, with no next link: a sync from that would take
    the others as deleted (removing them and their limits, making their
    children roots).  It is refused, and nothing is written."""

    KEYSTONE_CONFIG = {'DEFAULT': {'list_limit': '2'}}

    def test_sync_from_a_truncated_list_is_refused(self):
        exc = self.assertRaises(keystone_client.TruncatedList,
                                keystone_engine.sync, self.conf, self.db)
        self.assertEqual('projects', exc.key)
        self.assertIn('list_limit', str(exc))
        resp = self.api.app.get('/v1/projects?limit=1000',
                                headers=af.SYSTEM_READER)
        self.assertEqual([], resp.json['projects'])
        stderr = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr.stream))
        self.assertEqual(1, sync_command._sync(service.SPEC, self.conf))
        self.assertIn('truncated', stderr.getDetails()['stderr'].as_text())
