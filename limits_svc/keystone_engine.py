"""Keep limits_svc's copy of Keystone current (``keystone`` mode).

:func:`sync` reads everything once and replaces the local copy in one
transaction.  :class:`KeystoneListener` is the notification endpoint of
``limits-engine``: any ``identity.project.*``, ``identity.limit.*`` or
``identity.registered_limit.*`` notification marks the copy stale, and a
worker thread resyncs (several notifications in a burst cost one sync).
A redelivered notification only marks the copy stale again, so handling
is idempotent.  Keystone 30 announces project changes but sends nothing
when a limit or registered limit changes; those arrive with the periodic
resync (``[keystone] resync_interval``) or ``limits-manage sync``.
The listener does not use the database: while it is down or refuses
connections, a notification still marks the copy stale, and the resync
thread tries again every :data:`RETRY_DELAY` seconds until it is back;
so it does while Keystone cannot be read (down, hanging, answering 5xx).
Such an outage (:func:`svc_common.outage.passing`) is logged once
(:class:`svc_common.outage.OutageLog`): a warning without a traceback
at the first failed attempt, debug lines at the next ones, an info line
at the first sync that succeeds again.  A refusal that will not pass by
itself (Keystone refusing the service user, a 404) is a warning at each
attempt, and a bug a traceback.

:func:`add_to_runner` puts these on the engine runner of
:mod:`svc_common.engine.runner`: the listener and the resync thread run on
every engine host (the listeners share one pool, so a notification
reaches one host); the full sync when a host becomes the leader and the
periodic resync run on the leader only.
"""

import threading

from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging
import oslo_messaging

from limits_svc.clients import keystone as keystone_client
from limits_svc.db import keystone as keystone_db
from limits_svc.db import tree
from limits_svc import keystone_sync
from svc_common import context
from svc_common import outage

LOG = logging.getLogger(__name__)

EVENT_PATTERN = r'^identity\.(project|limit|registered_limit)\.'
# limits_svc's queue: every engine host consumes from it.
LISTENER_POOL = 'limits'
# Seconds between a failed sync and the next attempt.
RETRY_DELAY = 5


def sync(conf, db, adapter=None):
    """One full sync from Keystone; returns the counts written.

    :raises keystone_client.TruncatedList: Keystone cut a list short.
    :raises keystone_sync.BadAnswer: an item of a list is not what
        Keystone's API answers.  Nothing is written either way.
    """
    adapter = adapter or keystone_client.adapter_from_conf(conf)

    def read_snapshot():
        projects, registered, limits = keystone_client.fetch(adapter)
        return keystone_sync.snapshot(projects, registered, limits,
                                      conf.keystone.subtree_marker,
                                      max_depth=tree.MAX_DEPTH)
    # Read under the syncs' own lock (see sync_from_keystone): a sync of
    # another host that read Keystone earlier cannot commit after this one.
    counts = keystone_db.sync_from_keystone(db, context.admin_context(),
                                            read_snapshot)
    LOG.info('Synced from Keystone: %(projects)d projects, '
             '%(registered_limits)d registered limits, %(limits)d limits',
             counts)
    return counts


class Resyncer(object):
    """Runs :func:`sync` in a thread whenever the copy is marked stale.

    What marks it stale: a Keystone notification (:class:`KeystoneListener`)
    and the leader's periodic resync (:func:`add_to_runner`).
    """

    def __init__(self, conf, db, adapter=None):
        self.conf = conf
        self.db = db
        self.adapter = adapter
        self._stale = threading.Event()
        self._stop = threading.Event()
        self.syncs = 0
        self._outage = outage.OutageLog(LOG, 'Sync from Keystone')
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='keystone-resync')

    def start(self):
        self._thread.start()

    def mark_stale(self):
        self._stale.set()

    def stop(self):
        self._stop.set()
        self._stale.set()
        # Until the sync in progress ends (the Keystone client's timeouts
        # bound it): the runner releases the leader lock only after this,
        # so that two hosts never sync at once.
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            self._stale.wait()
            if self._stop.is_set():
                return
            self._stale.clear()
            try:
                sync(self.conf, self.db, self.adapter)
            except (keystone_client.TruncatedList,
                    keystone_sync.BadAnswer) as exc:
                # Keystone answers the same until its configuration
                # changes: the next notification or resync tries again.
                # It answered: an outage that was going on is over, but
                # the sync did not succeed.
                LOG.error('Sync from Keystone refused: %s', exc)
                self._outage.succeeded(
                    'reaches Keystone again (its answer was refused, see '
                    'the error before)')
            except Exception as exc:
                self._failed(exc)
                self._stop.wait(RETRY_DELAY)
                self._stale.set()
            else:
                self.syncs += 1
                self._outage.succeeded()

    def _failed(self, exc):
        """Log a failed sync: once per outage of Keystone or the
        database, at each attempt otherwise."""
        if outage.passing(exc):
            # Down, restarting, refusing connections, answering 5xx: the
            # attempts every few seconds until it is back would each log
            # one line more.
            self._outage.failed(exc, 'it is tried again every %d s'
                                % RETRY_DELAY)
        elif isinstance(exc, ks_exc.ClientException):
            # Keystone refusing the service user or answering another
            # error: it will not pass by itself, one line each time (not
            # the traceback of keystoneauth1).
            LOG.warning('Sync from Keystone failed, Keystone could '
                        'not be read (%s: %s); will retry in %d s',
                        type(exc).__name__, exc, RETRY_DELAY)
        else:
            LOG.exception('Sync from Keystone failed; will retry')


def targets(conf):
    """Where Keystone's notifications arrive."""
    return [oslo_messaging.Target(topic=topic,
                                  exchange=conf.keystone.notification_exchange)
            for topic in conf.keystone.notification_topics]


class KeystoneListener(object):
    """Notification endpoint: Keystone changed something, resync."""

    filter_rule = oslo_messaging.NotificationFilter(
        event_type=EVENT_PATTERN)

    def __init__(self, resyncer):
        self.resyncer = resyncer

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        LOG.debug('Keystone %s (%s): resync', event_type,
                  metadata.get('message_id'))
        self.resyncer.mark_stale()
        return oslo_messaging.NotificationResult.HANDLED


def add_to_runner(runner, conf, db, adapter=None):
    """Put the Keystone sync on an engine ``runner``; returns the
    :class:`Resyncer`.

    ``[keystone] resync_interval`` seconds between two periodic resyncs
    of the leader (0: only when a host becomes the leader).
    """
    resyncer = Resyncer(conf, db, adapter)
    runner.add_worker(resyncer)
    runner.add_listener(targets(conf), [KeystoneListener(resyncer)],
                        pool=LISTENER_POOL)
    runner.add_periodic('keystone-resync',
                        conf.keystone.resync_interval or None,
                        resyncer.mark_stale, run_on_election=True)
    return resyncer
