"""What may be registered as an IdP issuer, a redirect URI, a client."""

import testtools

from federation_proxy import registration as r

DEVICE = r.DEVICE_CODE


class TestIssuer(testtools.TestCase):

    def test_accepted(self):
        for issuer in ('https://idp.example.org',
                       'https://idp.example.org/realms/x/',
                       'http://127.0.0.1:8080/realm', 'http://localhost'):
            r.check_issuer(issuer)

    def test_refused(self):
        for issuer in ('http://idp.example.org', 'idp.example.org',
                       'https://idp.example.org/?a=b',
                       'https://idp.example.org/#f', 'https://',
                       'ftp://idp.example.org', 'https://x:99999999/'):
            error = self.assertRaises(r.Refused, r.check_issuer, issuer)
            self.assertEqual('issuer', error.field)

    def test_discovery_url(self):
        self.assertEqual(
            'https://a.example/r/.well-known/openid-configuration',
            r.discovery_url('https://a.example/r/'))


class TestClient(testtools.TestCase):

    def test_accepted(self):
        r.check_client([r.AUTHORIZATION_CODE, r.REFRESH_TOKEN],
                       ['https://leaf/cb', 'http://127.0.0.1:8400/'], False)
        r.check_client([DEVICE, r.REFRESH_TOKEN], [], True)
        r.check_client([r.CLIENT_CREDENTIALS], [], False)

    def test_refused(self):
        for grants, uris, public, field in [
                ([r.AUTHORIZATION_CODE], [], False, 'redirect_uris'),
                ([r.AUTHORIZATION_CODE], ['http://leaf/cb'], False,
                 'redirect_uris'),
                ([r.AUTHORIZATION_CODE], ['https://leaf/cb#frag'], False,
                 'redirect_uris'),
                ([r.AUTHORIZATION_CODE], ['/relative'], False,
                 'redirect_uris'),
                ([r.CLIENT_CREDENTIALS], [], True, 'grant_types'),
                ([r.REFRESH_TOKEN], [], False, 'grant_types'),
                ([r.REFRESH_TOKEN, r.CLIENT_CREDENTIALS], [], False,
                 'grant_types')]:
            error = self.assertRaises(r.Refused, r.check_client, grants,
                                      uris, public)
            self.assertEqual(field, error.field, (grants, uris, public))


class TestScopes(testtools.TestCase):

    def test_joined_within_the_bound(self):
        self.assertEqual('openid email', r.joined_scopes(['openid', 'email']))
        longest = ['x' * 127, 'y' * 127]
        self.assertEqual(255, len(r.joined_scopes(longest)))
        error = self.assertRaises(r.Refused, r.joined_scopes,
                                  longest + ['z'])
        self.assertEqual('scopes', error.field)
        self.assertIn('257', str(error))
