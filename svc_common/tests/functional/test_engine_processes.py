"""Engine processes on one host: a killed leader is replaced, SIGTERM
lets the running task finish.

Two real processes share the embedded ``file://`` coordination backend.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import fixtures
import testtools

from limits_svc import service
from svc_common.conf import coordination as coordination_conf
from svc_common import config
from svc_common.engine import runner as runner_mod
from svc_common.tests.functional import engine_child

TAKEOVER_BOUND = 3.0


class Child(object):
    """``engine_child`` in a subprocess; its lines arrive in a queue."""

    def __init__(self, test, state_path, name):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', engine_child.__name__, state_path, name],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        test.addCleanup(self._kill)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, wanted, timeout=30):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            seen.append(line)
            if line == wanted:
                return seen
        raise AssertionError('no %r from the engine; saw %r' % (wanted, seen))

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class TestEngineProcesses(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.state = self.useFixture(fixtures.TempDir()).path

    def follower(self):
        conf = config.build_conf(service.SPEC, overrides={
            (None, 'state_path'): self.state})
        coordination_conf.register_opts(conf)
        conf.set_override('election_interval',
                          engine_child.ELECTION_INTERVAL,
                          group='coordination')
        runner = runner_mod.Runner(service.SPEC, conf, member_id='here')
        runner.start()
        self.addCleanup(runner.stop)
        return runner

    def test_sigkilled_leader_is_replaced_within_the_bound(self):
        child = Child(self, self.state, 'child')
        child.expect('leader')
        here = self.follower()
        self.assertFalse(here.is_leader)
        killed_at = time.monotonic()
        os.kill(child.proc.pid, signal.SIGKILL)
        self.assertTrue(here.leadership.wait_until_leader(TAKEOVER_BOUND))
        self.assertLess(time.monotonic() - killed_at, TAKEOVER_BOUND)

    def test_sigterm_finishes_the_running_task_then_hands_over(self):
        child = Child(self, self.state, 'child')
        child.expect('task started')
        here = self.follower()
        child.proc.send_signal(signal.SIGTERM)
        seen = child.expect('stopped')
        self.assertEqual(['task finished', 'stopped'], seen[-2:])
        self.assertEqual(0, child.proc.wait(10))
        self.assertTrue(here.leadership.wait_until_leader(TAKEOVER_BOUND))
