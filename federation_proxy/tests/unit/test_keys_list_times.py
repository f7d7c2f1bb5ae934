"""``federation-manage keys list|rotate`` write a key's creation time as
every Arbiter answer writes a time (``2026-11-30T21:21:42Z``); they
printed Python's ``2026-11-30T21:21:42.352312``, without its zone."""

import datetime
import io

import fixtures
import testtools

from federation_proxy.cmd import keys
from federation_proxy.oidc import keys as oidc_keys


class _Record(object):
    def __init__(self, kid, state, created_at):
        self.kid, self.state, self.created_at = kid, state, created_at


class TestKeysListTimes(testtools.TestCase):

    def test_creation_time_in_utc_whole_seconds(self):
        created = datetime.datetime(2026, 11, 30, 21, 21, 42, 352312)
        records = [_Record('k1', oidc_keys.CURRENT, created)]
        out = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        keys._show(records, created, datetime.timedelta(minutes=5))
        self.assertEqual('%-44s %-8s %s\n' % ('k1', oidc_keys.CURRENT,
                                              '2026-11-30T21:21:42Z'),
                         out.getvalue())
