"""The engine process of a service: listeners, periodic tasks, a leader.

What runs where (the same on every service):

* **Notification listeners run on every engine host.**  They share one
  pool (one queue on RabbitMQ), so each notification reaches one host,
  and more hosts mean more throughput and no single point of failure.
  Their endpoints must be idempotent (delivery is at least once).
* **Periodic tasks run on the leader only** (``leader_only=True``, the
  default): sweeps and resyncs that must happen once per cloud, not once
  per host.  ``leader_only=False`` is for per-host work.
* **Workers** (objects with ``start()`` and ``stop()``, e.g. a thread
  that a listener wakes) run on every host, like the listeners.

A service's engine command builds a :class:`Runner`, adds its work and
calls :meth:`Runner.run`::

    runner = runner_mod.Runner(service.SPEC, conf)
    runner.add_listener(targets, [endpoint], pool='limits')
    runner.add_periodic('purge', 10, purge)
    return runner.run()          # until SIGTERM or SIGINT

Stopping is graceful: no new task starts, a task that is running
finishes, listeners finish the notifications they hold, and only then
does the leader release its lock, so that after a graceful stop the next
leader never runs a task at the same time.  A leader that dies or loses
its backend lease cannot promise that: a task it had started may still be
running when the next leader starts its own, so leader-only tasks must be
safe to run twice at once (the expiry sweep and the Keystone resync are:
each change is its own locked transaction).
"""

import signal
import socket
import threading
import uuid

from oslo_log import log as logging

from svc_common.conf import coordination as coordination_conf
from svc_common.engine import leadership
from svc_common.messaging import bus
from svc_common import outage

LOG = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class PeriodicTask(object):
    """``function()`` every ``interval`` seconds, in its own thread.

    :param interval: seconds between the end of one run and the start of
        the next; ``None``: no periodic run, only those of
        ``run_on_election`` and :meth:`wake`.
    :param run_on_election: also run as soon as this host becomes the
        leader (for a leader-only task) or at start (for the others),
        instead of waiting a first interval.

    A run that fails is logged with its traceback, except in an outage
    (:func:`svc_common.outage.passing`): the database down, restarting,
    refusing connections or locked past the busy timeout, or a service
    reached through keystoneauth1 (Nova, Placement, Keystone, Glance)
    unreachable, answering 5xx or timing out.  Such a task fails at every
    interval until what failed is back, so an outage is logged once
    (:class:`svc_common.outage.OutageLog`): one warning line without a
    traceback at the first failed run, debug lines at the next ones (a
    reminder warning every 10 minutes, and a new warning when what fails
    changes: the database back, Nova away), and one info line at the
    first run that succeeds again.  A host that stops leading forgets
    the outage: when it leads again, a failure is a new warning.
    """

    def __init__(self, name, interval, function, leader_only=True,
                 run_on_election=False):
        self.name = name
        self.interval = interval
        self.function = function
        self.leader_only = leader_only
        self.run_on_election = run_on_election
        #: Completed runs (successful or not), for tests and status.
        self.runs = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = None
        self._may_run = None
        self._outage = outage.OutageLog(LOG, 'Periodic task %s' % name)

    def start(self, may_run):
        self._may_run = may_run
        if self.run_on_election and not self.leader_only:
            self._wake.set()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='periodic-%s' % self.name)
        self._thread.start()

    def wake(self):
        """Run now rather than at the end of the interval."""
        self._wake.set()

    def stop(self, timeout=None):
        """No new run; wait for the one in progress to finish."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self):
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if self._may_run(self):
                self.run_once()
            else:
                # Another host leads: this one will not see the end of
                # an outage going on, and a failure when it leads again
                # (days later, maybe) is a new outage, with its warning.
                self._outage.forget()

    def run_once(self):
        """One run, now, in the caller's thread, logged as the periodic
        runs are (see the class documentation); a failure is logged, not
        raised.  The task's thread calls it at each interval."""
        try:
            self.function()
        except Exception as exc:
            if outage.passing(exc):
                self._outage.failed(exc, 'it runs again in %s s'
                                    % self.interval)
            else:
                LOG.exception('Periodic task %s failed; it runs again in '
                              '%s s', self.name, self.interval)
        else:
            self._outage.succeeded()
        finally:
            self.runs += 1


class _Listener(object):
    def __init__(self, targets, endpoints, pool):
        self.targets = targets
        self.endpoints = endpoints
        self.pool = pool
        self.listener = None


class Runner(object):
    """Everything the engine process of one service runs.

    :param spec: the service's ``ServiceSpec`` (names the leader lock)
    :param conf: the service's parsed ``ConfigOpts``; ``[coordination]``
        is registered on it if the service did not
    :param member_id: this process for the coordination backend; by
        default ``<prog>-engine.<host>.<random>``
    """

    def __init__(self, spec, conf, member_id=None):
        coordination_conf.register_opts(conf)
        self.spec = spec
        self.conf = conf
        self.member_id = member_id or '%s-engine.%s.%s' % (
            spec.prog, socket.gethostname(), uuid.uuid4().hex[:8])
        self.tasks = []
        self.workers = []
        self._listeners = []
        self._transport = None
        self._signalled = threading.Event()
        self._stopped = False
        self.leadership = leadership.Leadership(
            conf.coordination.backend_url,
            '%s-engine-leader' % spec.prog, self.member_id,
            conf.coordination.election_interval,
            on_elected=self._elected)

    @property
    def is_leader(self):
        return self.leadership.is_leader

    @property
    def stopping(self):
        """True once :meth:`stop` was called: a long task may ask it
        between steps and end early."""
        return self._stopped

    def add_listener(self, targets, endpoints, pool):
        """Notification endpoints, run on every host (see module doc)."""
        self._listeners.append(_Listener(targets, endpoints, pool))

    def add_periodic(self, name, interval, function, leader_only=True,
                     run_on_election=False):
        """A periodic task; leader-only unless said otherwise."""
        task = PeriodicTask(name, interval, function, leader_only,
                            run_on_election)
        self.tasks.append(task)
        return task

    def add_worker(self, worker):
        """An object with ``start()`` and ``stop()``, run on every host;
        started before the listeners, stopped after them."""
        self.workers.append(worker)

    def start(self):
        for worker in self.workers:
            worker.start()
        if self._listeners:
            self._transport = bus.get_notification_transport(self.conf)
        for item in self._listeners:
            item.listener = bus.get_notification_listener(
                self.conf, self._transport, item.targets, item.endpoints,
                pool=item.pool)
            item.listener.start()
        # The first election attempt happens here, before any task runs.
        self.leadership.start()
        for task in self.tasks:
            task.start(self._may_run)
        LOG.info('%s started: %d listener(s), %d periodic task(s), %s',
                 self.member_id, len(self._listeners), len(self.tasks),
                 'leader' if self.is_leader else 'follower')

    def stop(self):
        """Graceful stop; returns when everything has finished.

        Stopping a stopped runner does nothing.
        """
        if self._stopped:
            return
        self._stopped = True
        self.leadership.stop_campaigning()
        for task in self.tasks:
            task.stop()
        for item in self._listeners:
            if item.listener is not None:
                item.listener.stop()
                item.listener.wait()
        for worker in reversed(self.workers):
            worker.stop()
        self.leadership.resign()
        if self._transport is not None:
            self._transport.cleanup()
            self._transport = None
        LOG.info('%s stopped', self.member_id)

    def run(self):
        """Start, serve until SIGTERM or SIGINT, stop gracefully; 0.

        Call it from the main thread (signal handlers are installed
        there).
        """
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        self.start()
        while not self._signalled.wait(1):
            pass
        LOG.info('Stopping %s', self.member_id)
        self.stop()
        return 0

    def _on_signal(self, signum, frame):
        self._signalled.set()

    def _may_run(self, task):
        return not task.leader_only or self.is_leader

    def _elected(self):
        for task in self.tasks:
            if task.leader_only and task.run_on_election:
                task.wake()
