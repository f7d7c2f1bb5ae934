"""The real Keystone and Placement fixtures start and do what tests need.

Each test class starts its server once (``setUpClass``); stestr runs a class
in one worker. These tests fail (they do not skip) when keystone,
openstack-placement or gunicorn are not installed (test-requirements.txt),
and the notification test needs Debian's ``rabbitmq-server``.
"""

import http.client
import queue
import time
import urllib.parse
import uuid

import fixtures
from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg
import oslo_messaging
import requests
import testtools

from svc_common.tests.fixtures import keystone
from svc_common.tests.fixtures import placement
from svc_common.tests.fixtures import rabbitmq

WAIT = 30  # seconds: the most a test waits for a notification


def _start(fixture):
    """setUp a fixture outside a test; raise its own error, not a wrapper."""
    try:
        fixture.setUp()
    except fixtures.MultipleExceptions as exc:
        _type, error, traceback = exc.args[0]
        raise error.with_traceback(traceback)
    return fixture


def _name(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


class TestKeystoneFixture(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keystone = _start(keystone.Keystone())

    @classmethod
    def tearDownClass(cls):
        cls.keystone.cleanUp()
        super().tearDownClass()

    def test_serves_v3_on_loopback(self):
        ks = self.keystone
        self.assertTrue(ks.url.startswith('http://127.0.0.1:'))
        self.assertTrue(ks.url.endswith('/v3'))
        version = requests.get(ks.url, timeout=10).json()['version']
        self.assertEqual('stable', version['status'])
        self.assertTrue(version['id'].startswith('v3.'))

    def test_idle_connection_still_served(self):
        # A client's pooled connection, idle longer than gunicorn's default
        # keep-alive (2 s), is still open: with the default, the server
        # closed it and the next request on it read a reset or nothing.
        url = urllib.parse.urlsplit(self.keystone.url)
        connection = http.client.HTTPConnection(url.hostname, url.port,
                                                timeout=10)
        self.addCleanup(connection.close)
        for _ in range(2):
            connection.request('GET', url.path)
            response = connection.getresponse()
            response.read()
            self.assertEqual(200, response.status)
            time.sleep(3)

    def test_admin_sessions_system_and_project_scoped(self):
        ks = self.keystone
        system = ks.admin_session()
        access = system.auth.get_access(system)
        self.assertTrue(access.system_scoped)
        self.assertIn('admin', access.role_names)
        project = ks.admin_session('project')
        access = project.auth.get_access(project)
        self.assertEqual(ks.admin_project_id, access.project_id)
        # Implied roles, as in every real token.
        self.assertEqual({'admin', 'manager', 'member', 'reader'},
                         set(access.role_names))
        # The catalog holds Keystone itself at the fixture's URL.
        self.assertEqual(ks.url, system.get_endpoint(
            service_type='identity', interface='public',
            region_name='RegionOne'))

    def test_three_level_tree_with_limits(self):
        ks = self.keystone
        root = ks.create_project(_name('root'))
        mid = ks.create_project(_name('mid'), parent_id=root['id'])
        leaf = ks.create_project(_name('leaf'), parent_id=mid['id'])
        self.assertEqual(mid['id'], leaf['parent_id'])
        parents = ks.admin_session().get(
            ks.url + '/projects/%s' % leaf['id'],
            params={'parents_as_ids': ''}).json()['project']['parents']
        self.assertEqual({mid['id']: {root['id']: {'default': None}}},
                         parents)

        service = ks.create_service(_name('limits'), 'limits')
        registered = ks.create_registered_limit(
            service['id'], 'cores', 100, region_id='RegionOne')
        self.assertEqual(100, registered['default_limit'])
        self.assertEqual('RegionOne', registered['region_id'])
        wanted = {root['id']: 50, mid['id']: 20, leaf['id']: 10}
        for project_id, value in wanted.items():
            ks.create_limit(service['id'], project_id, 'cores', value,
                            region_id='RegionOne')
        # Depth 3 is accepted: the model is flat.
        model = ks.admin_session().get(ks.url + '/limits/model').json()
        self.assertEqual('flat', model['model']['name'])

        for project_id, value in wanted.items():
            limits = ks.admin_session().get(
                ks.url + '/limits', params={'project_id': project_id}
            ).json()['limits']
            self.assertEqual(
                [(service['id'], 'cores', value, 'RegionOne')],
                [(limit['service_id'], limit['resource_name'],
                  limit['resource_limit'], limit['region_id'])
                 for limit in limits])

        leaf_limit, = ks.list_limits(project_id=leaf['id'])
        updated = ks.update_limit(leaf_limit['id'], 15)
        self.assertEqual(15, updated['resource_limit'])
        leaf_limit, = ks.list_limits(project_id=leaf['id'])
        self.assertEqual(15, leaf_limit['resource_limit'])
        self.assertEqual([100], [
            limit['default_limit'] for limit in
            ks.list_registered_limits(service_id=service['id'])])

    def test_users_and_roles(self):
        ks = self.keystone
        project = ks.create_project(_name('proj'))
        name = _name('user')
        user = ks.create_user(name, 'secret',
                              roles_on_project={project['id']: ['member']})
        ks.assign_system_role(user['id'], 'reader')

        session = ks.session(name, 'secret', project_id=project['id'])
        access = session.auth.get_access(session)
        self.assertEqual(project['id'], access.project_id)
        self.assertEqual({'member', 'reader'}, set(access.role_names))

        session = ks.session(name, 'secret', system_scope=True)
        access = session.auth.get_access(session)
        self.assertTrue(access.system_scoped)
        self.assertEqual(['reader'], access.role_names)
        # A system reader may read limits but not write them.
        session.get(ks.url + '/limits')
        self.assertRaises(ks_exc.Forbidden, session.post,
                          ks.url + '/projects',
                          json={'project': {'name': _name('no')}})

    def test_fernet_keys_sqlite_and_cache_in_temp_dir(self):
        with open(self.keystone.config_file) as conf:
            text = conf.read()
        base = self.keystone.base_dir
        self.assertIn('sqlite:///%s/keystone.db' % base, text)
        self.assertIn('key_repository = %s/fernet-keys' % base, text)
        self.assertIn('backend = dogpile.cache.memory', text)
        self.assertIn('password_hash_rounds = 4', text)


class TestKeystoneNotifications(testtools.TestCase):
    """Keystone's notifications reach a listener on a real RabbitMQ."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.broker = rabbitmq.get_shared_broker()
        cls.topic = 'keystone_%s' % uuid.uuid4().hex[:8]
        cls.keystone = _start(keystone.Keystone(
            notification_transport_url=cls.broker.url,
            notification_topics=[cls.topic]))

    @classmethod
    def tearDownClass(cls):
        cls.keystone.cleanUp()
        super().tearDownClass()

    def test_project_events_and_no_bootstrap_noise(self):
        conf = cfg.ConfigOpts()
        conf([], project='arbiter-functional', default_config_files=[],
             default_config_dirs=[])
        transport = oslo_messaging.get_notification_transport(
            conf, url=self.broker.url)
        self.addCleanup(transport.cleanup)
        received = queue.Queue()

        class Endpoint(object):
            def info(self, ctxt, publisher_id, event_type, payload,
                     metadata):
                received.put((event_type, payload))

        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic=self.topic)],
            [Endpoint()], executor='threading')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)

        ks = self.keystone
        parent = ks.create_project(_name('parent'))
        child = ks.create_project(_name('child'), parent_id=parent['id'])
        ks.update_project(child['id'], description='changed')
        # Keystone 30 sends nothing about limits: these must not show up.
        service = ks.create_service(_name('limits'), 'limits')
        ks.create_registered_limit(service['id'], 'cores', 5)
        ks.create_limit(service['id'], child['id'], 'cores', 3)
        ks.create_project(_name('last'))

        events = []
        while len([e for e, _p in events
                   if e == 'identity.project.created']) < 3:
            events.append(received.get(timeout=WAIT))
        self.assertEqual(
            [('identity.project.created', parent['id']),
             ('identity.project.created', child['id']),
             ('identity.project.updated', child['id']),
             ('identity.service.created', service['id'])],
            [(event, payload['resource_info'])
             for event, payload in events[:4]])
        self.assertEqual([], [e for e, _p in events
                              if 'limit' in e or e.startswith(
                                  ('identity.domain', 'identity.role'))])


class TestPlacementFixture(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.placement = _start(placement.Placement())

    @classmethod
    def tearDownClass(cls):
        cls.placement.cleanUp()
        super().tearDownClass()

    def test_root_document(self):
        versions = requests.get(self.placement.url, timeout=10).json()
        self.assertEqual('v1.0', versions['versions'][0]['id'])

    def test_allocations_show_up_in_usages(self):
        pl = self.placement
        rp = pl.create_resource_provider(
            _name('cn'), {'VCPU': 16, 'MEMORY_MB': 32768, 'DISK_GB': 500,
                          'CUSTOM_ARBITER_GPU': 2})
        inventories = pl.request(
            'GET', '/resource_providers/%s/inventories' % rp).json()
        self.assertEqual(
            {'VCPU': 16, 'MEMORY_MB': 32768, 'DISK_GB': 500,
             'CUSTOM_ARBITER_GPU': 2},
            {rc: inv['total']
             for rc, inv in inventories['inventories'].items()})

        project, user = uuid.uuid4().hex, uuid.uuid4().hex
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        pl.put_allocations(first, {rp: {'VCPU': 2, 'MEMORY_MB': 2048,
                                        'CUSTOM_ARBITER_GPU': 1}},
                           project_id=project, user_id=user)
        pl.put_allocations(second, {rp: {'VCPU': 4, 'DISK_GB': 40}},
                           project_id=project, user_id=user)
        self.assertEqual({'VCPU': 6, 'MEMORY_MB': 2048, 'DISK_GB': 40,
                          'CUSTOM_ARBITER_GPU': 1}, pl.usages(project))
        self.assertEqual({'INSTANCE': {'VCPU': 6, 'MEMORY_MB': 2048,
                                       'DISK_GB': 40,
                                       'CUSTOM_ARBITER_GPU': 1,
                                       'consumer_count': 2}},
                         pl.usages_by_consumer_type(project))
        self.assertEqual({}, pl.usages(uuid.uuid4().hex))

        # A PUT replaces what the consumer held.
        pl.put_allocations(first, {rp: {'VCPU': 1}}, project_id=project,
                           user_id=user)
        self.assertEqual({'VCPU': 5, 'DISK_GB': 40}, pl.usages(project))

        # More than the inventory holds is refused.
        error = self.assertRaises(
            placement.PlacementError, pl.put_allocations, str(uuid.uuid4()),
            {rp: {'CUSTOM_ARBITER_GPU': 3}}, project_id=project,
            user_id=user)
        self.assertEqual(409, error.status_code)

        pl.delete_allocations(first)
        pl.delete_allocations(second)
        self.assertEqual({}, pl.usages(project))
