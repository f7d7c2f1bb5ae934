"""The tests' RabbitMQ fixture, when the port it chose is taken before
the node binds it.

``free_port()`` finds a port nobody holds and lets it go; the node binds
it seconds later.  Another process may take it meanwhile: the other
test worker's connections are given ports by the same kernel.  The node
then exited (``eaddrinuse``) and the test that needed it failed.
"""

import socket

import fixtures
import testtools

from svc_common.tests.fixtures import ports
from svc_common.tests.fixtures import rabbitmq


class TestPortTaken(testtools.TestCase):

    def test_a_taken_port_is_replaced(self):
        holder = socket.socket()
        self.addCleanup(holder.close)
        holder.bind(('127.0.0.1', 0))
        holder.listen(1)
        taken = holder.getsockname()[1]
        handed = [taken]

        def free_port():
            # The taken port first, as if it had been free a moment ago.
            return handed.pop() if handed else ports.free_port()

        self.useFixture(fixtures.MockPatchObject(rabbitmq, 'free_port',
                                                 free_port))
        node = self.useFixture(rabbitmq.RabbitMQ(name='porttaken'))
        self.assertNotEqual(taken, node.port)
        self.assertTrue(ports.port_open(node.port))
