"""svc_common.outage: which failures are outages, and their log lines."""

import logging

import fixtures
from keystoneauth1 import exceptions as ks_exc
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
                    ks_exc.InternalServerError(), ks_exc.GatewayTimeout(),
                    ks_exc.RequestTimeout()):
            self.assertTrue(outage.passing(exc), exc)
            self.assertTrue(outage.passing(raised_from(exc)), exc)

    def test_refusals_and_bugs_are_not(self):
        for exc in (ks_exc.Forbidden(), ks_exc.BadRequest(),
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
