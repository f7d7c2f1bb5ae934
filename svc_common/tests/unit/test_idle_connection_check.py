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


class TestIdleConnectionCheck(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ours, self.server = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.server.close)
        self.conn = _Connection(self.ours)

    def test_a_quiet_connection_is_handed_out(self):
        self.assertFalse(database.connection_closed_by_server(self.conn))
        database._check_idle_connection(self.conn, None, None)

    def test_a_server_message_on_an_idle_connection_means_it_is_gone(self):
        # What PostgreSQL sends before it closes: an ErrorResponse.
        self.server.sendall(b'E\x00\x00\x00\x05\x00')
        self.assertTrue(database.connection_closed_by_server(self.conn))
        self.assertRaises(sqlalchemy.exc.DisconnectionError,
                          database._check_idle_connection, self.conn, None,
                          None)

    def test_a_connection_closed_by_the_server_is_replaced(self):
        self.server.close()
        self.assertTrue(database.connection_closed_by_server(self.conn))
        self.assertRaises(sqlalchemy.exc.DisconnectionError,
                          database._check_idle_connection, self.conn, None,
                          None)

    def test_the_plugin_turns_the_ping_off(self):
        kwargs = {'pool_pre_ping': True}
        database.PostgreSQLPoolPlugin(
            sqlalchemy.engine.make_url('postgresql://h/db'), kwargs)
        self.assertFalse(kwargs['pool_pre_ping'])
