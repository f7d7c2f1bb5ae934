"""The Nova hook when the limits service, or the way to it, misbehaves.

The limits service is the real one (``test_clients.ClientsTestCase``: the
whole WSGI application over loopback HTTP, reached through a real
keystoneauth1 session); only Nova is a test double: the calls below are
those Nova's API and conductor make at the points the hook documents, with
flavors and instances as plain namespaces. What goes wrong is played by
:class:`Faults`, a WSGI middleware in front of the real application, or by
a port that takes connections and never answers.

The invariants are Nova's: never over-commit, and never leak a claim (a
boot that failed keeps nothing, and nothing is counted twice).
"""

import io
import json
import socket
import threading
import time
import types

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from oslo_config import cfg
import oslo_messaging
import testtools

from limits_svc.clients import limits
from limits_svc.hooks import nova
from limits_svc.tests.functional import test_clients
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import ports

FLAVOR = types.SimpleNamespace(vcpus=2, memory_mb=1024, root_gb=10,
                               ephemeral_gb=0, swap=0)


class Faults:
    """WSGI middleware: the real API answers, then a fault replaces or
    delays its answer, for the ``nth`` request whose method and path
    prefix are given (counted from 1).

    ``fault`` is ``'slow'`` (the service did the work; its answer comes
    ``delay`` seconds later, past the client's timeout), an HTTP status
    line, answered with an HTML page as a proxy in front of the service
    would (the service did the work; the proxy lost its answer), or a
    ``(status line, content type, body)`` answered instead of the
    service's. With ``reach=False`` the request never reaches the service.
    ``'late'`` hands the request to the service only ``delay`` seconds
    after it came (a slow network or a busy service: the client gave up
    before the service did the work); :attr:`landed` is set once the
    service answered it. ``'deferred'`` is ``'late'`` without the wait:
    a proxy answers ``504`` at once and keeps the request, which reaches
    the service only when the test calls :meth:`land`.
    """

    def __init__(self, app, delay=2.0):
        self.app = app
        #: How long ``'slow'`` and ``'late'`` wait unless armed otherwise.
        self.delay = delay
        self.lock = threading.Lock()
        self.rule = None
        self.seen = 0
        self.landed = threading.Event()
        #: ``(path, environ, body)`` of the deferred requests, in order.
        self.deferred = []

    def land(self, index=0):
        """Hand a deferred request to the service at last.

        :returns: ``(path, status line)`` of the service's answer.
        """
        path, environ, body = self.deferred.pop(index)
        environ['wsgi.input'] = io.BytesIO(body)
        answer = {}

        def keep(status, headers, exc_info=None):
            answer['status'] = status
            return lambda data: None

        b''.join(self.app(environ, keep))
        return path, answer['status']

    def arm(self, method, prefix, nth, fault, delay=None, reach=True):
        if delay is None:
            delay = self.delay
        with self.lock:
            self.rule = (method, prefix, nth, fault, delay, reach)
            self.seen = 0

    def disarm(self):
        with self.lock:
            self.rule = None

    def _fault_for(self, environ):
        with self.lock:
            if self.rule is None:
                return None
            method, prefix, nth, fault, delay, reach = self.rule
            if (environ['REQUEST_METHOD'] != method or
                    not environ['PATH_INFO'].startswith(prefix)):
                return None
            self.seen += 1
            return (fault, delay, reach) if self.seen == nth else None

    def __call__(self, environ, start_response):
        fault = self._fault_for(environ)
        if fault is None:
            return self.app(environ, start_response)
        fault, delay, reach = fault
        if fault == 'deferred':
            body = environ['wsgi.input'].read(
                int(environ.get('CONTENT_LENGTH') or 0))
            self.deferred.append((environ['PATH_INFO'], dict(environ),
                                  body))
            start_response('504 Gateway Timeout',
                           [('Content-Type', 'text/html')])
            return [b'<html><body><h1>504 Gateway Timeout</h1></body></html>']
        if fault == 'late':
            time.sleep(delay)
            try:
                return list(self.app(environ, start_response))
            finally:
                self.landed.set()
        answer = {}

        def keep(status, headers, exc_info=None):
            answer['status'], answer['headers'] = status, headers
            return lambda data: None

        body = b''.join(self.app(environ, keep)) if reach else b''
        if fault == 'slow':
            time.sleep(delay)
            start_response(answer['status'], answer['headers'])
            return [body]
        if isinstance(fault, tuple):
            status, content_type, body = fault
        else:
            status, content_type = fault, 'text/html'
            body = b'<html><body><h1>%s</h1></body></html>' % (
                fault.encode('ascii'))
        start_response(status, [('Content-Type', content_type)])
        return [body]


class FreeingFirst:
    """A limits client whose second PUT of ``consumer`` comes after a
    delete of it (the user deletes the server at that moment)."""

    def __init__(self, client, consumer):
        self.client = client
        self.consumer = consumer
        self.puts = 0

    def put_allocation(self, consumer_id, *args, **kwargs):
        self.puts += 1
        if consumer_id == self.consumer and self.puts == 2:
            self.client.delete_allocation(consumer_id)
        return self.client.put_allocation(consumer_id, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


class HookFaultsTestCase(test_clients.ClientsTestCase):

    #: Seconds the hook's session waits for an answer: short, for the
    #: tests of late requests, but long enough that a busy machine's
    #: ordinary answer comes in time (1 s was not: a free timed out).
    TIMEOUT = 3

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))

    def serve(self, wsgi):
        # The faults wrap the real application, served on a port of its
        # own; the hook's session has a short timeout.
        self.faults = Faults(wsgi, delay=self.TIMEOUT + 1.5)
        self.url = self.useFixture(
            test_clients.LoopbackServer(self.faults)).url
        self.session = ks_session.Session(auth=None, timeout=self.TIMEOUT)
        self.client = self.client_as(test_clients.SERVICE)
        self.hook = nova.NovaLimitsHook(self.client)

    def leaf_allocations(self):
        return sorted(a['consumer_id'] for a in
                      self.reader.list_allocations('leaf'))

    def leaf_cores(self):
        report = self.reader.usage('leaf')
        return report['projects'][0]['resources']['cores']['own_usage']


class TestHangingService(testtools.TestCase):
    """A limits service that takes the connection and never answers."""

    def test_the_hook_gives_up_after_the_timeout(self):
        # keystoneauth1 waits for ever by default: a Nova boot that
        # called the hook waited as long as the limits service hung.
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.useFixture(fixtures.MockPatchObject(limits, 'DEFAULT_TIMEOUT',
                                                 1))
        conf = cfg.ConfigOpts()
        conf([])
        nova.register_opts(conf)
        conf.set_override('endpoint_override',
                          self.useFixture(ports.HangingPort()).url,
                          group=limits.GROUP)
        hook = nova.NovaLimitsHook.from_conf(conf)
        self.assertEqual(1, conf[limits.GROUP].timeout)
        started = time.monotonic()
        self.assertRaises(ks_exc.ConnectTimeout, hook.reserve_instances,
                          None, 'leaf', FLAVOR, False, ['vm-1'])
        self.assertLess(time.monotonic() - started, 10)

    def test_a_service_that_is_down_fails_every_call(self):
        # Fails closed, as the guide says: no check passes, nothing is
        # reserved, and the error is keystoneauth1's.
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        hook = nova.NovaLimitsHook(limits.LimitsClient(
            ks_session.Session(auth=None, timeout=5),
            endpoint_override='http://127.0.0.1:%d' % port))
        for call in (
                lambda: hook.enforce_num_instances_and_flavor(
                    None, 'leaf', FLAVOR, False, 1, 1),
                lambda: hook.reserve_instances(None, 'leaf', FLAVOR, False,
                                               ['vm-1']),
                lambda: hook.confirm_instances(None, 'leaf', FLAVOR, False,
                                               ['vm-1'])):
            self.assertRaises(ks_exc.ConnectFailure, call)

    def test_every_way_to_build_a_client_has_the_timeout(self):
        # limits.from_conf alone (the client guide's first example) took
        # keystoneauth1's default: wait for ever.
        for build in (lambda conf: limits.from_conf(conf),
                      lambda conf: nova.NovaLimitsHook.from_conf(conf).client,
                      lambda conf: nova.enforcer_mod.Enforcer(
                          lambda project_id, names: {}, conf=conf).client):
            conf = cfg.ConfigOpts()
            conf([])
            self.assertEqual(limits.DEFAULT_TIMEOUT,
                             build(conf).session.timeout)

    def test_the_default_timeout_is_in_the_sample(self):
        [(group, opts)] = nova.enforcer_mod.list_opts()
        [timeout] = [opt for opt in opts if opt.dest == 'timeout']
        self.assertEqual(limits.DEFAULT_TIMEOUT, timeout.default)


class TestLostAnswers(HookFaultsTestCase):
    """The service wrote the reservation; its answer never reached Nova."""

    def setUp(self):
        super().setUp()
        self.serve(self.admin.app)

    def test_reserve_answer_past_the_timeout_keeps_nothing(self):
        self.faults.arm('PUT', '/v1/allocations/', 2, 'slow')
        self.assertRaises(ks_exc.ConnectTimeout, self.hook.reserve_instances,
                          None, 'leaf', FLAVOR, False,
                          ['vm-1', 'vm-2', 'vm-3'], min_count=1)
        self.assertEqual([], self.leaf_allocations())
        self.assertEqual(0, self.leaf_cores())

    def test_reserve_answer_lost_by_a_proxy_keeps_nothing(self):
        self.faults.arm('PUT', '/v1/allocations/', 3, '502 Bad Gateway')
        exc = self.assertRaises(limits.ClientError,
                                self.hook.reserve_instances, None, 'leaf',
                                FLAVOR, False, ['vm-1', 'vm-2', 'vm-3'])
        self.assertEqual(502, exc.status)
        self.assertEqual([], self.leaf_allocations())
        self.assertEqual(0, self.leaf_cores())

    def test_confirm_answer_lost_keeps_nothing(self):
        reserved = self.hook.reserve_instances(
            None, 'leaf', FLAVOR, False, ['vm-1', 'vm-2'])
        self.faults.arm('PUT', '/v1/allocations/', 2, '503 Service '
                                                      'Unavailable')
        self.assertRaises(limits.ClientError, self.hook.confirm_instances,
                          None, 'leaf', FLAVOR, False, reserved)
        self.assertEqual([], self.leaf_allocations())
        self.assertEqual(0, self.leaf_cores())

    def test_a_confirm_the_service_runs_after_the_clean_up(self):
        # The conductor's confirm reaches the service only after the hook
        # timed out and freed the build: a plain PUT then made the
        # allocation again, counted for ever with no server behind it.
        reserved = self.hook.reserve_instances(
            None, 'leaf', FLAVOR, False, ['vm-1'])
        self.faults.arm('PUT', '/v1/allocations/vm-1', 1, 'late',
                        delay=self.TIMEOUT + 1.5)
        self.assertRaises(ks_exc.ConnectTimeout, self.hook.confirm_instances,
                          None, 'leaf', FLAVOR, False, reserved)
        self.assertEqual([], self.leaf_allocations())
        self.assertTrue(self.faults.landed.wait(10))
        self.assertEqual([], self.leaf_allocations())
        self.assertEqual(0, self.leaf_cores())

    def test_a_fresh_allocation_the_service_makes_after_the_clean_up(self):
        # The reservation expired before the conductor confirmed it, and
        # the confirm's fresh allocation reaches the service only after
        # the hook timed out and freed the build: a plain PUT (no expiry)
        # made it there, counted for ever with no server behind it.
        self.client.put_allocation('vm-1', 'leaf', {'cores': 2},
                                   expires_in=1)
        time.sleep(1.2)
        # The first PUT (If-Match: *) finds nothing; the second is late.
        self.faults.arm('PUT', '/v1/allocations/vm-1', 2, 'late',
                        delay=self.TIMEOUT + 1.5)
        self.assertRaises(ks_exc.ConnectTimeout, self.hook.confirm_instances,
                          None, 'leaf', FLAVOR, False, ['vm-1'])
        self.assertTrue(self.faults.landed.wait(10))
        # What landed is a reservation, which frees itself.
        allocation = self.client.get_allocation('vm-1')
        if allocation is not None:
            self.assertIsNotNone(allocation['expires_at'])

    def test_a_resize_prep_the_service_runs_after_the_delete(self):
        # The resize's prep times out (Nova's resize fails), the user
        # deletes the server, and then the prep's request reaches the
        # service: it made the allocation again, counted for ever.
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False, ['vm-1'])
        server = types.SimpleNamespace(uuid='vm-1', project_id='leaf',
                                       flavor=FLAVOR)
        big = types.SimpleNamespace(vcpus=4, memory_mb=1024, root_gb=10,
                                    ephemeral_gb=0, swap=0)
        self.faults.arm('PUT', '/v1/allocations/vm-1', 1, 'late',
                        delay=self.TIMEOUT + 1.5)
        self.assertRaises(ks_exc.ConnectTimeout, self.hook.resize_instance,
                          None, server, big)
        self.assertTrue(self.hook.free_instance(None, server))
        self.assertTrue(self.faults.landed.wait(10))
        self.assertEqual([], self.leaf_allocations())
        self.assertEqual(0, self.leaf_cores())

    def test_a_resize_prep_the_service_runs_after_the_revert(self):
        # The resize's prep times out, Nova's resize fails and is
        # reverted (the instance keeps its flavor), and then the prep's
        # request reaches the service: it made the live server hold the
        # larger flavor until its next resize or delete.
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False, ['vm-1'])
        server = types.SimpleNamespace(uuid='vm-1', project_id='leaf',
                                       flavor=FLAVOR, old_flavor=FLAVOR)
        big = types.SimpleNamespace(vcpus=4, memory_mb=1024, root_gb=10,
                                    ephemeral_gb=0, swap=0)
        self.faults.arm('PUT', '/v1/allocations/vm-1', 1, 'late',
                        delay=self.TIMEOUT + 1.5)
        self.assertRaises(ks_exc.ConnectTimeout, self.hook.resize_instance,
                          None, server, big)
        self.hook.revert_resize(None, server)
        self.assertTrue(self.faults.landed.wait(10))
        self.assertEqual({'instances': 1, 'cores': 2, 'ram': 1024},
                         self.client.get_allocation('vm-1')['resources'])
        self.assertEqual(2, self.leaf_cores())

    def resize_server(self):
        """A confirmed server of FLAVOR (2 cores) and a flavor of 4."""
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False, ['vm-1'])
        server = types.SimpleNamespace(uuid='vm-1', project_id='leaf',
                                       flavor=FLAVOR)
        big = types.SimpleNamespace(vcpus=4, memory_mb=1024, root_gb=10,
                                    ephemeral_gb=0, swap=0)
        return server, big

    def assertHoldsItsFlavor(self):
        self.assertEqual({'instances': 1, 'cores': 2, 'ram': 1024},
                         self.client.get_allocation('vm-1')['resources'])
        self.assertEqual(2, self.leaf_cores())

    def test_a_resize_prep_that_lands_after_nova_gave_up_on_it(self):
        # The prep times out: Nova's resize fails at its prep, and Nova
        # neither confirms nor reverts it. Then the prep's request
        # reaches the service: it made the server hold the larger flavor
        # until its next resize or its delete.
        server, big = self.resize_server()
        self.faults.arm('PUT', '/v1/allocations/vm-1', 1, 'late',
                        delay=self.TIMEOUT + 1.5)
        self.assertRaises(ks_exc.ConnectTimeout, self.hook.resize_instance,
                          None, server, big)
        self.assertTrue(self.faults.landed.wait(10))
        self.assertHoldsItsFlavor()

    def test_a_resize_prep_held_by_a_proxy_lands_after_nova_gave_up(self):
        # The same with a proxy that answers 504 at once and hands the
        # request on later: it finds the allocation written since.
        server, big = self.resize_server()
        self.faults.arm('PUT', '/v1/allocations/vm-1', 1, 'deferred')
        exc = self.assertRaises(limits.ClientError,
                                self.hook.resize_instance, None, server, big)
        self.assertEqual(504, exc.status)
        self.assertHoldsItsFlavor()
        path, status = self.faults.land()
        self.assertEqual('412', status[:3])
        self.assertHoldsItsFlavor()

    def test_a_resize_prep_written_whose_answer_was_lost(self):
        # The service wrote the prep and its answer never reached Nova
        # (past the timeout, or a proxy's 502): Nova's resize failed, and
        # the server held the larger flavor as if it were mid-resize.
        for fault in ('slow', '502 Bad Gateway'):
            server, big = self.resize_server()
            self.faults.arm('PUT', '/v1/allocations/vm-1', 1, fault,
                            delay=self.TIMEOUT + 1.5)
            self.assertRaises((ks_exc.ConnectTimeout, limits.ClientError),
                              self.hook.resize_instance, None, server, big)
            self.faults.disarm()
            self.assertHoldsItsFlavor()

    def test_a_failed_resize_prep_leaves_a_deleted_server_freed(self):
        # The server is deleted between the prep and its clean-up: the
        # clean-up makes nothing again.
        server, big = self.resize_server()
        self.faults.arm('PUT', '/v1/allocations/vm-1', 1, 'deferred')
        self.hook.client = FreeingFirst(self.client, 'vm-1')
        self.assertRaises(limits.ClientError, self.hook.resize_instance,
                          None, server, big)
        self.assertIsNone(self.client.get_allocation('vm-1'))
        self.assertEqual('412', self.faults.land()[1][:3])
        self.assertEqual([], self.leaf_allocations())

    def test_a_confirm_after_the_reservation_expired_decides_afresh(self):
        self.client.put_allocation('vm-1', 'leaf', {'cores': 2},
                                   expires_in=1)
        time.sleep(1.2)
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False, ['vm-1'])
        self.assertEqual(['vm-1'], self.leaf_allocations())
        self.assertIsNone(self.client.get_allocation('vm-1')['expires_at'])
        self.assertEqual(2, self.leaf_cores())

    def test_a_retried_put_is_counted_once(self):
        # keystoneauth1 sends the PUT again after a timeout when
        # connect_retries allows: it replaces the same consumer's
        # allocation, so the instance is counted once.
        client = limits.LimitsClient(
            self.session, endpoint_override=self.url,
            additional_headers=test_clients.SERVICE, connect_retries=1,
            connect_retry_delay=0)
        hook = nova.NovaLimitsHook(client)
        self.faults.arm('PUT', '/v1/allocations/', 1, 'slow')
        self.assertEqual(['vm-1', 'vm-2'], hook.reserve_instances(
            None, 'leaf', FLAVOR, False, ['vm-1', 'vm-2']))
        self.assertEqual(['vm-1', 'vm-2'], self.leaf_allocations())
        self.assertEqual(4, self.leaf_cores())


class TestCleanUpWhenFreesFail(HookFaultsTestCase):
    """The conductor's clean-ups (``_cleanup_build_artifacts``,
    ``_bury_in_cell0``) call ``free_instances`` inside Nova's own
    clean-up."""

    #: No late request here: only the armed 503 may fail a free.
    TIMEOUT = 30

    def setUp(self):
        super().setUp()
        self.serve(self.admin.app)

    def test_a_free_that_fails_stops_neither_the_others_nor_nova(self):
        # The first free answered 503: the exception stopped the frees of
        # the other instances (counted until they expired, or for ever
        # once confirmed) and Nova's clean-up after it (the instances
        # were left in BUILD, their build requests behind).
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False,
                                    ['vm-1', 'vm-2', 'vm-3'])
        self.faults.arm('DELETE', '/v1/allocations/', 1,
                        ('503 Service Unavailable', 'text/html', b'busy'),
                        reach=False)
        self.assertEqual(['vm-1'], self.hook.free_instances(
            None, ['vm-1', 'vm-2', 'vm-3']))
        # vm-1 is freed by its delete (instance.delete.end) later: Nova
        # keeps the instance, in ERROR or in cell0.
        self.assertEqual(['vm-1'], self.leaf_allocations())
        self.assertEqual([], self.hook.free_instances(None, ['vm-1']))
        self.assertEqual([], self.leaf_allocations())


class TestRetriedRequests(HookFaultsTestCase):
    """keystoneauth1 sends a request again (``connect_retries``) when the
    first try gets no answer in time; the first try may still reach the
    service after the second did, and after what the hook did next."""

    def setUp(self):
        super().setUp()
        self.serve(self.admin.app)
        self.hook = nova.NovaLimitsHook(limits.LimitsClient(
            self.session, endpoint_override=self.url,
            additional_headers=test_clients.SERVICE, connect_retries=1,
            connect_retry_delay=0))

    def test_a_reservation_that_lands_after_the_confirmation(self):
        # The first try of a reservation lands after its retry, and
        # after the conductor confirmed it: it made the instance's
        # allocation a reservation again, which freed itself when it
        # expired, and the server ran on uncounted.
        self.faults.arm('PUT', '/v1/allocations/vm-1', 1, 'late',
                        delay=self.TIMEOUT + 1.5)
        reserved = self.hook.reserve_instances(None, 'leaf', FLAVOR, False,
                                               ['vm-1'])
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False, reserved)
        self.assertTrue(self.faults.landed.wait(10))
        self.assertIsNone(self.client.get_allocation('vm-1')['expires_at'])
        self.assertEqual(2, self.leaf_cores())

    def test_a_fresh_reservation_that_lands_after_the_confirmation(self):
        # The same, for the reservation a confirmation makes afresh after
        # the API's reservation expired.
        self.client.put_allocation('vm-1', 'leaf', {'cores': 2},
                                   expires_in=1)
        time.sleep(1.2)
        self.faults.arm('PUT', '/v1/allocations/vm-1', 2, 'late',
                        delay=self.TIMEOUT + 1.5)
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False, ['vm-1'])
        self.assertTrue(self.faults.landed.wait(10))
        self.assertIsNone(self.client.get_allocation('vm-1')['expires_at'])
        self.assertEqual(2, self.leaf_cores())

    def test_a_resize_prep_that_lands_after_the_confirmation(self):
        # The first try of a downsize's prep lands after its retry, and
        # after Nova confirmed the resize: it made the server hold its
        # old, larger flavor again, until its next resize or delete.
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False, ['vm-1'])
        small = types.SimpleNamespace(vcpus=1, memory_mb=1024, root_gb=10,
                                      ephemeral_gb=0, swap=0)
        server = types.SimpleNamespace(uuid='vm-1', project_id='leaf',
                                       flavor=FLAVOR, new_flavor=small)
        self.faults.arm('PUT', '/v1/allocations/vm-1', 1, 'late',
                        delay=self.TIMEOUT + 1.5)
        held = self.hook.resize_instance(None, server, small)
        self.assertEqual(2, held['resources']['cores'])
        self.hook.confirm_resize(None, server)
        self.assertTrue(self.faults.landed.wait(10))
        self.assertEqual({'instances': 1, 'cores': 1, 'ram': 1024},
                         self.client.get_allocation('vm-1')['resources'])
        self.assertEqual(1, self.leaf_cores())


class TestAnswersNotOfTheApi(HookFaultsTestCase):
    """Answers that are not the limits API's, in place of the service's
    (which did the work): Nova gets a refusal or a plain error, never an
    allowed check, a TypeError or a claim left behind."""

    def setUp(self):
        super().setUp()
        self.serve(self.admin.app)

    def test_a_page_instead_of_an_allocation_keeps_nothing(self):
        self.faults.arm('PUT', '/v1/allocations/', 2,
                        ('200 OK', 'text/html', b'<html>Welcome</html>'))
        exc = self.assertRaises(limits.BadAnswer,
                                self.hook.reserve_instances, None, 'leaf',
                                FLAVOR, False, ['vm-1', 'vm-2', 'vm-3'])
        self.assertIn('not JSON', str(exc))
        self.assertEqual(200, exc.status)
        self.assertEqual([], self.leaf_allocations())
        self.assertEqual(0, self.leaf_cores())

    def test_json_of_another_shape_instead_of_an_allocation(self):
        self.faults.arm('PUT', '/v1/allocations/', 1,
                        ('200 OK', 'application/json', b'{"id": "vm-1"}'))
        self.assertRaises(limits.BadAnswer, self.hook.reserve_instances,
                          None, 'leaf', FLAVOR, False, ['vm-1'])
        self.assertEqual([], self.leaf_allocations())

    def test_a_check_answered_in_another_shape_is_no_decision(self):
        for body in (b'{"allowed": "yes", "blocking": []}', b'[]',
                     b'{"allowed": true}', b'null',
                     b'{"allowed": false, "blocking": []}'):
            self.faults.arm('POST', '/v1/enforce', 1,
                            ('200 OK', 'application/json', body))
            self.assertRaises(
                limits.BadAnswer,
                self.hook.enforce_num_instances_and_flavor, None, 'leaf',
                FLAVOR, False, 1, 1)

    def test_a_usage_report_of_another_shape(self):
        # Nova's quota and limits APIs read limits and usage through the
        # Enforcer: a KeyError or IndexError was a 500 there.
        enforcer = nova.enforcer_mod.Enforcer(
            lambda project_id, names: {}, client=self.client,
            reconcile_usage=False)
        for body in (b'{"id": "leaf"}', b'{"projects": []}', b'[]',
                     b'{"projects": [{"project_id": "leaf"}]}',
                     b'{"projects": [7]}'):
            self.faults.arm('GET', '/v1/projects/leaf/usage', 1,
                            ('200 OK', 'application/json', body))
            self.assertRaises(limits.BadAnswer, enforcer.calculate_usage,
                              'leaf', ['cores'])
        self.faults.disarm()
        self.assertEqual(8, enforcer.calculate_usage(
            'leaf', ['cores'])['cores'].limit)

    def test_reads_answered_in_another_shape(self):
        """An allocation, a list of allocations or of registered limits
        of another shape is a BadAnswer, as the client guide says: they
        were a KeyError or TypeError (a 500 in Nova's quota and limits
        APIs, which read the registered defaults of a project the service
        does not know through the Enforcer)."""
        enforcer = nova.enforcer_mod.Enforcer(
            lambda project_id, names: {}, client=self.client,
            reconcile_usage=False)
        self.client.put_allocation('vm-1', 'leaf', {'cores': 1})
        # Lists are read as a system reader, here through the faults.
        reader = self.client_as(af.SYSTEM_READER)
        bodies = (b'{"id": "x"}', b'[]', b'null', b'{"%s": 7}',
                  b'{"%s": [7]}')
        limit_bodies = bodies + (b'{"%s": [{"default_limit": true}]}',
                                 b'{"%s": [{"default_limit": "5"}]}')
        calls = (('/v1/allocations/vm-1', 'allocation', bodies,
                  lambda: self.client.get_allocation('vm-1')),
                 ('/v1/allocations', 'allocations', bodies,
                  lambda: list(reader.list_allocations('leaf'))),
                 ('/v1/registered_limits', 'registered_limits',
                  limit_bodies,
                  lambda: enforcer.get_registered_limits(['cores'])),
                 ('/v1/registered_limits', 'registered_limits',
                  limit_bodies,
                  lambda: enforcer.calculate_usage('unknown', ['cores'])))
        for path, key, answers, call in calls:
            for body in answers:
                body = body.replace(b'%s', key.encode())
                self.faults.arm('GET', path, 1,
                                ('200 OK', 'application/json', body))
                self.assertRaises(limits.BadAnswer, call)
        self.faults.disarm()
        self.assertEqual(1, self.client.get_allocation('vm-1')[
            'resources']['cores'])
        self.assertEqual([('cores', 8)],
                         enforcer.get_registered_limits(['cores']))

    def test_a_refusal_with_an_unreadable_blocking_list(self):
        # A 409 limits.over_limit is a refusal even when its list of
        # blocking limits is not of the API's shape: Nova gets
        # TooManyInstances, and what was reserved is freed.
        body = (b'{"errors": [{"status": 409, "code": "limits.over_limit",'
                b' "blocking": [{"resource": "cores"}, 7]}]}')
        self.faults.arm('PUT', '/v1/allocations/', 2,
                        ('409 Conflict', 'application/json', body),
                        reach=False)
        exc = self.assertRaises(nova.TooManyInstances,
                                self.hook.reserve_instances, None, 'leaf',
                                FLAVOR, False, ['vm-1', 'vm-2'])
        self.assertEqual([], exc.blocking)
        self.assertEqual([], self.leaf_allocations())
        body = (b'{"errors": [{"status": 409, "code": "limits.over_limit",'
                b' "blocking": null}]}')
        self.faults.arm('POST', '/v1/enforce', 1,
                        ('200 OK', 'application/json',
                         b'{"allowed": false, "deltas": {}, "blocking": '
                         b'[{"resource": "cores"}]}'))
        self.assertRaises(limits.BadAnswer,
                          self.hook.enforce_num_instances_and_flavor, None,
                          'leaf', FLAVOR, False, 1, 1)
        self.faults.arm('PUT', '/v1/allocations/', 1,
                        ('409 Conflict', 'application/json', body),
                        reach=False)
        self.assertRaises(nova.TooManyInstances,
                          self.hook.reserve_instances, None, 'leaf',
                          FLAVOR, False, ['vm-3'])
        self.assertEqual([], self.leaf_allocations())

    def test_a_refusal_stays_a_refusal_when_a_free_fails(self):
        # Three reservations fit in root's subtree; the fourth is refused
        # and the hook frees the three: the first free's answer is lost.
        self.client.put_allocation('vm-other', 'other', {'cores': 4})
        self.faults.arm('DELETE', '/v1/allocations/', 1,
                        ('503 Service Unavailable', 'text/html', b'busy'),
                        reach=False)
        self.assertRaises(nova.TooManyInstances, self.hook.reserve_instances,
                          None, 'leaf', FLAVOR, False,
                          ['vm-1', 'vm-2', 'vm-3', 'vm-4'])
        # The other two are freed; vm-1's reservation waits for its
        # expiry.
        self.assertEqual(['vm-1'], self.leaf_allocations())
        self.assertIsNotNone(self.client.get_allocation('vm-1')['expires_at'])


class TestDeleteNotifications(HookFaultsTestCase):
    """``InstanceDeleteEndpoint`` frees what Nova deleted, and asks for
    the notification again when the free fails for a while."""

    def setUp(self):
        super().setUp()
        self.serve(self.admin.app)
        self.endpoint = nova.InstanceDeleteEndpoint(self.hook, retry_delay=0)
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False,
                                    ['vm-1', 'vm-2'])

    def deleted(self, payload, event_type='instance.delete.end'):
        return self.endpoint.info({}, 'nova-compute:host', event_type,
                                  payload, {})

    def test_versioned_and_unversioned_payloads(self):
        handled = oslo_messaging.NotificationResult.HANDLED
        self.assertEqual(handled, self.deleted({
            'nova_object.name': 'InstanceActionPayload',
            'nova_object.data': {'uuid': 'vm-1'}}))
        self.assertEqual(handled, self.deleted(
            {'instance_id': 'vm-2'}, 'compute.instance.delete.end'))
        self.assertEqual([], self.leaf_allocations())
        # Delivered twice, or without a uuid: nothing more is freed.
        self.assertEqual(handled, self.deleted({'instance_id': 'vm-2'}))
        self.assertEqual(handled, self.deleted({'nova_object.data': None}))

    def test_a_free_that_fails_for_a_while_is_asked_again(self):
        # Dropped, the deleted server's allocation counted for ever (a
        # rate limit in front of the service answering 429 included).
        for fault in ('503 Service Unavailable', '502 Bad Gateway',
                      '429 Too Many Requests'):
            self.faults.arm('DELETE', '/v1/allocations/', 1, fault,
                            reach=False)
            self.assertEqual(oslo_messaging.NotificationResult.REQUEUE,
                             self.deleted({'instance_id': 'vm-1'}))
            self.assertEqual(['vm-1', 'vm-2'], self.leaf_allocations())
        self.faults.disarm()
        self.assertEqual(oslo_messaging.NotificationResult.HANDLED,
                         self.deleted({'instance_id': 'vm-1'}))
        self.assertEqual(['vm-2'], self.leaf_allocations())

    def test_a_free_that_can_never_succeed_is_not_asked_again(self):
        endpoint = nova.InstanceDeleteEndpoint(nova.NovaLimitsHook(
            self.client_as({'X-User-Id': 'u', 'X-Roles': 'member',
                            'X-Project-Id': 'leaf'})), retry_delay=0)
        self.assertEqual(oslo_messaging.NotificationResult.HANDLED,
                         endpoint.info({}, 'nova', 'instance.delete.end',
                                       {'instance_id': 'vm-1'}, {}))

    def test_through_a_listener_that_requeues(self):
        # The endpoint in an oslo.messaging notification listener (the
        # in-process transport): the event filter lets only the deletes
        # through, and a requeued notification comes back and frees.
        conf = cfg.ConfigOpts()
        conf([])
        transport = oslo_messaging.get_notification_transport(
            conf, url='fake:/')
        self.addCleanup(transport.cleanup)
        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic='notifications')],
            [self.endpoint], executor='threading', allow_requeue=True)
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        notifier = oslo_messaging.Notifier(
            transport, driver='messaging', topics=['notifications'],
            publisher_id='nova-compute:host')
        self.faults.arm('DELETE', '/v1/allocations/', 1,
                        '503 Service Unavailable', reach=False)
        notifier.info({}, 'instance.update', {'instance_id': 'vm-2'})
        notifier.info({}, 'instance.delete.end', {'instance_id': 'vm-1'})
        deadline = time.monotonic() + 20
        while ('vm-1' in self.leaf_allocations() and
               time.monotonic() < deadline):
            time.sleep(0.1)
        self.assertEqual(['vm-2'], self.leaf_allocations())


class TestPagesThatNeverEnd(testtools.TestCase):
    """A cache in front of the service that ignores the query string
    answers every page of a report with the first one, whose next link is
    the same again."""

    def test_a_usage_report_whose_next_link_comes_back(self):
        self.useFixture(fixtures.Timeout(30, gentle=True))
        served = []

        def first_page_again(environ, start_response):
            served.append(environ['QUERY_STRING'])
            body = {'project_id': 'root', 'subtree': True,
                    'projects': [{'project_id': 'root', 'parent_id': None,
                                  'depth': 0, 'resources': {}}],
                    'links': [{'rel': 'next', 'href':
                               '/v1/projects/root/usage?subtree=true'
                               '&marker=root'}]}
            start_response('200 OK', [('Content-Type', 'application/json')])
            return [json.dumps(body).encode()]

        url = self.useFixture(test_clients.LoopbackServer(
            first_page_again)).url
        client = limits.LimitsClient(ks_session.Session(auth=None,
                                                        timeout=5),
                                     endpoint_override=url)
        # It read the same page for ever, the report growing in memory.
        self.assertRaises(limits.BadAnswer, client.usage, 'root',
                          subtree=True)
        self.assertLess(len(served), 5)
