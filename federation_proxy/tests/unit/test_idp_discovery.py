"""What the proxy keeps of an IdP's discovery document: its endpoints,
and whether it names itself in its authorization responses (RFC 9207),
which the login callback then requires."""

import fixtures
import testtools

from federation_proxy.db import idps
from federation_proxy.db import models
from federation_proxy import upstream

ISSUER = 'https://idp.example.org'


def document(**extra):
    return dict({'issuer': ISSUER,
                 'authorization_endpoint': ISSUER + '/auth',
                 'token_endpoint': ISSUER + '/token',
                 'jwks_uri': ISSUER + '/jwks'}, **extra)


class TestIssParameter(testtools.TestCase):

    def discovered(self, served):
        self.useFixture(fixtures.MockPatchObject(
            upstream, 'get_json', lambda url, timeout: served))
        return idps.discover(ISSUER, 5)

    def registered(self, served):
        row = models.IdentityProvider()
        idps._apply(row, {}, None, self.discovered(served))
        return row

    def test_an_idp_that_says_it_names_itself_must(self):
        row = self.registered(document(
            authorization_response_iss_parameter_supported=True))
        self.assertTrue(idps.sends_iss(row))
        self.assertEqual(ISSUER + '/auth',
                         idps.endpoints(row)['authorization_endpoint'])

    def test_an_idp_that_does_not_say_so_need_not(self):
        for served in (document(),
                       document(
                           authorization_response_iss_parameter_supported=(
                               False)),
                       document(
                           authorization_response_iss_parameter_supported=(
                               'true'))):
            self.assertFalse(idps.sends_iss(self.registered(served)))

    def test_an_idp_registered_without_discovery_need_not(self):
        row = models.IdentityProvider()
        idps._apply(row, document(), None, None)
        self.assertFalse(idps.sends_iss(row))

    def test_discovered_again_without_it_it_need_no_longer(self):
        row = self.registered(document(
            authorization_response_iss_parameter_supported=True))
        idps._apply(row, {}, None, self.discovered(document()))
        self.assertFalse(idps.sends_iss(row))
        self.assertEqual(ISSUER + '/token',
                         idps.endpoints(row)['token_endpoint'])

    def test_endpoints_given_by_hand_leave_it(self):
        row = self.registered(document(
            authorization_response_iss_parameter_supported=True))
        idps._apply(row, {'token_endpoint': ISSUER + '/token2'}, None,
                    None)
        self.assertTrue(idps.sends_iss(row))
