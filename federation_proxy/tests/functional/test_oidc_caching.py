"""What the token and introspection endpoints' speed-ups must not
change: a client read from the per-process cache, and a refresh grant
done in one transaction.

The cache of clients (:data:`federation_proxy.api.oidc.
CLIENT_CACHE_SECONDS`) may let a deleted client, or a replaced secret,
work for those few seconds in a process that read it before; a new
secret works at once; and with the cache expired a deleted client or an
old secret is refused.
"""

import fixtures

from federation_proxy.tests.functional import oidc_setup as s
from federation_proxy.tests.functional import test_oidc_provider as base


class TestClientCache(base.ProviderTestCase):

    def expire_cache(self):
        self.useFixture(fixtures.MonkeyPatch(
            'federation_proxy.api.oidc.CLIENT_CACHE_SECONDS', -1))

    def test_deleted_client_refused_once_the_cache_expires(self):
        access = self.login()['access_token']
        self.introspect(access)
        self.app.delete('/v1/clients/%s' % self.client_id,
                        headers=s.ADMIN)
        # Within the cache's lifetime this process still knows it (the
        # answer is not a 401), though the tokens it was issued went
        # with it...
        self.assertEqual({'active': False}, self.introspect(access).json)
        # ...and not beyond.
        self.expire_cache()
        self.assertOAuthError(self.introspect(access, status=401),
                              'invalid_client', 401)
        self.assertOAuthError(self.token(
            {'grant_type': 'client_credentials'}, status=401),
            'invalid_client', 401)

    def test_new_secret_works_at_once_and_the_old_one_expires(self):
        access = self.login()['access_token']
        self.introspect(access)
        new = self.app.patch_json('/v1/clients/%s' % self.client_id,
                                  {'rotate_secret': True},
                                  headers=s.ADMIN).json['client']['secret']
        self.assertTrue(self.introspect(
            access, client=(self.client_id, new)).json['active'])
        # The fresh read that accepted the new secret refused the old.
        self.assertOAuthError(self.introspect(access, status=401),
                              'invalid_client', 401)
        self.expire_cache()
        self.assertOAuthError(self.introspect(access, status=401),
                              'invalid_client', 401)
        self.assertTrue(self.introspect(
            access, client=(self.client_id, new)).json['active'])

    def test_wrong_secret_is_refused_even_with_a_cached_client(self):
        self.introspect(self.login()['access_token'])
        self.assertOAuthError(self.introspect(
            'x', client=(self.client_id, 'wrong'), status=401),
            'invalid_client', 401)

    def test_authorize_reads_the_client_afresh(self):
        # The token endpoint has the client in this process's cache; a
        # redirect URI the operator removes gets no more codes at once.
        self.introspect(self.login()['access_token'])
        self.app.patch_json('/v1/clients/%s' % self.client_id, {
            'redirect_uris': ['http://127.0.0.1:8765/elsewhere']},
            headers=s.ADMIN)
        resp, _verifier = self.authorize(status=400)
        self.assertEqual('invalid_request', resp.json['error'])

    def test_refresh_leaves_out_a_scope_the_client_lost(self):
        # The operator takes 'email' from the client: the grants made
        # before (a refresh token, a code not yet exchanged) no longer
        # carry it once the client is read again.
        body = self.login()
        code, verifier = self.code()
        self.app.patch_json('/v1/clients/%s' % self.client_id, {
            'scopes': ['openid', 'profile']}, headers=s.ADMIN)
        self.expire_cache()
        new = self.token({'grant_type': 'refresh_token',
                          'refresh_token': body['refresh_token']}).json
        self.assertEqual('openid profile', new['scope'])
        self.assertEqual('openid profile',
                         self.decode(new['access_token'])['scope'])
        self.assertNotIn('email', self.decode(new['id_token']))
        self.assertEqual('openid profile',
                         self.exchange(code, verifier).json['scope'])
        # The successor's grant has it no more: asked for, refused.
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token', 'scope': 'openid email',
            'refresh_token': new['refresh_token']}, status=400),
            'invalid_scope')
        # With none of the grant's scopes left, no token.
        self.app.patch_json('/v1/clients/%s' % self.client_id, {
            'scopes': ['compute']}, headers=s.ADMIN)
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': new['refresh_token']}, status=400),
            'invalid_scope')

    def test_cache_is_per_database(self):
        # Two apps in one process (two services, or tests): a client of
        # one is not a client of the other.
        other = self.useFixture(base.af.ServiceApp(base.service.SPEC))
        other.app.post('/oidc/token', {'grant_type': 'client_credentials'},
                       headers=s.basic(self.client_id, self.secret),
                       status=401)


class TestRefreshInOneTransaction(base.ProviderTestCase):

    def test_refused_scope_does_not_use_up_the_refresh_token(self):
        body = self.login()
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token', 'scope': 'openid compute',
            'refresh_token': body['refresh_token']}, status=400),
            'invalid_scope')
        new = self.token({'grant_type': 'refresh_token', 'scope': 'openid',
                          'refresh_token': body['refresh_token']}).json
        self.assertEqual('openid', new['scope'])
        # The successor keeps the grant's scope (RFC 6749 6): the
        # narrower access token was for that refresh only.
        again = self.token({'grant_type': 'refresh_token',
                            'refresh_token': new['refresh_token']}).json
        self.assertEqual('openid profile email', again['scope'])
        self.assertEqual('openid profile email',
                         self.decode(again['access_token'])['scope'])
