"""``<prog>-api`` on a port that another process holds.

It ended with a CRITICAL log line and Python's traceback of
``OSError: [Errno 98] Address already in use``; it now says, in one
line, which address it could not listen on and which options set it.
"""

import os
import socket

import fixtures
import testtools

from svc_common.tests.functional import test_commands


class TestApiPortTaken(testtools.TestCase):

    def test_port_in_use_is_one_line(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        conf = os.path.join(tmp, 'reaper.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[api]\nhost = 127.0.0.1\n'
                    'port = %d\n' % (tmp, port))
        result = test_commands.run([test_commands.command('reaper-api'),
                                    '--config-file', conf])
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertEqual(
            'reaper-api: cannot listen on 127.0.0.1:%d ([api] host and '
            'port): Address already in use\n' % port, result.stderr)
