"""The OIDC provider's pure rules: PKCE, scopes, key rotation."""

import datetime

import testtools

from federation_proxy.oidc import keys
from federation_proxy.oidc import protocol

T0 = datetime.datetime(2030, 1, 1)
LIFE = datetime.timedelta(seconds=300)


class TestProtocol(testtools.TestCase):

    def test_pkce_s256(self):
        verifier = 'v' * 43
        challenge = protocol.s256(verifier)
        protocol.check_challenge(challenge, 'S256')
        protocol.check_verifier(verifier, challenge)
        for bad in ('w' * 43, 'v' * 42, None, 'v' * 43 + '!'):
            self.assertRaises(protocol.OAuthError, protocol.check_verifier,
                              bad, challenge)
        for method in ('plain', None, 's256'):
            self.assertRaises(protocol.OAuthError,
                              protocol.check_challenge, challenge, method)

    def test_scopes(self):
        self.assertEqual(['openid', 'email'], protocol.granted_scope(
            'openid email openid', ['openid', 'email']))
        self.assertEqual(['openid'], protocol.granted_scope(
            '', ['openid'], default=['openid']))
        for text in ('admin', 'open"id', 'a\\b'):
            self.assertRaises(protocol.OAuthError, protocol.granted_scope,
                              text, ['openid'])
        self.assertRaises(protocol.OAuthError, protocol.narrowed_scope,
                          'openid email', ['openid'])

    def test_redirect_uri_exact(self):
        uri = 'https://leaf.example.org/cb'
        protocol.check_redirect_uri(uri, [uri])
        for bad in (uri + '/', uri + '?a=1', 'https://LEAF.example.org/cb',
                    None, ''):
            self.assertRaises(protocol.OAuthError,
                              protocol.check_redirect_uri, bad, [uri])


class TestKeys(testtools.TestCase):

    def test_rotation_keeps_old_keys_while_their_tokens_live(self):
        records = keys.bootstrap(T0)
        first = keys.signing_key(records)
        states, new, dropped = keys.rotate(records, T0 + LIFE, LIFE)
        records = [r._replace(state=states.get(r.kid, r.state))
                   for r in records] + new
        self.assertEqual([], dropped)
        self.assertEqual(keys.RETIRED, {r.kid: r.state
                                        for r in records}[first.kid])
        self.assertEqual(3, len(keys.published(records, T0 + LIFE, LIFE)))
        gone = T0 + 2 * LIFE + keys.LEEWAY + datetime.timedelta(seconds=1)
        self.assertEqual(2, len(keys.published(records, gone, LIFE)))
        states, new, dropped = keys.rotate(records, gone, LIFE)
        self.assertEqual([first.kid], dropped)
