"""svc_common.outage: which failures are outages, and their log lines."""

import logging
import socket
import threading

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
import sqlalchemy
import testtools

from svc_common import outage


class Wrapped(Exception):
    """Stands for a driver's error raised from keystoneauth1's."""


def raised_from(cause):
    try:
        raise cause
    except Exception as exc:
        try:
            raise Wrapped('Nova: %s' % exc) from exc
        except Wrapped as wrapped:
            return wrapped


class TestPassing(testtools.TestCase):

    def test_services_away(self):
        for exc in (ks_exc.ConnectFailure('refused'),
                    ks_exc.ConnectTimeout('timed out'),
                    ks_exc.EndpointNotFound('no endpoint'),
                    ks_exc.DiscoveryFailure('no versions'),
                    ks_exc.ServiceUnavailable(), ks_exc.BadGateway(),
                    ks_exc.GatewayTimeout(), ks_exc.RequestTimeout()):
            self.assertTrue(outage.passing(exc), exc)
            self.assertTrue(outage.passing(raised_from(exc)), exc)

    def test_refusals_and_bugs_are_not(self):
        # A 500 is the service's answer to that request, given again to
        # the same request: one request Nova always answers 500 stalled
        # the promoter for good when it counted as an outage.
        for exc in (ks_exc.InternalServerError('Unexpected API Error.'),
                    raised_from(ks_exc.InternalServerError()),
                    ks_exc.Forbidden(), ks_exc.BadRequest(),
                    ks_exc.Unauthorized(), ks_exc.NotFound(),
                    KeyError('x'), Wrapped('Nova refused')):
            self.assertFalse(outage.passing(exc), exc)

    def test_a_bug_while_handling_a_failure_is_a_bug(self):
        # Raised in an except clause (its __context__), not from it.
        try:
            try:
                raise ks_exc.ConnectFailure('refused')
            except ks_exc.ConnectFailure:
                raise AttributeError('no such attribute')
        except AttributeError as exc:
            bug = exc
        self.assertFalse(outage.passing(bug))

    def test_the_database_away(self):
        self.assertTrue(outage.passing(sqlalchemy.exc.OperationalError(
            None, None, Exception('connection refused'))))


class TestOutageLog(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(levelname)s %(message)s'))
        self.outage = outage.OutageLog(logging.getLogger('test'), 'Sweep')

    def test_one_warning_then_debug_then_one_info(self):
        self.assertFalse(self.outage.succeeded())
        self.assertTrue(self.outage.failed(ks_exc.ConnectFailure('refused'),
                                           'it runs again in 5 s'))
        self.assertFalse(self.outage.failed(ks_exc.ServiceUnavailable()))
        self.assertTrue(self.outage.succeeded())
        self.assertFalse(self.outage.succeeded())
        self.assertEqual(
            ['WARNING Sweep failed, a service it depends on failed '
             '(ConnectFailure: refused); it runs again in 5 s (nothing '
             'more is logged until it succeeds again)',
             'DEBUG Sweep failed again (2 failures so far): a service it '
             'depends on failed (ServiceUnavailable: Service Unavailable '
             '(HTTP 503))',
             'INFO Sweep succeeded again, after 2 failure(s)'],
            self.log.output.splitlines())


class TestNeverReceived(testtools.TestCase):
    """Whether a create may be sent again at once after a failure."""

    @staticmethod
    def post(port):
        """keystoneauth1's error of a POST to 127.0.0.1:``port``."""
        try:
            ks_session.Session().post(
                'http://127.0.0.1:%d/v2.1/servers' % port,
                json={'server': {'name': 'x'}}, connect_retries=0)
        except ks_exc.ClientException as exc:
            return exc
        raise AssertionError('the POST was answered')

    def test_a_refused_connection_was_never_received(self):
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        port = listener.getsockname()[1]
        listener.close()     # nothing listens there any more: refused
        exc = self.post(port)
        self.assertIsInstance(exc, ks_exc.ConnectFailure)
        self.assertTrue(outage.never_received(exc))
        self.assertTrue(outage.never_received(raised_from(exc)))

    def test_a_connection_closed_after_the_post_may_have_been_taken(self):
        """keystoneauth1 reports a connection closed once the request
        was sent as ConnectFailure too: the service may have carried it
        out."""
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        received = []

        def serve():
            connection, _ = listener.accept()
            data = b''
            while b'"server"' not in data:
                data += connection.recv(65536)
            received.append(data)
            connection.close()    # taken, and no answer

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        exc = self.post(listener.getsockname()[1])
        thread.join()
        self.assertTrue(received)
        self.assertIsInstance(exc, ks_exc.ConnectFailure)
        self.assertTrue(outage.remote_unreachable(exc))
        self.assertFalse(outage.never_received(exc))
        self.assertFalse(outage.never_received(raised_from(exc)))

    def test_the_service_never_got_the_request(self):
        for exc in (ks_exc.EndpointNotFound('no endpoint'),
                    ks_exc.EndpointNotFound('no endpoint'),
                    ks_exc.DiscoveryFailure('no versions'),
                    ks_exc.ServiceUnavailable()):
            self.assertTrue(outage.never_received(exc), exc)
            self.assertTrue(outage.never_received(raised_from(exc)), exc)

    def test_the_service_may_have_carried_it_out(self):
        # keystoneauth1 reports a read timeout as ConnectTimeout.
        for exc in (ks_exc.ConnectTimeout('read timed out'),
                    ks_exc.SSLError('handshake'), ks_exc.BadGateway(),
                    ks_exc.GatewayTimeout(), ks_exc.RequestTimeout(),
                    ks_exc.UnknownConnectionError('reset', None),
                    ks_exc.ConnectFailure('no telling when')):
            self.assertFalse(outage.never_received(exc), exc)
            self.assertFalse(outage.never_received(raised_from(exc)), exc)

    def test_not_an_outage_at_all(self):
        self.assertFalse(outage.never_received(Wrapped('refused')))


class Clock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class TestOutageLogLasting(testtools.TestCase):
    """An outage that lasts, or changes, is not silent for good."""

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(message)s'))
        self.clock = Clock()
        self.outage = outage.OutageLog(logging.getLogger('test'), 'Sweep',
                                       reminder=600, clock=self.clock)

    def test_a_reminder_every_ten_minutes(self):
        for _ in range(25):
            self.outage.failed(ks_exc.EndpointNotFound('no endpoint'))
            self.clock.now += 60
        self.assertEqual(
            ['WARNING Sweep failed, a service it depends on failed '
             '(EndpointNotFound: no endpoint) (nothing more is logged '
             'until it succeeds again)',
             'WARNING Sweep is still failing: 11 failures over 600 s, the '
             'last: a service it depends on failed (EndpointNotFound: no '
             'endpoint)',
             'WARNING Sweep is still failing: 21 failures over 1200 s, the '
             'last: a service it depends on failed (EndpointNotFound: no '
             'endpoint)'],
            self.log.output.splitlines())

    def test_the_database_back_and_nova_away_is_a_new_warning(self):
        database = sqlalchemy.exc.OperationalError(
            None, None, Exception('connection refused'))
        self.assertTrue(self.outage.failed(database))
        self.assertFalse(self.outage.failed(database))
        self.assertTrue(self.outage.failed(raised_from(
            ks_exc.ConnectFailure('refused'))))
        self.assertFalse(self.outage.failed(ks_exc.ConnectFailure('x')))
        self.outage.succeeded()
        lines = self.log.output.splitlines()
        self.assertEqual(3, len(lines), lines)
        self.assertTrue(lines[0].startswith(
            'WARNING Sweep failed, the database failed'), lines[0])
        self.assertEqual(
            'WARNING Sweep failed, a service it depends on failed '
            '(Wrapped: Nova: refused), after 2 failure(s) of another kind '
            '(nothing more is logged until it succeeds again)', lines[1])
        self.assertEqual('INFO Sweep succeeded again, after 2 failure(s)',
                         lines[2])

    def test_forgotten_outage_warns_again(self):
        self.outage.failed(ks_exc.ConnectFailure('refused'))
        self.outage.forget()
        self.assertTrue(self.outage.failed(ks_exc.ConnectFailure('refused')))
        self.assertEqual(2, self.log.output.count('WARNING'))
