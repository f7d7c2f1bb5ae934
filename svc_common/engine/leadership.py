"""Leader election among the engine processes of one service, with tooz.

The leader is the process that holds one named tooz lock
(``<prog>-engine-leader``).  Every process tries to take it without
waiting, and a follower tries again every ``[coordination]
election_interval`` seconds; the leader checks as often that the lock is
still its own.  A lock rather than tooz's group leader election, because
every tooz backend has locks, the embedded ``file://`` one included,
while group election needs ZooKeeper, Redis, etcd or memcached.

A leader that stops releases the lock at once; one that dies loses it
when the backend notices (the process's file lock goes with it;
Redis, etcd and ZooKeeper leases expire without heartbeats), and a
follower takes over at its next attempt.
"""

import threading

from oslo_log import log as logging
import tooz
from tooz import coordination

LOG = logging.getLogger(__name__)


class Leadership(object):
    """Who of the processes sharing ``backend_url`` leads.

    :param backend_url: tooz URL (``file:///var/lib/arbiter/coordination``,
        ``etcd3+http://...``, ``redis://...``, ``zookeeper://...``)
    :param lock_name: the name every process of the service uses
    :param member_id: this process, as the backend names it
    :param interval: seconds between two election attempts or checks
    :param on_elected: called (in the election thread) when this process
        becomes the leader
    """

    def __init__(self, backend_url, lock_name, member_id, interval,
                 on_elected=None):
        self.backend_url = backend_url
        self.lock_name = lock_name.encode()
        self.member_id = member_id.encode()
        self.interval = interval
        self.on_elected = on_elected
        self._leading = threading.Event()
        self._stop = threading.Event()
        self._coordinator = None
        self._lock = None
        self._thread = None

    @property
    def is_leader(self):
        return self._leading.is_set()

    def wait_until_leader(self, timeout=None):
        """True once this process leads; False after ``timeout``."""
        return self._leading.wait(timeout)

    def start(self):
        """Join the backend and make the first attempt before returning."""
        self._coordinator = coordination.get_coordinator(self.backend_url,
                                                         self.member_id)
        self._coordinator.start(start_heart=True)
        self._check()
        self._thread = threading.Thread(
            target=self._run, daemon=True,
            name='leadership-%s' % self.lock_name.decode())
        self._thread.start()

    def stop_campaigning(self):
        """No more attempts or checks; a leader stays the leader."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def resign(self):
        """Stop campaigning, release the lock and leave the backend."""
        self.stop_campaigning()
        if self._lock is not None and self._leading.is_set():
            self._leading.clear()
            self._drop_lock()
            LOG.info('%s no longer leads %s', self.member_id, self.lock_name)
        if self._coordinator is not None:
            self._coordinator.stop()
            self._coordinator = None

    def _run(self):
        while not self._stop.wait(self.interval):
            self._check()

    def _still_owner(self):
        """Whether the held lock is still ours.  A backend that cannot
        tell (tooz's etcd3gw lock has no ``is_still_owner``) is trusted
        to keep it while the coordinator's heartbeat refreshes it."""
        try:
            return self._lock.is_still_owner()
        except tooz.NotImplemented:
            return True

    def _drop_lock(self):
        """Let go of the held lock, so that the next attempt (ours or
        another process's) can take it."""
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            lock.release()
        except tooz.ToozError:
            LOG.warning('Could not release the leader lock %s; the backend '
                        'frees it when its lease ends', self.lock_name)

    def _check(self):
        try:
            if self._leading.is_set():
                if not self._still_owner():
                    self._leading.clear()
                    self._drop_lock()
                    LOG.warning('%s lost the leader lock %s',
                                self.member_id, self.lock_name)
                return
            # A new lock object per attempt: tooz's file lock counts a
            # failed attempt as a reference that a release never drops
            # (tooz 9.1), so a reused one would still think it owned the
            # lock after releasing it.
            lock = self._coordinator.get_lock(self.lock_name)
            if lock.acquire(blocking=False):
                self._lock = lock
                self._leading.set()
                LOG.info('%s now leads %s', self.member_id, self.lock_name)
                if self.on_elected is not None:
                    self.on_elected()
        except tooz.ToozError:
            # The backend failed: nobody can be sure to lead.  The lock is
            # let go too: a backend whose heartbeat keeps refreshing held
            # locks would otherwise keep it ours, and every later attempt
            # (a new lock object) would fail against it.
            if self._leading.is_set():
                self._leading.clear()
                self._drop_lock()
                LOG.exception('Coordination backend failed; %s stops '
                              'leading %s', self.member_id, self.lock_name)
            else:
                LOG.exception('Coordination backend failed; will retry')
