"""The Keystone trust broker against a Keystone that never answers (a
port on 127.0.0.1 that takes connections and says nothing): the real
Keystone runs in the functional trust tests."""


import fixtures
import testtools

from reaper_svc import trusts
from svc_common.tests.fixtures import ports


class TestKeystoneThatNeverAnswers(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.url = self.useFixture(ports.HangingPort('/v3')).url

    def test_taking_a_trust_fails_in_time(self):
        # Without a timeout keystoneauth1 waited for ever: the API's
        # POST /v1/pending hung with it, instead of answering 503.
        self.useFixture(fixtures.MockPatchObject(
            trusts.KeystoneTrusts, 'TIMEOUT', 1))
        broker = trusts.KeystoneTrusts(self.url, 'reaper', 'secret')
        self.assertRaises(trusts.TrustError, broker.create_trust,
                          'user-token', 'p1', ['member'])
        self.assertRaises(trusts.TrustError, broker.delete_trust, 't-1')
