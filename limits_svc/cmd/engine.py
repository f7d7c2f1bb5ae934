"""``limits-engine``: the limits service's background work.

In ``keystone`` mode it syncs from Keystone at start, then listens for
Keystone's notifications (pool ``limits``) and resyncs when they arrive
and every ``[keystone] resync_interval`` seconds.  In every mode it frees
expired reservations every ``[limits] purge_interval`` seconds.
"""

import signal
import sys
import threading

from oslo_log import log as logging

from limits_svc.db import api as db_api
from limits_svc import keystone_engine
from limits_svc import service
from svc_common import config
from svc_common import context
from svc_common.db import database
from svc_common.messaging import bus

LOG = logging.getLogger(__name__)


def start_listener(conf, resyncer):
    transport = bus.get_notification_transport(conf)
    listener = bus.get_notification_listener(
        conf, transport, keystone_engine.targets(conf),
        [keystone_engine.KeystoneListener(resyncer)], pool='limits')
    listener.start()
    return listener


def main(argv=None):
    conf = config.build_conf(service.SPEC, args=sys.argv[1:]
                             if argv is None else argv)
    logging.setup(conf, 'limits-engine')
    db = database.Database(conf)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    listener = resyncer = None
    if conf.limits.mode == 'keystone':
        resyncer = keystone_engine.Resyncer(conf, db)
        resyncer.mark_stale()
        resyncer.start()
        listener = start_listener(conf, resyncer)
    while not stop.wait(conf.limits.purge_interval):
        freed = db_api.purge_expired(db, context.admin_context())
        if freed:
            LOG.info('Freed %d expired reservations', freed)
    if listener is not None:
        listener.stop()
        listener.wait()
    if resyncer is not None:
        resyncer.stop()
    return 0
