"""``limits-engine``: the limits service's background work.

It runs on :mod:`svc_common.engine.runner`, so several hosts can run it
at once ([coordination] backend_url names the tooz backend they share):

* on the leader only, every ``[limits] purge_interval`` seconds: free the
  reservations (allocations made with ``expires_in``) whose time ran out;
* in ``keystone`` mode, see :mod:`limits_svc.keystone_engine`: a full
  sync when a host becomes the leader and every ``[keystone]
  resync_interval`` seconds (leader only), and on every host a listener
  of Keystone's notifications (pool ``limits``) that resyncs.

SIGTERM or SIGINT stop it gracefully: a sweep or a sync in progress
finishes first.
"""

import functools
import sys

from oslo_log import log as logging

from limits_svc.db import allocations as allocations_db
from limits_svc import keystone_engine
from limits_svc import service
from svc_common import config
from svc_common import context
from svc_common.db import database
from svc_common.engine import runner as runner_mod

LOG = logging.getLogger(__name__)
ENGINE_DESCRIPTION = (
    'The background work of the limits service: expired reservations '
    'and, in keystone mode, the sync from Keystone. SIGINT or SIGTERM '
    'stop it.')

PURGE_TASK = 'purge-expired-reservations'


def purge_expired(db, stopping=None):
    """Free the expired reservations; how many were freed."""
    freed = allocations_db.purge_expired(db, context.admin_context(),
                                         stopping=stopping)
    if freed:
        LOG.info('Freed %d expired reservations', freed)
    return freed


def build_runner(conf, db, keystone_adapter=None, member_id=None):
    """The engine runner of limits_svc, not yet started."""
    runner = runner_mod.Runner(service.SPEC, conf, member_id=member_id)
    runner.add_periodic(PURGE_TASK, conf.limits.purge_interval,
                        functools.partial(purge_expired, db,
                                          lambda: runner.stopping),
                        run_on_election=True)
    if conf.limits.mode == 'keystone':
        keystone_engine.add_to_runner(runner, conf, db, keystone_adapter)
    return runner


def main(argv=None):
    conf = config.build_conf(
        service.SPEC, args=sys.argv[1:] if argv is None else argv,
        command='limits-engine',
        description=ENGINE_DESCRIPTION)
    logging.setup(conf, 'limits-engine')
    return build_runner(conf, database.Database(conf)).run()
