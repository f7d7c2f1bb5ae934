"""Two engine runners on one tooz backend: one leader, takeover, stop.

The backend is tooz's ``file://`` driver in a temporary directory, the
embedded default; the processes here are two runners of one process,
which the driver keeps apart as it keeps processes apart.
"""

import threading
import time

import fixtures
import sqlalchemy.exc
import testtools

from limits_svc import service
from svc_common.conf import coordination as coordination_conf
from svc_common import config
from svc_common.engine import runner as runner_mod

INTERVAL = 0.1
# Takeover must happen within a few election intervals.
TAKEOVER_BOUND = 2.0


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class RunnerBase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.state = self.useFixture(fixtures.TempDir()).path

    def make_runner(self, name, election_interval=INTERVAL):
        conf = config.build_conf(service.SPEC, overrides={
            (None, 'state_path'): self.state})
        coordination_conf.register_opts(conf)
        conf.set_override('election_interval', election_interval,
                          group='coordination')
        runner = runner_mod.Runner(service.SPEC, conf, member_id=name)
        return runner

    def started(self, runner):
        runner.start()
        self.addCleanup(runner.stop)
        return runner


class TestLeadership(RunnerBase):

    def test_default_backend_is_a_file_directory_in_state_path(self):
        runner = self.make_runner('a')
        self.assertEqual('file://%s/coordination' % self.state,
                         runner.conf.coordination.backend_url)

    def test_exactly_one_leader_runs_the_periodic_task(self):
        runs = {'a': 0, 'b': 0}

        def counter(name):
            def count():
                runs[name] += 1
            return count

        runners = {}
        for name in ('a', 'b'):
            runners[name] = self.make_runner(name)
            runners[name].add_periodic('count', 0.05, counter(name))
            self.started(runners[name])
        self.assertEqual(1, sum(r.is_leader for r in runners.values()))
        leader = 'a' if runners['a'].is_leader else 'b'
        follower = 'b' if leader == 'a' else 'a'
        self.assertTrue(wait_for(lambda: runs[leader] >= 5))
        time.sleep(3 * INTERVAL)
        self.assertEqual(0, runs[follower])
        self.assertTrue(runners[leader].is_leader)
        self.assertFalse(runners[follower].is_leader)

    def test_follower_takes_over_when_the_leader_stops(self):
        a = self.started(self.make_runner('a'))
        b = self.make_runner('b')
        elected = b.add_periodic('sweep', 60, lambda: None,
                                 run_on_election=True)
        self.started(b)
        self.assertTrue(a.is_leader)
        self.assertFalse(b.is_leader)
        self.assertEqual(0, elected.runs)
        stopped_at = time.monotonic()
        a.stop()
        self.assertTrue(b.leadership.wait_until_leader(TAKEOVER_BOUND))
        took = time.monotonic() - stopped_at
        self.assertLess(took, TAKEOVER_BOUND)
        # run_on_election: the new leader sweeps now, not in 60 s.
        self.assertTrue(wait_for(lambda: elected.runs == 1, 2))

    def test_every_host_tasks_run_on_followers_too(self):
        self.started(self.make_runner('a'))
        b = self.make_runner('b')
        local = b.add_periodic('local', 60, lambda: None, leader_only=False,
                               run_on_election=True)
        self.started(b)
        self.assertFalse(b.is_leader)
        self.assertTrue(wait_for(lambda: local.runs == 1, 2))


class TestGracefulStop(RunnerBase):

    def test_stop_lets_the_running_task_finish_before_handing_over(self):
        started, release = threading.Event(), threading.Event()
        events = []

        def slow():
            events.append('a started')
            started.set()
            release.wait(5)
            time.sleep(0.3)
            events.append('a finished')

        a = self.make_runner('a')
        a.add_periodic('slow', 60, slow, run_on_election=True)
        self.started(a)
        b = self.make_runner('b')
        b.add_periodic('slow', 60, lambda: events.append('b ran'),
                       run_on_election=True)
        self.started(b)
        self.assertTrue(started.wait(5))
        stopper = threading.Thread(target=a.stop)
        stopper.start()
        release.set()
        stopper.join(10)
        self.assertFalse(stopper.is_alive())
        self.assertTrue(wait_for(lambda: 'b ran' in events))
        # a's run finished before stop() returned, and before b led.
        self.assertEqual(['a started', 'a finished', 'b ran'], events)

    def test_a_failing_task_runs_again(self):
        calls = []

        def broken():
            calls.append(1)
            raise RuntimeError('boom')

        runner = self.make_runner('a')
        task = runner.add_periodic('broken', 0.05, broken)
        self.useFixture(fixtures.FakeLogger(level='ERROR'))
        self.started(runner)
        self.assertTrue(wait_for(lambda: task.runs >= 3))

    def test_workers_start_and_stop_with_the_runner(self):
        class Worker(object):
            state = 'new'

            def start(self):
                self.state = 'running'

            def stop(self):
                self.state = 'stopped'

        worker = Worker()
        runner = self.make_runner('a')
        runner.add_worker(worker)
        runner.start()
        self.assertEqual('running', worker.state)
        runner.stop()
        self.assertEqual('stopped', worker.state)
        self.assertFalse(runner.is_leader)


class TestPeriodicTaskFailures(testtools.TestCase):
    """What a failed run of a periodic task logs."""

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger())

    def run_failing(self, exc):
        def fail():
            raise exc

        task = runner_mod.PeriodicTask('purge', 60, fail,
                                       leader_only=False,
                                       run_on_election=True)
        task.start(lambda task: True)
        self.addCleanup(task.stop)
        self.assertTrue(wait_for(lambda: task.runs >= 1))

    def test_a_database_away_is_one_warning_line(self):
        # While the database refuses connections the task fails at every
        # interval: a traceback each time said nothing more.
        self.run_failing(sqlalchemy.exc.OperationalError(
            None, None, Exception('database "x" is not currently '
                                  'accepting connections')))
        self.assertIn('Periodic task purge failed, the database failed '
                      '(database "x" is not currently accepting '
                      'connections); it runs again in 60 s',
                      self.log.output)
        self.assertNotIn('Traceback', self.log.output)

    def test_other_failures_keep_their_traceback(self):
        self.run_failing(ValueError('a bug'))
        self.assertIn('Periodic task purge failed; it runs again',
                      self.log.output)
        self.assertIn('Traceback', self.log.output)

    def test_leading_again_a_failure_is_a_new_warning(self):
        """A leader that lost leadership mid-outage never saw its end;
        when it leads again a failure was only a debug line."""
        self.log = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        leading = [True]
        asked = []

        def may_run(task):
            asked.append(leading[0])
            return leading[0]

        def fail():
            raise sqlalchemy.exc.OperationalError(
                None, None, Exception('connection refused'))

        task = runner_mod.PeriodicTask('purge', None, fail)
        task.start(may_run)
        self.addCleanup(task.stop)
        task.wake()
        self.assertTrue(wait_for(lambda: task.runs >= 1))
        leading[0] = False
        task.wake()
        self.assertTrue(wait_for(lambda: len(asked) >= 2))
        leading[0] = True
        task.wake()
        self.assertTrue(wait_for(lambda: task.runs >= 2))
        self.assertEqual(2, self.log.output.count(
            'Periodic task purge failed, the database failed'))
