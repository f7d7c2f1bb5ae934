"""``federation-manage keys rotate|list``: the OIDC provider's signing
keys.

``keys rotate`` retires the current key, makes the next key (published
since the last rotation) current and makes a new next key; retired keys
stay published until the tokens they signed have expired (the access
token lifetime, plus a minute for clocks), and a rotation forgets those
that no token can need any more.  It also forgets expired authorization
codes, refresh tokens and revocations.  Run it on one host, e.g. from
cron every few weeks; API processes pick the new key up within seconds.
"""

import datetime

from federation_proxy.db import oidc as oidc_db
from federation_proxy.oidc import keys
from svc_common import context
from svc_common.db import database
from svc_common import isotime


def _show(records, now, lifetime):
    published = {r.kid for r in keys.published(records, now, lifetime)}
    for record in sorted(records, key=lambda r: r.created_at):
        print('%-44s %-8s %s%s' % (
            record.kid, record.state, isotime.isoformat(record.created_at),
            '' if record.kid in published else '  (unpublished)'))


def _lifetime(conf):
    return datetime.timedelta(seconds=conf.federation.access_token_lifetime)


def _rotate(spec, conf):
    db, ctx = database.Database(conf), context.admin_context()
    now = datetime.datetime.utcnow()
    records = oidc_db.rotate_keys(db, ctx, now, _lifetime(conf))
    purged = oidc_db.purge_expired(db, ctx, now)
    _show(records, now, _lifetime(conf))
    print('Rotated: %s now signs; %d expired codes and tokens forgotten.'
          % (keys.signing_key(records).kid, purged))
    return 0


def _list(spec, conf):
    db, ctx = database.Database(conf), context.admin_context()
    records = oidc_db.load_keys(db, ctx)
    if not records:
        # An empty output read as a failure, or as a database that is
        # not the one the API uses.
        print('No signing keys yet: the OIDC provider makes its first two '
              'when its API starts, or run "federation-manage keys '
              'rotate".')
        return 0
    _show(records, datetime.datetime.utcnow(), _lifetime(conf))
    return 0


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'keys', help='Signing keys of the OIDC provider.')
    sub = parser.add_subparsers(dest='keys_action',
                                metavar='{rotate,list}')
    sub.required = True
    sub.add_parser('rotate', help='Make the next key current, make a new '
                                  'next key, forget retired keys whose '
                                  'tokens have all expired.'
                   ).set_defaults(func=_rotate)
    sub.add_parser('list', help='Print the keys with their state.'
                   ).set_defaults(func=_list)
