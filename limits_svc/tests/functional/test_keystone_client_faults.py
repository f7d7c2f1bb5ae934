"""limits_svc's Keystone client when Keystone hangs or misleads.

A port on 127.0.0.1 that takes connections and never answers plays a hung
Keystone; the client is built from a ``[keystone]`` group as
``limits-manage sync`` and ``limits-engine`` build it.
"""

import json
import logging
import threading
import time

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg
import sqlalchemy
import testtools

from limits_svc.clients import keystone as keystone_client
from limits_svc.conf import keystone as keystone_conf
from limits_svc import keystone_engine
from limits_svc import service
from limits_svc.tests.functional import test_clients
from svc_common import config
from svc_common.db import migration
from svc_common.tests.fixtures import backends
from svc_common.tests.fixtures import ports


class TestHungKeystone(testtools.TestCase):

    def test_a_sync_gives_up_after_the_timeout(self):
        # keystoneauth1 waits for ever by default: a sync held the
        # engine's graceful stop (it joins the sync) and its leader lock,
        # or limits-manage sync, as long as Keystone hung.
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.useFixture(fixtures.MockPatchObject(
            keystone_conf, 'DEFAULT_TIMEOUT', 1))
        conf = cfg.ConfigOpts()
        conf([])
        keystone_conf.register_opts(conf)
        conf.set_override('endpoint_override',
                          self.useFixture(ports.HangingPort()).url + '/v3',
                          group=keystone_conf.GROUP)
        self.assertEqual(1, conf[keystone_conf.GROUP].timeout)
        started = time.monotonic()
        self.assertRaises(ks_exc.ConnectTimeout, keystone_client.fetch,
                          keystone_client.adapter_from_conf(conf))
        self.assertLess(time.monotonic() - started, 10)

    def test_the_default_timeout_is_in_the_sample(self):
        [(group, opts)] = keystone_conf.list_opts()
        [timeout] = [opt for opt in opts if opt.dest == 'timeout']
        self.assertEqual(keystone_conf.DEFAULT_TIMEOUT, timeout.default)


class PagingKeystone:
    """WSGI stand-in for Keystone's v3 lists whose ``links.next`` is the
    test's: ``next_for(path, query)`` gives the next link of a page (None
    for the last)."""

    def __init__(self, next_for):
        self.next_for = next_for
        self.requests = 0

    def __call__(self, environ, start_response):
        self.requests += 1
        path = environ['PATH_INFO']
        key = path.rsplit('/', 1)[1]
        body = {key: [{'id': '%s-%d' % (key, self.requests)}],
                'links': {'next': self.next_for(
                    path, environ.get('QUERY_STRING', ''))}}
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [json.dumps(body).encode()]


class TestKeystoneLinks(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))

    def serve(self, next_for):
        self.keystone = PagingKeystone(next_for)
        self.url = self.useFixture(
            test_clients.LoopbackServer(self.keystone)).url
        return ks_adapter.Adapter(ks_session.Session(auth=None, timeout=5),
                                  endpoint_override=self.url + '/v3')

    def test_pages_are_followed(self):
        def next_for(path, query):
            if query:
                return None
            return '%s%s?marker=x' % (self.url, path)
        projects, registered, limits = keystone_client.fetch(
            self.serve(next_for))
        self.assertEqual(2, len(projects))

    def test_a_next_link_back_to_a_page_read_is_refused(self):
        # A Keystone (or a proxy) whose next link points back to the same
        # page: the sync read it for ever, its list growing without end,
        # and held the engine's leader lock and graceful stop.
        adapter = self.serve(lambda path, query: self.url + path)
        exc = self.assertRaises(keystone_client.BadList,
                                keystone_client.fetch, adapter)
        self.assertIn('projects', str(exc))
        self.assertLess(self.keystone.requests, 5)

    def test_a_next_link_to_another_host_is_refused(self):
        # The next request carries the service user's token: it must not
        # go anywhere but the Keystone the catalog gave.
        other = self.useFixture(ports.HangingPort()).url
        adapter = self.serve(lambda path, query: other + path)
        self.assertRaises(keystone_client.BadList, keystone_client.fetch,
                          adapter)
        self.assertEqual(1, self.keystone.requests)

    def test_a_page_that_is_not_keystones(self):
        # A proxy's page at the identity endpoint: limits-manage sync
        # ended in a traceback (ValueError, KeyError) instead of a line
        # saying why.
        for content_type, body in (('text/html', b'<html>Welcome</html>'),
                                   ('application/json', b'{"items": []}'),
                                   ('application/json', b'[]')):
            def app(environ, start_response, content_type=content_type,
                    body=body):
                start_response('200 OK', [('Content-Type', content_type)])
                return [body]

            url = self.useFixture(test_clients.LoopbackServer(app)).url
            adapter = ks_adapter.Adapter(
                ks_session.Session(auth=None, timeout=5),
                endpoint_override=url + '/v3')
            exc = self.assertRaises(keystone_client.BadList,
                                    keystone_client.fetch, adapter)
            self.assertIn('projects', str(exc))


class TestResyncWhileKeystoneFails(testtools.TestCase):
    """limits-engine's resync thread while Keystone cannot be read: down,
    answering errors, refusing the service user.  It tries again every
    few seconds.  It logged keystoneauth1's traceback every 5 s for as
    long as Keystone failed, then a warning line at every attempt; an
    outage (down, 5xx) is now one warning when it starts and one info
    line when it ends, a refusal (403) a warning at each attempt."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.useFixture(fixtures.MockPatchObject(
            keystone_engine, 'RETRY_DELAY', 0.05))
        url = 'sqlite:///%s/limits.sqlite' % self.useFixture(
            fixtures.TempDir()).path
        migration.upgrade(service.SPEC, url)
        self.db = backends.database_at(self, url)
        self.conf = config.build_conf(service.SPEC, overrides={
            ('limits', 'mode'): 'keystone',
            ('database', 'connection'): self.db.url})
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(levelname)s %(message)s'))

    def lines(self, level):
        """The lines logged at ``level`` about the sync."""
        return [line for line in self.log.output.splitlines()
                if line.startswith(level + ' ') and
                'Sync from Keystone' in line]

    def attempts(self):
        """Attempts of the resync thread so far (each a line, at some
        level)."""
        return len([line for line in self.log.output.splitlines()
                    if 'Sync from Keystone failed' in line])

    def resync(self, adapter, until):
        """Start a resync thread on ``adapter`` and wait until
        ``until()``; the thread."""
        resyncer = keystone_engine.Resyncer(self.conf, self.db, adapter)
        resyncer.start()
        self.addCleanup(resyncer.stop)
        resyncer.mark_stale()
        deadline = time.monotonic() + 30
        while not until() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(until(), self.log.output)
        return resyncer

    def failed_syncs(self, adapter):
        """The warnings of a resync thread that failed five times."""
        resyncer = self.resync(adapter, lambda: self.attempts() >= 5)
        resyncer.stop()
        self.assertEqual(0, resyncer.syncs)
        self.assertNotIn('Traceback', self.log.output)
        return self.lines('WARNING')

    def answering(self, status):
        def app(environ, start_response):
            start_response(status, [('Content-Type', 'application/json')])
            return [b'{"error": {"message": "no"}}']
        url = self.useFixture(test_clients.LoopbackServer(app)).url
        return ks_adapter.Adapter(ks_session.Session(auth=None, timeout=5),
                                  endpoint_override=url + '/v3')

    def test_keystone_down(self):
        adapter = ks_adapter.Adapter(
            ks_session.Session(auth=None, timeout=5),
            endpoint_override='http://127.0.0.1:%d/v3' % ports.free_port())
        warnings = self.failed_syncs(adapter)
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('Sync from Keystone failed, a service it depends on '
                      'failed (ConnectFailure: ', warnings[0])
        self.assertIn('it is tried again every', warnings[0])

    def test_keystone_answering_server_errors(self):
        warnings = self.failed_syncs(
            self.answering('503 Service Unavailable'))
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('(ServiceUnavailable: ', warnings[0])

    def test_keystone_refusing_the_service_user(self):
        # Not an outage: it will not pass by itself, and says so at
        # each attempt.
        warnings = self.failed_syncs(self.answering('403 Forbidden'))
        self.assertGreaterEqual(len(warnings), 5)
        self.assertIn('Keystone could not be read (Forbidden: ',
                      warnings[0])

    def test_the_end_of_an_outage_is_one_info_line(self):
        """Keystone answers 503 for a while and then the lists: one
        warning, debug lines for the attempts in between, one info line
        once a sync succeeds."""
        failing = threading.Event()
        failing.set()

        def app(environ, start_response):
            if failing.is_set():
                start_response('503 Service Unavailable',
                               [('Content-Type', 'application/json')])
                return [b'{"error": {"message": "restarting"}}']
            name = environ['PATH_INFO'].strip('/').split('/')[-1]
            start_response('200 OK', [('Content-Type', 'application/json')])
            return [json.dumps({name: [], 'links': {'next': None}}).encode()]

        url = self.useFixture(test_clients.LoopbackServer(app)).url
        adapter = ks_adapter.Adapter(ks_session.Session(auth=None, timeout=5),
                                     endpoint_override=url + '/v3')
        resyncer = self.resync(adapter, lambda: self.attempts() >= 4)
        failing.clear()
        deadline = time.monotonic() + 30
        while not resyncer.syncs and time.monotonic() < deadline:
            time.sleep(0.05)
        resyncer.stop()
        self.assertEqual(1, resyncer.syncs)
        self.assertEqual(1, len(self.lines('WARNING')), self.log.output)
        self.assertGreaterEqual(len(self.lines('DEBUG')), 3)
        ended = self.lines('INFO')
        self.assertEqual(1, len(ended), self.log.output)
        self.assertRegex(ended[0], r'Sync from Keystone succeeded again, '
                                   r'after \d+ failure\(s\)')
        self.assertNotIn('Traceback', self.log.output)

    def test_an_answer_refused_after_an_outage_is_no_success(self):
        """Keystone answers 503, then a list that is not one: the sync
        is refused; it logged 'succeeded again' before the refusal."""
        failing = threading.Event()
        failing.set()

        def app(environ, start_response):
            if failing.is_set():
                start_response('503 Service Unavailable',
                               [('Content-Type', 'application/json')])
                return [b'{"error": {"message": "restarting"}}']
            name = environ['PATH_INFO'].strip('/').split('/')[-1]
            start_response('200 OK', [('Content-Type', 'application/json')])
            return [json.dumps({name: 'none', 'links': {}}).encode()]

        url = self.useFixture(test_clients.LoopbackServer(app)).url
        adapter = ks_adapter.Adapter(ks_session.Session(auth=None, timeout=5),
                                     endpoint_override=url + '/v3')
        resyncer = self.resync(adapter, lambda: self.attempts() >= 2)
        failing.clear()
        resyncer.mark_stale()
        deadline = time.monotonic() + 30
        while not self.lines('ERROR') and time.monotonic() < deadline:
            time.sleep(0.05)
        resyncer.stop()
        self.assertEqual(0, resyncer.syncs)
        self.assertNotIn('succeeded again', self.log.output)
        lines = [line for line in self.log.output.splitlines()
                 if line.startswith(('ERROR ', 'INFO '))
                 and 'Sync from Keystone' in line]
        self.assertTrue(lines[0].startswith(
            'ERROR Sync from Keystone refused: '), lines)
        self.assertRegex(lines[1], r'^INFO Sync from Keystone reaches '
                                   r'Keystone again \(its answer was '
                                   r'refused, see the error before\), '
                                   r'after \d+ failure\(s\)$')

    def test_keystone_away_after_the_database_is_a_new_warning(self):
        """The database away, then back while Keystone is away, with no
        sync between: the second outage was only debug lines."""
        failures = [sqlalchemy.exc.OperationalError(
            None, None, Exception('connection refused'))] * 2 + [
            ks_exc.ConnectFailure('Unable to establish connection')] * 2

        def sync(conf, db, adapter):
            if failures:
                raise failures.pop(0)

        self.useFixture(fixtures.MockPatchObject(keystone_engine, 'sync',
                                                 sync))
        resyncer = self.resync(None, lambda: bool(self.lines('INFO')))
        resyncer.stop()
        warnings = self.lines('WARNING')
        self.assertEqual(2, len(warnings), self.log.output)
        self.assertIn('Sync from Keystone failed, the database failed',
                      warnings[0])
        self.assertIn('(ConnectFailure: Unable to establish connection); '
                      'it is tried again every', warnings[1])
        self.assertIn('after 2 failure(s) of another kind', warnings[1])
        self.assertRegex(self.lines('INFO')[0],
                         r'Sync from Keystone succeeded again, after 2 '
                         r'failure\(s\)')


class CatalogKeystone:
    """WSGI stand-in for a Keystone whose catalog has the identity
    endpoint at ``{url}/public/v3`` and ``{url}/internal/v3`` (and
    ``admin``): it answers tokens, version discovery and the lists, and
    records the paths asked."""

    def __init__(self):
        self.url = None
        self.paths = []

    def __call__(self, environ, start_response):
        path = environ['PATH_INFO']
        self.paths.append(path)
        if path == '/v3/auth/tokens':
            token = ks_fixture.V3Token()
            token.set_project_scope()
            service = token.add_service('identity')
            service.add_standard_endpoints(**{
                interface: '%s/%s/v3' % (self.url, interface)
                for interface in ('public', 'internal', 'admin')})
            start_response('201 Created', [
                ('Content-Type', 'application/json'),
                ('X-Subject-Token', 'token')])
            return [json.dumps(token).encode()]
        parts = path.strip('/').split('/')
        if len(parts) == 2:
            body = {'version': {'id': 'v3.14', 'status': 'stable',
                                'links': [{'rel': 'self', 'href': '%s/%s/'
                                           % (self.url, path.strip('/'))}]}}
        else:
            body = {parts[-1]: [], 'links': {'next': None}}
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [json.dumps(body).encode()]


class TestKeystoneAdapterOptions(testtools.TestCase):
    """The ``[keystone]`` adapter options decide which identity endpoint
    the sync reads; ``valid_interfaces = internal`` was ignored (always
    the public one) and ``version = 3`` was a TypeError at every sync."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.keystone = CatalogKeystone()
        self.keystone.url = self.useFixture(
            test_clients.LoopbackServer(self.keystone)).url

    def fetched_from(self, **options):
        conf = cfg.ConfigOpts()
        conf([])
        keystone_conf.register_opts(conf)
        conf.register_opts(ks_loading.get_auth_plugin_conf_options(
            'v3password'), group=keystone_conf.GROUP)
        values = dict({'auth_type': 'v3password',
                       'auth_url': self.keystone.url + '/v3',
                       'username': 'limits', 'password': 'secret',
                       'user_domain_id': 'default'}, **options)
        for name, value in values.items():
            conf.set_override(name, value, group=keystone_conf.GROUP)
        del self.keystone.paths[:]
        self.assertEqual(([], [], []), keystone_client.fetch(
            keystone_client.adapter_from_conf(conf)))
        return sorted({path.split('/')[1] for path in self.keystone.paths
                       if path.endswith(('/projects', '/limits'))})

    def test_the_public_endpoint_by_default(self):
        self.assertEqual(['public'], self.fetched_from())

    def test_valid_interfaces(self):
        self.assertEqual(['internal'], self.fetched_from(
            valid_interfaces=['internal']))
        self.assertEqual(['admin'], self.fetched_from(
            valid_interfaces=['admin', 'public']))

    def test_a_version(self):
        self.assertEqual(['internal'], self.fetched_from(
            valid_interfaces=['internal'], version='3'))
