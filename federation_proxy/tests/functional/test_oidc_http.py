"""The OIDC provider over real HTTP on 127.0.0.1, driven as a relying
party would drive it: authlib's ``OAuth2Session`` obtains tokens through
each grant, authlib checks the discovery document, and pyjwt's
``PyJWKClient`` validates the tokens against the JWKS the proxy serves
(fetched over HTTP, the way a leaf Keystone's mod_auth_openidc or a
Python relying party does).
"""

import datetime

from authlib.integrations.base_client import errors as oauth2_errors
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc import discovery
import jwt as pyjwt
import requests
import testtools

from federation_proxy.db import oidc as oidc_db
from federation_proxy.tests.functional import oidc_setup as s
from svc_common import context
from svc_common.db import database


class ProviderOverHttp(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.fixture = self.useFixture(s.ProviderOverHttp())
        self.base = self.fixture.base
        app = self.fixture.app
        s.make_person(app, 'alice')
        self.vo = s.make_vo(app, 'astro', ['alice'])
        self.client_id, self.secret = s.make_client(app, 'portal')
        self.meta = requests.get(
            self.base + '/.well-known/openid-configuration').json()
        self.jwks = pyjwt.PyJWKClient(self.meta['jwks_uri'],
                                      cache_keys=False,
                                      cache_jwk_set=False)

    def validate(self, token, audience=None):
        key = self.jwks.get_signing_key_from_jwt(token)
        return pyjwt.decode(token, key.key, algorithms=['RS256'],
                            audience=audience or self.client_id,
                            issuer=self.base)

    def session(self, **kwargs):
        return OAuth2Session(self.client_id, self.secret,
                             scope='openid profile email',
                             redirect_uri=s.REDIRECT,
                             code_challenge_method='S256', **kwargs)

    def code_flow(self, session):
        verifier = pyjwt.utils.base64url_encode(
            b'v' * 40).decode() + 'abcdefgh'
        url, state = session.create_authorization_url(
            self.meta['authorization_endpoint'], code_verifier=verifier,
            nonce='n-42')
        resp = requests.get(url, headers=s.person_headers('alice'),
                            allow_redirects=False)
        self.assertEqual(302, resp.status_code, resp.text)
        return session.fetch_token(
            self.meta['token_endpoint'],
            authorization_response=resp.headers['Location'],
            code_verifier=verifier)

    def test_discovery_document_is_valid_metadata(self):
        metadata = discovery.OpenIDProviderMetadata(self.meta)
        metadata.validate()
        self.assertEqual(self.base, metadata['issuer'])

    def test_authorization_code_with_pkce_and_refresh(self):
        session = self.session()
        token = self.code_flow(session)
        claims = self.validate(token['access_token'])
        self.assertEqual('alice', claims['sub'])
        self.assertEqual(['astro'], claims['groups'])
        ident = self.validate(token['id_token'])
        self.assertEqual('n-42', ident['nonce'])
        # The refresh grant, with rotation.
        new = session.refresh_token(self.meta['token_endpoint'],
                                    refresh_token=token['refresh_token'])
        self.assertNotEqual(token['refresh_token'], new['refresh_token'])
        self.validate(new['access_token'])
        # Userinfo with the session's bearer token.
        info = session.get(self.meta['userinfo_endpoint']).json()
        self.assertEqual('alice', info['sub'])
        self.assertEqual(['astro'], info['groups'])
        # The old refresh token is refused after rotation.
        error = self.assertRaises(
            oauth2_errors.OAuthError, session.refresh_token,
            self.meta['token_endpoint'],
            refresh_token=token['refresh_token'])
        self.assertEqual('invalid_grant', error.error)

    def test_client_credentials_and_post_authentication(self):
        session = OAuth2Session(
            self.client_id, self.secret, scope='compute',
            token_endpoint_auth_method='client_secret_post')
        token = session.fetch_token(self.meta['token_endpoint'],
                                    grant_type='client_credentials')
        self.assertEqual('portal', self.validate(
            token['access_token'])['sub'])

    def test_introspection_and_revocation(self):
        session = self.session()
        token = self.code_flow(session)
        auth = (self.client_id, self.secret)
        answer = requests.post(self.meta['introspection_endpoint'],
                               data={'token': token['access_token']},
                               auth=auth).json()
        self.assertTrue(answer['active'])
        session.revoke_token(self.meta['revocation_endpoint'],
                             token['access_token'])
        answer = requests.post(self.meta['introspection_endpoint'],
                               data={'token': token['access_token']},
                               auth=auth).json()
        self.assertEqual({'active': False}, answer)

    def test_token_signed_before_rotation_validates_after(self):
        token = self.code_flow(self.session())
        before = [k.key_id for k in self.jwks.get_jwk_set().keys]
        oidc_db.rotate_keys(database.Database(self.fixture.conf),
                            context.admin_context(),
                            datetime.datetime.utcnow(),
                            datetime.timedelta(seconds=300))
        after = [k.key_id for k in self.jwks.get_jwk_set().keys]
        self.assertEqual(3, len(after))
        self.assertTrue(set(before) <= set(after))
        self.validate(token['access_token'])
        self.validate(token['id_token'])

    def test_wrong_audience_and_issuer_refused_by_the_relying_party(self):
        token = self.code_flow(self.session())
        key = self.jwks.get_signing_key_from_jwt(token['access_token'])
        self.assertRaises(pyjwt.InvalidAudienceError, pyjwt.decode,
                          token['access_token'], key.key,
                          algorithms=['RS256'], audience='someone-else',
                          issuer=self.base)
        self.assertRaises(pyjwt.InvalidIssuerError, pyjwt.decode,
                          token['id_token'], key.key, algorithms=['RS256'],
                          audience=self.client_id,
                          issuer='https://other.example.org')
