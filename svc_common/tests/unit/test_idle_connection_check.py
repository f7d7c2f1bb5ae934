"""The pool's check of an idle PostgreSQL connection, on a socket pair."""

import socket

import sqlalchemy.exc
import testtools

from svc_common.db import database


class _Connection(object):
    """What the check uses of a psycopg2 connection: its socket."""

    def __init__(self, sock):
        self.sock = sock

    def fileno(self):
        return self.sock.fileno()


class _Record(object):
    def __init__(self):
        self.info = {}


class _Dialect(object):
    """Counts pings; answers as told."""

    def __init__(self, answer=True):
        self.answer = answer
        self.pings = 0

    def do_ping(self, dbapi_connection):
        self.pings += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class TestIdleConnectionCheck(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ours, self.server = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.server.close)
        self.conn = _Connection(self.ours)
        self.now = 100.0
        self.dialect = _Dialect()
        self.check = database.IdleConnectionCheck(self.dialect,
                                                  clock=lambda: self.now)
        self.record = _Record()

    def _check_out(self):
        self.check.checkout(self.conn, self.record, None)

    def test_a_quiet_connection_in_steady_use_is_handed_out_unpinged(self):
        self.assertFalse(database.connection_closed_by_server(self.conn))
        self.check.checkin(self.conn, self.record)
        self.now += database.PING_AFTER_IDLE_SECONDS / 2
        self._check_out()
        self.assertEqual(0, self.dialect.pings)

    def test_a_connection_idle_for_a_while_is_pinged(self):
        self.check.checkin(self.conn, self.record)
        self.now += database.PING_AFTER_IDLE_SECONDS + 0.1
        self._check_out()
        self.assertEqual(1, self.dialect.pings)

    def test_an_idle_connection_that_does_not_answer_is_replaced(self):
        """An address that moved to another host (a failover) resets the
        first packet: the ping fails, and the pool opens another
        connection instead of the request failing."""
        self.dialect.answer = OSError('connection reset by peer')
        self.check.checkin(self.conn, self.record)
        self.now += database.PING_AFTER_IDLE_SECONDS + 0.1
        self.assertRaises(sqlalchemy.exc.DisconnectionError, self._check_out)
        self.dialect.answer = False
        self.assertRaises(sqlalchemy.exc.DisconnectionError, self._check_out)

    def test_a_server_message_on_an_idle_connection_means_it_is_gone(self):
        # What PostgreSQL sends before it closes: an ErrorResponse.
        self.server.sendall(b'E\x00\x00\x00\x05\x00')
        self.assertTrue(database.connection_closed_by_server(self.conn))
        self.check.checkin(self.conn, self.record)
        self.assertRaises(sqlalchemy.exc.DisconnectionError, self._check_out)

    def test_a_connection_closed_by_the_server_is_replaced(self):
        self.server.close()
        self.assertTrue(database.connection_closed_by_server(self.conn))
        self.check.checkin(self.conn, self.record)
        self.assertRaises(sqlalchemy.exc.DisconnectionError, self._check_out)

    def test_the_plugin_turns_the_ping_off(self):
        kwargs = {'pool_pre_ping': True}
        database.PostgreSQLPoolPlugin(
            sqlalchemy.engine.make_url('postgresql://h/db'), kwargs)
        self.assertFalse(kwargs['pool_pre_ping'])
