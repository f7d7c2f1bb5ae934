"""The openstack driver's create and server listing, with Nova's answers
stood in for (a test double: the real Nova runs in test_real_nova, where
a build's BUILD phase and Nova's page limit are not under the test's
control)."""

import datetime
import json
import socket
import threading
import types

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import plugin as ks_plugin
from keystoneauth1 import session as ks_session
import testtools

from reaper_svc.conf import clouds as clouds_conf
from reaper_svc.drivers import base
from reaper_svc.drivers import openstack
from reaper_svc import service
from svc_common import config
from svc_common import outage
from svc_common.tests.fixtures import ports


class _Answer(object):

    def __init__(self, body):
        self.body = body

    def json(self):
        return self.body


class _Nova(openstack.OpenStackCloud):
    """Only what create() and the server listing use.

    :param servers: the servers Nova lists, oldest first
    :param max_limit: Nova's ``[api] max_limit``: the most servers it
        returns per page, whatever ``limit`` asks
    :param builds: how many listings of the reservation show it in BUILD
    """

    def __init__(self, servers=(), max_limit=1000, page_size=1000,
                 builds=2, outcome=('ACTIVE', 'ACTIVE'), fault=None):
        self.conf = types.SimpleNamespace(nova=types.SimpleNamespace(
            page_size=page_size, create_timeout=60))
        self.servers = list(servers)
        self.max_limit = max_limit
        self.builds = builds
        #: The status of each new server once built, and the fault of
        #: those in ERROR.
        self.outcome = outcome
        self.fault = fault
        self.calls = []

    def _nova(self, method, path, **kwargs):
        self.calls.append((method, path, dict(kwargs.get('params') or {})))
        if path == '/flavors/detail':
            return _Answer({'flavors': [{'id': 'f1', 'name': 'p1'}]})
        if method == 'POST':
            self.servers = [{'id': 'new-%d' % (n + 1)}
                            for n in range(len(self.outcome))]
            return _Answer({'reservation_id': 'r-1'})
        if method == 'DELETE':
            return _Answer({})
        params = kwargs['params']
        if 'reservation_id' in params:
            self.builds -= 1
            return _Answer({'servers': [
                dict(s, status='BUILD' if self.builds >= 0 else status,
                     fault=self.fault if status == 'ERROR' else None)
                for s, status in zip(self.servers, self.outcome)]})
        ids = [s['id'] for s in self.servers]
        start = ids.index(params['marker']) + 1 if 'marker' in params else 0
        limit = min(params['limit'], self.max_limit)
        page = self.servers[start:start + limit]
        body = {'servers': page}
        if len(page) == limit:
            # Nova links to the next page when this one is full.
            body['servers_links'] = [{'rel': 'next', 'href': (
                '/servers/detail?marker=%s' % page[-1]['id'])}]
        return _Answer(body)


class TestCreate(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # The driver waits a second between two looks at the build.
        self.useFixture(fixtures.MockPatch(
            'reaper_svc.drivers.openstack.time.sleep'))

    def test_the_new_ids_are_given_before_the_build_is_over(self):
        nova = _Nova(builds=2)
        seen = []

        def on_created(ids):
            # Nova still shows them building.
            seen.append((list(ids), nova.builds >= 0))

        self.assertEqual(['new-1', 'new-2'], nova.create(
            'p', 'job', 'p1', 2, 2, on_created=on_created))
        self.assertEqual([(['new-1', 'new-2'], True)], seen)

    def deleted(self, nova):
        return [path.rsplit('/', 1)[-1] for method, path, _ in nova.calls
                if method == 'DELETE']

    def test_no_room_leaves_no_server_in_error(self):
        # Nova keeps the servers it found no room for, in ERROR, in the
        # user's project and quota: each pass that tried again left more.
        nova = _Nova(outcome=('ERROR', 'ERROR'),
                     fault={'message': 'No valid host was found. '})
        self.assertRaises(base.NoValidHost, nova.create, 'p', 'job', 'p1',
                          2, 2)
        self.assertEqual(['new-1', 'new-2'], self.deleted(nova))

    def test_a_build_half_failed_leaves_nothing(self):
        nova = _Nova(outcome=('ACTIVE', 'ERROR'),
                     fault={'message': 'Build of instance aborted'})
        self.assertRaises(base.DriverError, nova.create, 'p', 'job', 'p1',
                          2, 2)
        self.assertEqual(['new-1', 'new-2'], self.deleted(nova))

    def test_a_build_that_outlasts_the_timeout_leaves_nothing(self):
        nova = _Nova(builds=10 ** 6)
        nova.conf.nova.create_timeout = 0
        self.assertRaises(base.DriverError, nova.create, 'p', 'job', 'p1',
                          2, 2)
        self.assertEqual(['new-1', 'new-2'], self.deleted(nova))

    def test_a_partial_request_keeps_what_was_built(self):
        # At least min_count built: those in ERROR go, the others are
        # the request's (they were left running, the request failed).
        nova = _Nova(outcome=('ACTIVE', 'ERROR', 'ACTIVE'),
                     fault={'message': 'Build of instance aborted'})
        self.assertEqual(['new-1', 'new-3'],
                         nova.create('p', 'job', 'p1', 3, 1))
        self.assertEqual(['new-2'], self.deleted(nova))


class TestServerListing(testtools.TestCase):

    SERVERS = [{'id': 's%d' % i} for i in range(7)]

    def listed(self, **kwargs):
        nova = _Nova(self.SERVERS, **kwargs)
        return [s['id'] for s in nova._servers()], len(nova.calls)

    def test_every_page_when_nova_returns_fewer_than_asked(self):
        # [nova] page_size above Nova's [api] max_limit: its pages are
        # shorter than asked, and the first used to be taken for the
        # last (the snapshot missed every server after it).
        self.assertEqual(([s['id'] for s in self.SERVERS], 4),
                         self.listed(max_limit=2, page_size=5))

    def test_a_short_page_without_a_next_link_is_the_last(self):
        self.assertEqual(([s['id'] for s in self.SERVERS], 2),
                         self.listed(max_limit=10, page_size=5))
        self.assertEqual(([s['id'] for s in self.SERVERS], 1),
                         self.listed(max_limit=10, page_size=10))


class TestTimeout(testtools.TestCase):

    def test_a_nova_that_never_answers_is_a_driver_error(self):
        # keystoneauth1 waits for ever by default: the engine's planning
        # (every trigger waits for it) or an API worker waited with it.
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.useFixture(fixtures.MockPatchObject(
            clouds_conf, 'DEFAULT_TIMEOUT', 1))
        conf = config.build_conf(service.SPEC, args=[])
        url = self.useFixture(ports.HangingPort()).url
        for group in (clouds_conf.NOVA, clouds_conf.PLACEMENT):
            conf.set_override('auth_type', 'none', group)
            conf.set_override('endpoint_override', url, group)
        driver = openstack.from_conf(conf)
        self.assertEqual(1, conf.nova.timeout)
        self.assertRaises(base.DriverError, driver.flavors)
        self.assertRaises(base.DriverError, driver.cluster)

    def test_the_config_generator_shows_the_default(self):
        for group, opts in clouds_conf.list_opts():
            [timeout] = [opt for opt in opts if opt.dest == 'timeout']
            self.assertEqual(clouds_conf.DEFAULT_TIMEOUT, timeout.default,
                             group)


class _OneServer(openstack.OpenStackCloud):
    """Nova answering ``GET /servers/{id}`` (microversion 2.73: the
    flavor embedded, with its extra specs)."""

    def __init__(self, servers):
        self.preemptible_spec = 'arbiter:preemptible'
        self.priority_spec = 'arbiter:preemption_priority'
        self.servers = servers

    def _nova(self, method, path, **kwargs):
        server_id = path.rsplit('/', 1)[-1]
        if (method, path) != ('GET', '/servers/%s' % server_id) or (
                server_id not in self.servers):
            raise base.ServerNotFound('no server %s' % server_id)
        return _Answer({'server': self.servers[server_id]})


class TestOneServer(testtools.TestCase):
    """What the reaper checks a victim against just before deleting it:
    the server read on its own, as a snapshot would show it."""

    FLAVOR = {'vcpus': 2, 'ram': 512, 'disk': 10, 'ephemeral': 0,
              'swap': 0, 'extra_specs': {'arbiter:preemptible': 'true'}}

    def nova(self):
        return _OneServer({
            'v1': {'id': 'v1', 'tenant_id': 'physics',
                   'OS-EXT-SRV-ATTR:hypervisor_hostname': 'cmp1',
                   'created': '2030-01-01T10:00:00Z', 'flavor': self.FLAVOR},
            'v2': {'id': 'v2', 'tenant_id': 'physics',
                   'OS-EXT-SRV-ATTR:host': 'cmp2',
                   'flavor': dict(self.FLAVOR, extra_specs={})}})

    def test_its_flavor_says_whether_it_is_preemptible(self):
        nova = self.nova()
        first, second = nova.server('v1'), nova.server('v2')
        self.assertEqual(
            ('cmp1', 'physics', {'VCPU': 2, 'MEMORY_MB': 512,
                                 'DISK_GB': 10}, True),
            (first.host, first.project_id, dict(first.resources),
             first.preemptible))
        self.assertEqual(('cmp2', False), (second.host, second.preemptible))
        self.assertRaises(base.ServerNotFound, nova.server, 'gone')

    def test_its_recorded_guarantee_is_applied(self):
        nova = self.nova()
        until = datetime.datetime(2030, 1, 1, 12, 0, 0)
        nova.set_guarantee_source(lambda: {'v1': until})
        self.assertEqual((until, None),
                         (nova.server('v1').guaranteed_until,
                          nova.server('v2').guaranteed_until))


class TestServersWithMetadata(testtools.TestCase):

    def test_a_nova_that_ignores_the_project_filter(self):
        """What is found may be deleted: a server of another project is
        never in it, whatever Nova (or its policy) did of the filter."""
        tag = {'arbiter:pending_request': 'r1'}
        nova = _Nova([
            {'id': 'mine', 'tenant_id': 'physics', 'status': 'ACTIVE',
             'user_id': 'reaper', 'created': '2030-01-01T10:00:00Z',
             'metadata': dict(tag, **{'arbiter:build_token': 't'})},
            {'id': 'theirs', 'tenant_id': 'chemistry', 'status': 'ACTIVE',
             'metadata': dict(tag)},
            {'id': 'untagged', 'tenant_id': 'physics', 'status': 'ACTIVE',
             'metadata': {}}])
        found = nova.servers_with_metadata(
            'physics', 'arbiter:pending_request', 'r1')
        self.assertEqual([{'id': 'mine', 'status': 'ACTIVE',
                           'project_id': 'physics', 'user_id': 'reaper',
                           'created_at': datetime.datetime(2030, 1, 1, 10),
                           'metadata': dict(
                               tag, **{'arbiter:build_token': 't'})}],
                         found)

    def test_every_value_of_the_key_in_one_listing(self):
        """Without a value: the project's servers that have the key,
        whatever its value (one listing for every request of the
        project), every page read; still never another project's."""
        nova = _Nova([
            {'id': 'a', 'tenant_id': 'physics', 'status': 'ACTIVE',
             'metadata': {'arbiter:pending_request': 'r1'}},
            {'id': 'b', 'tenant_id': 'physics', 'status': 'ACTIVE',
             'metadata': {}},
            {'id': 'c', 'tenant_id': 'chemistry', 'status': 'ACTIVE',
             'metadata': {'arbiter:pending_request': 'r1'}},
            {'id': 'd', 'tenant_id': 'physics', 'status': 'ACTIVE',
             'metadata': {'arbiter:pending_request': 'r2'}}], max_limit=1)
        found = nova.servers_with_metadata('physics',
                                           'arbiter:pending_request')
        self.assertEqual(['a', 'd'], [s['id'] for s in found])
        self.assertEqual(1, len([c for c in nova.calls
                                 if 'marker' not in c[2]]))


class _Identity(ks_plugin.BaseAuthPlugin):
    """A session's user, as Keystone would tell it (None: Keystone
    refuses the credentials)."""

    def __init__(self, user_id):
        super().__init__()
        self.user_id = user_id

    def get_user_id(self, session, **kwargs):
        if self.user_id is None:
            raise ks_exc.Unauthorized('The request you have made requires '
                                      'authentication.')
        return self.user_id


class TestCreator(testtools.TestCase):
    """The user Nova makes the servers of a create the servers of: the
    promoter takes as its own only servers of that user."""

    def nova(self, user_id):
        conf = types.SimpleNamespace(preemption=types.SimpleNamespace(
            preemptible_extra_spec='x', priority_extra_spec='y'))
        return openstack.OpenStackCloud(conf, ks_adapter.Adapter(
            ks_session.Session(auth=_Identity(user_id))), None)

    def test_the_reaper_or_the_trustor(self):
        nova = self.nova('reaper')
        self.assertEqual('reaper', nova.creator())
        self.assertEqual('alice', nova.creator(auth=_Identity('alice')))

    def test_keystone_refusing_is_a_driver_error(self):
        self.assertRaises(base.DriverError, self.nova(None).creator)


class TestCreateSentOnce(testtools.TestCase):
    """With ``[nova] connect_retries`` set, keystoneauth1 sent the create
    again after its connection closed once it was sent, and raised only
    the last failure: a refused connection, which tells the promoter
    that Nova never got the create (so it is queued again and may be
    built twice)."""

    def nova_that_closes_on_create(self):
        """A Nova on 127.0.0.1 that answers the flavor list, reads the
        create and closes its connection, then stops listening."""
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(2)
        flavors = json.dumps({'flavors': [{'id': 'f1', 'name': 'p1'}]})

        def serve():
            try:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall((
                        'HTTP/1.1 200 OK\r\nContent-Type: application/json'
                        '\r\nContent-Length: %d\r\nConnection: close\r\n'
                        '\r\n%s' % (len(flavors), flavors)).encode())
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
            finally:
                listener.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        return 'http://127.0.0.1:%d' % listener.getsockname()[1]

    def test_a_create_is_never_sent_again(self):
        conf = types.SimpleNamespace(
            preemption=types.SimpleNamespace(preemptible_extra_spec='x',
                                             priority_extra_spec='y'),
            nova=types.SimpleNamespace(page_size=10, create_timeout=5))
        nova = openstack.OpenStackCloud(conf, ks_adapter.Adapter(
            ks_session.Session(), service_type='compute',
            endpoint_override=self.nova_that_closes_on_create(),
            connect_retries=2, connect_retry_delay=0.01), None)
        error = self.assertRaises(base.DriverError, nova.create,
                                  'physics', 'job', 'p1', 1, 1, image='img')
        self.assertFalse(outage.never_received(error))
        self.assertTrue(outage.remote_unreachable(error))
