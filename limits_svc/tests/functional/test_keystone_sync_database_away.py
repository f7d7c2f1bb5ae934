"""limits-engine (keystone mode) while its PostgreSQL refuses connections
for a while (``ALTER DATABASE ... ALLOW_CONNECTIONS false``): the Keystone
notification that arrives meanwhile is not lost (the listener only marks
the copy stale; it does not use the database), the resync thread tries
again every few seconds, the outage logged once (a warning when it
starts, an info line when it ends), and the project Keystone announced
is in the copy once the database is back."""

import os
import time

import fixtures
import sqlalchemy as sa
import testtools

from limits_svc import keystone_engine
from limits_svc import service
from svc_common import config
from svc_common.db import database
from svc_common.db import migration
from svc_common.messaging import bus
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import keystone as keystone_fixture
from svc_common.tests.fixtures import postgresql
from svc_common.tests.fixtures import rabbitmq


class TestResyncWhileDatabaseAway(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = self.useFixture(rabbitmq.SharedRabbitMQ())
        self.ks = self.useFixture(keystone_fixture.Keystone(
            notification_transport_url=self.broker.url))
        self.database = self.useFixture(postgresql.Database())
        tmp = self.useFixture(fixtures.TempDir()).path
        conf_file = os.path.join(tmp, 'limits.conf')
        with open(conf_file, 'w') as f:
            f.write('[limits]\nmode = keystone\n'
                    '[keystone]\nauth_type = password\nauth_url = %s\n'
                    'username = admin\npassword = %s\n'
                    'user_domain_id = default\nsystem_scope = all\n'
                    'resync_interval = 0\n'
                    % (self.ks.url, self.ks.admin_password))
        overrides = {('database', 'connection'): self.database.url,
                     (None, 'transport_url'): self.broker.url}
        self.conf = config.build_conf(
            service.SPEC, default_config_files=[conf_file],
            overrides=overrides)
        migration.upgrade(service.SPEC, self.conf.database.connection)
        self.db = database.Database(self.conf)
        self.addCleanup(self.db.dispose)
        api_overrides = dict(overrides)
        api_overrides[('limits', 'mode')] = 'keystone'
        self.api = self.useFixture(af.ServiceApp(
            service.SPEC, overrides=api_overrides))
        self.admin = sa.create_engine(
            postgresql.shared_server().admin_url,
            isolation_level='AUTOCOMMIT')
        self.addCleanup(self.admin.dispose)

    def allow_connections(self, allowed):
        with self.admin.connect() as conn:
            conn.execute(sa.text(
                'ALTER DATABASE "%s" ALLOW_CONNECTIONS %s'
                % (self.database.name, 'true' if allowed else 'false')))
            if not allowed:
                conn.execute(sa.text(
                    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                    'WHERE datname = :name'), {'name': self.database.name})

    def test_a_keystone_notification_waits_for_the_database(self):
        keystone_engine.sync(self.conf, self.db)
        resyncer = keystone_engine.Resyncer(self.conf, self.db)
        resyncer.start()
        self.addCleanup(resyncer.stop)
        transport = bus.get_notification_transport(self.conf)
        self.addCleanup(transport.cleanup)
        listener = bus.get_notification_listener(
            self.conf, transport, keystone_engine.targets(self.conf),
            [keystone_engine.KeystoneListener(resyncer)], pool='limits')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        log = self.useFixture(fixtures.FakeLogger())
        self.allow_connections(False)
        self.addCleanup(self.allow_connections, True)
        new = self.ks.create_project('late')
        deadline = time.monotonic() + 30
        while ('Sync from Keystone failed' not in log.output and
               time.monotonic() < deadline):
            time.sleep(0.1)
        time.sleep(6)
        # One line for the outage, not one per attempt every 5 s.
        failed = log.output.count('Sync from Keystone failed')
        self.assertEqual(1, failed, log.output)
        self.assertIn('the database failed (', log.output)
        self.assertNotIn('Traceback', log.output)
        self.allow_connections(True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            resp = self.api.app.get('/v1/projects/%s' % new['id'],
                                    headers=af.SYSTEM_READER,
                                    expect_errors=True)
            if resp.status_int == 200:
                break
            time.sleep(0.5)
        self.assertEqual(200, resp.status_int)
        self.assertEqual(1, log.output.count(
            'Sync from Keystone succeeded again'), log.output)
        self.assertNotIn('Traceback', log.output)
