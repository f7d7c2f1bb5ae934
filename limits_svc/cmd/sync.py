"""``limits-manage sync``: copy projects and limits from Keystone."""

import sys

from limits_svc.clients import keystone as keystone_client
from limits_svc import keystone_engine
from limits_svc import keystone_sync
from svc_common.db import database


def _sync(spec, conf):
    if conf.limits.mode != 'keystone':
        print('limits-manage sync: [limits] mode is %r: nothing to sync '
              '(set mode = keystone).' % conf.limits.mode, file=sys.stderr)
        return 1
    try:
        counts = keystone_engine.sync(conf, database.Database(conf))
    except (keystone_client.TruncatedList, keystone_sync.BadAnswer) as exc:
        print('limits-manage sync: %s' % exc, file=sys.stderr)
        return 1
    print('Synced %(projects)d projects, %(registered_limits)d registered '
          'limits and %(limits)d limits from Keystone.' % counts)
    return 0


def add_parser(subparsers):
    what = ('Copy the project tree and the unified limits from Keystone '
            '(keystone mode).')
    parser = subparsers.add_parser(
        'sync', help=what,
        description=what + ' In local mode there is nothing to sync: the '
        'command says so and exits 1.')
    parser.set_defaults(func=_sync)
