"""The clean-up of leaked trusts with a broker that records (Keystone's
answers are in the functional tests): what a refused deletion logs."""

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
import testtools

from reaper_svc.db import pending as pending_db
from reaper_svc import leaked_trusts
from reaper_svc import trusts

GRACE = 3600


class ListingTrusts(trusts.TrustBroker):

    def __init__(self, listed, refuse=None):
        self.listed = list(listed)
        self.refuse = refuse or {}
        self.deleted = []

    def create_trust(self, user_token, project_id, roles):
        raise NotImplementedError()

    def auth(self, trust_id):
        return None

    def list_trust_ids(self):
        return list(self.listed)

    def delete_trust(self, trust_id):
        if trust_id in self.refuse:
            raise self.refuse[trust_id]
        self.listed.remove(trust_id)
        self.deleted.append(trust_id)


class TestLeakedTrusts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.named = set()
        self.useFixture(fixtures.MockPatchObject(
            pending_db, 'live_trust_ids',
            lambda db, ctx: set(self.named)))
        self.log = self.useFixture(fixtures.FakeLogger(
            name=leaked_trusts.__name__))
        self.now = 0.0

    def cleanup(self, broker, per_pass=100):
        return leaked_trusts.LeakedTrusts(None, broker, GRACE, per_pass,
                                          clock=lambda: self.now)

    def test_a_refused_deletion_is_logged_once(self):
        broker = ListingTrusts(['t1'], refuse={
            't1': ks_exceptions.Forbidden('not the trustor')})
        cleanup = self.cleanup(broker)
        cleanup.sweep()
        self.now = GRACE
        self.assertEqual([], cleanup.sweep())
        self.assertEqual([], cleanup.sweep())
        self.assertEqual(1, self.log.output.count(
            'Leaked trust t1 could not be deleted'))

    def test_a_trust_gone_meanwhile_is_not_counted(self):
        broker = ListingTrusts(['t1'], refuse={
            't1': ks_exceptions.NotFound('no such trust')})
        cleanup = self.cleanup(broker)
        cleanup.sweep()
        self.now = GRACE
        self.assertEqual([], cleanup.sweep())
        self.assertNotIn('could not be deleted', self.log.output)

    def test_a_trust_named_again_counts_from_anew(self):
        broker = ListingTrusts(['t1'])
        cleanup = self.cleanup(broker)
        cleanup.sweep()
        self.named = {'t1'}
        self.now = GRACE / 2
        cleanup.sweep()
        # Its request finished, its trust's deletion failed.
        self.named = set()
        self.now = GRACE
        self.assertEqual([], cleanup.sweep())
        self.now = GRACE * 2 - 1
        self.assertEqual([], cleanup.sweep())
        self.now = GRACE * 2
        self.assertEqual(['t1'], cleanup.sweep())

    def test_an_outage_of_the_deletion_ends_the_pass(self):
        broker = ListingTrusts(['t1', 't2'], refuse={
            't1': ks_exceptions.ConnectFailure('Keystone is away')})
        cleanup = self.cleanup(broker)
        cleanup.sweep()
        self.now = GRACE
        self.assertRaises(ks_exceptions.ConnectFailure, cleanup.sweep)
        self.assertEqual([], broker.deleted)
        del broker.refuse['t1']
        self.assertEqual(['t1', 't2'], sorted(cleanup.sweep()))

    def test_no_broker_cleans_nothing(self):
        self.assertEqual([], self.cleanup(None).sweep())
