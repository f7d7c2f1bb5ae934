"""``limits-manage usage audit [--fix]``: counters against allocations."""

from limits_svc.db import audit
from svc_common import context
from svc_common.db import database


def _audit(spec, conf):
    fix = conf.command.fix
    drifts = audit.audit(database.Database(conf), context.admin_context(),
                         fix=fix)
    for drift in drifts:
        print(drift.describe())
    if not drifts:
        print('Every usage counter matches the allocations.')
        return 0
    if fix:
        print('Repaired %d usage counters.' % len(drifts))
        return 0
    print('%d usage counters differ from the allocations; run '
          '"%s-manage usage audit --fix" to repair them.'
          % (len(drifts), spec.prog))
    return 1


def add_parser(subparsers):
    usage = subparsers.add_parser(
        'usage', help='Usage ledger commands.')
    usage_sub = usage.add_subparsers(dest='usage_action', metavar='{audit}')
    usage_sub.required = True
    what = ('Recompute every usage counter from the allocation rows and '
            'print those that differ (exit status 1 when some do); with '
            '--fix, repair them all in one transaction.')
    parser = usage_sub.add_parser('audit', help=what, description=what)
    parser.add_argument('--fix', action='store_true',
                        help='Write the recomputed counters.')
    parser.set_defaults(func=_audit)
