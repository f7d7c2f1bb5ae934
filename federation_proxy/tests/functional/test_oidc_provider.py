"""The OIDC provider through the complete WSGI app (webtest): the grants,
userinfo, introspection, revocation, key rotation, and every refusal.

Tokens are checked with pyjwt against the JWKS the proxy serves, not
with the proxy's own verification.
"""

import base64
import datetime
import hashlib
import hmac
import json
import time

import fixtures
import jwt as pyjwt
import sqlalchemy as sa
import testtools

from federation_proxy.db import communities
from federation_proxy.db import models
from federation_proxy.db import oidc as oidc_db
from federation_proxy.oidc import keys
from federation_proxy import service
from federation_proxy.tests.functional import oidc_setup as s
from svc_common import context
from svc_common.db import database
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import postgresql

ISSUER = 'http://127.0.0.1:9873'


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def forged(header, claims, signature=b'sig'):
    """A compact JWS with any header and claims (for refusals)."""
    return '.'.join([_b64(json.dumps(header).encode()),
                     _b64(json.dumps(claims).encode()), _b64(signature)])


def hs256(header, claims, secret):
    """The key-confusion forgery: HMAC keyed with the public key."""
    signing_input = '.'.join([_b64(json.dumps(header).encode()),
                              _b64(json.dumps(claims).encode())])
    mac = hmac.new(secret.encode(), signing_input.encode(),
                   hashlib.sha256).digest()
    return signing_input + '.' + _b64(mac)


class ProviderTestCase(testtools.TestCase):

    def database_overrides(self):
        return {}

    def setUp(self):
        super().setUp()
        self.fixture = self.useFixture(af.ServiceApp(
            service.SPEC, overrides=self.database_overrides()))
        self.app = self.fixture.app
        self.db = database.Database(self.fixture.conf)
        self.ctx = context.admin_context()
        self.alice = s.make_person(self.app, 'alice')
        self.vo = s.make_vo(self.app, 'astro', [self.alice])
        self.vo2 = s.make_vo(self.app, 'bio')
        self.bio_membership = s.add_member(self.app, self.vo2, self.alice)
        self.client_id, self.secret = s.make_client(self.app, 'portal')
        self.other_id, self.other_secret = s.make_client(self.app, 'other')

    # -- helpers ---------------------------------------------------------

    def jwks(self):
        return pyjwt.PyJWKSet.from_dict(self.app.get('/oidc/jwks').json)

    def decode(self, token, audience=None, **options):
        """pyjwt's validation against the served JWKS."""
        kid = pyjwt.get_unverified_header(token)['kid']
        key = [k for k in self.jwks().keys if k.key_id == kid][0]
        return pyjwt.decode(token, key.key, algorithms=['RS256'],
                            audience=audience or self.client_id,
                            issuer=ISSUER, options=options)

    def authorize(self, user_id=None, client_id=None, status=302,
                  **params):
        verifier, challenge = s.pkce_pair()
        query = {'response_type': 'code',
                 'client_id': client_id or self.client_id,
                 'redirect_uri': s.REDIRECT, 'scope': 'openid profile email',
                 'state': 'st-1', 'nonce': 'n-1',
                 'code_challenge': challenge,
                 'code_challenge_method': 'S256'}
        query.update(params)
        query = {k: v for k, v in query.items() if v is not None}
        resp = self.app.get('/oidc/authorize', query, headers=s.
                            person_headers(user_id or self.alice),
                            status=status)
        return resp, verifier

    def code(self, **params):
        resp, verifier = self.authorize(**params)
        answer = s.query_of(resp.location)
        return answer['code'], verifier

    def token(self, form, client=None, status=200):
        client_id, secret = client or (self.client_id, self.secret)
        return self.app.post('/oidc/token', form,
                             headers=s.basic(client_id, secret),
                             status=status)

    def exchange(self, code, verifier, status=200, **extra):
        form = dict({'grant_type': 'authorization_code', 'code': code,
                     'redirect_uri': s.REDIRECT,
                     'code_verifier': verifier}, **extra)
        return self.token(form, status=status)

    def login(self):
        return self.exchange(*self.code()).json

    def introspect(self, token, client=None, status=200):
        client_id, secret = client or (self.client_id, self.secret)
        return self.app.post('/oidc/introspect', {'token': token},
                             headers=s.basic(client_id, secret),
                             status=status)

    def userinfo(self, token, status=200):
        return self.app.get('/oidc/userinfo', headers={
            'Authorization': 'Bearer %s' % token}, status=status)

    def assertOAuthError(self, resp, error, status=400):
        self.assertEqual(status, resp.status_int, resp.body)
        self.assertEqual(error, resp.json['error'])
        self.assertEqual('federation.%s' % error,
                         resp.json['errors'][0]['code'])


class TestGrants(ProviderTestCase):

    def test_code_flow_tokens_validate_in_pyjwt(self):
        body = self.login()
        self.assertEqual('Bearer', body['token_type'])
        self.assertEqual(300, body['expires_in'])
        access = self.decode(body['access_token'])
        self.assertEqual('at+jwt',
                         pyjwt.get_unverified_header(
                             body['access_token'])['typ'])
        self.assertEqual('alice', access['sub'])
        self.assertEqual(300, access['exp'] - access['iat'])
        self.assertEqual(access['iat'], access['nbf'])
        self.assertEqual('openid profile email', access['scope'])
        self.assertEqual(['astro', 'bio'], access['groups'])
        self.assertIn('urn:geant:example.org:group:astro:role=manager'
                      '#127.0.0.1', access['eduperson_entitlement'])
        self.assertIn('urn:geant:example.org:group:bio#127.0.0.1',
                      access['eduperson_entitlement'])
        ident = self.decode(body['id_token'])
        self.assertEqual('n-1', ident['nonce'])
        self.assertEqual('alice', ident['sub'])
        self.assertEqual('Alice', ident['name'])
        self.assertEqual('alice@example.org', ident['email'])
        self.assertIn('at_hash', ident)
        self.assertIn('refresh_token', body)

    def test_authorization_request_by_post(self):
        # OIDC Core 3.1.2.1: the authorization endpoint takes POST too,
        # its parameters as form fields.
        verifier, challenge = s.pkce_pair()
        form = {'response_type': 'code', 'client_id': self.client_id,
                'redirect_uri': s.REDIRECT, 'scope': 'openid',
                'state': 'st-p', 'nonce': 'n-p',
                'code_challenge': challenge,
                'code_challenge_method': 'S256'}
        resp = self.app.post('/oidc/authorize', form,
                             headers=s.person_headers(self.alice),
                             status=302)
        answer = s.query_of(resp.location)
        self.assertEqual(('st-p', ISSUER), (answer['state'], answer['iss']))
        body = self.exchange(answer['code'], verifier).json
        self.assertEqual('n-p', self.decode(body['id_token'])['nonce'])
        # Refusals as for GET: at the redirect URI once the client is
        # known, else answered.
        resp = self.app.post('/oidc/authorize', dict(
            form, code_challenge_method='plain'),
            headers=s.person_headers(self.alice), status=302)
        self.assertEqual('invalid_request',
                         s.query_of(resp.location)['error'])
        resp = self.app.post('/oidc/authorize', dict(
            form, redirect_uri='http://evil.example.org/cb'),
            headers=s.person_headers(self.alice), status=400)
        self.assertEqual('invalid_request', resp.json['error'])
        resp = self.app.post_json('/oidc/authorize', form,
                                  headers=s.person_headers(self.alice),
                                  status=400)
        self.assertEqual('invalid_request', resp.json['error'])
        # Without a person, the browser is sent to log in and back to
        # the same request (as a GET).
        resp = self.app.post('/oidc/authorize', form, status=302)
        self.assertTrue(resp.location.startswith(ISSUER + '/v1/login?'))
        back = s.query_of(resp.location)['next']
        self.assertTrue(back.startswith('/oidc/authorize?'))
        self.assertEqual(form, s.query_of(back))

    def test_redirect_carries_state_and_issuer(self):
        resp, _ = self.authorize()
        self.assertTrue(resp.location.startswith(s.REDIRECT + '?'))
        answer = s.query_of(resp.location)
        self.assertEqual('st-1', answer['state'])
        self.assertEqual(ISSUER, answer['iss'])

    def test_removed_member_next_token_has_no_entitlement(self):
        before = self.decode(self.login()['access_token'])
        self.assertIn('bio', before['groups'])
        s.remove_member(self.app, self.vo2, self.bio_membership)
        body = self.login()
        after = self.decode(body['access_token'])
        self.assertEqual(['astro'], after['groups'])
        self.assertFalse([e for e in after['eduperson_entitlement']
                          if ':bio' in e])
        # The refresh grant computes them again too.
        self.assertEqual(['astro'], self.decode(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': body['refresh_token']}).json[
                'access_token'])['groups'])

    def test_expired_membership_gives_no_entitlement(self):
        self.app.patch_json('/v1/vos/%s/memberships/%s' % (
            self.vo2, self.bio_membership), {'status': 'expired'},
            headers=s.ADMIN)
        self.assertNotIn('bio', self.decode(
            self.login()['access_token'])['groups'])

    def test_refresh_rotates_and_reuse_revokes_the_grant(self):
        first = self.login()
        second = self.token({'grant_type': 'refresh_token',
                             'refresh_token': first['refresh_token']}).json
        self.assertNotEqual(first['refresh_token'], second['refresh_token'])
        resp = self.token({'grant_type': 'refresh_token',
                           'refresh_token': first['refresh_token']},
                          status=400)
        self.assertOAuthError(resp, 'invalid_grant')
        # The reuse ended the grant: the new refresh token is dead too,
        # and so is the access token issued with it.
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': second['refresh_token']}, status=400),
            'invalid_grant')
        self.assertEqual({'active': False},
                         self.introspect(second['access_token']).json)

    def test_an_expired_refresh_token_shown_again_ends_no_grant(self):
        other_device = self.login()
        stale = self.login()
        with self.db.writer.using(self.ctx) as session:
            session.execute(sa.update(models.RefreshToken).where(
                models.RefreshToken.token_hash == communities.token_hash(
                    stale['refresh_token'])).values(
                        expires_at=datetime.datetime.utcnow() -
                        datetime.timedelta(seconds=1)))
        # A client retrying with its expired token: expired each time.
        for _attempt in range(3):
            self.assertOAuthError(self.token({
                'grant_type': 'refresh_token',
                'refresh_token': stale['refresh_token']}, status=400),
                'invalid_grant')
        # The person's grant on another device stands.
        self.assertTrue(self.introspect(
            other_device['access_token']).json['active'])
        self.token({'grant_type': 'refresh_token',
                    'refresh_token': other_device['refresh_token']})

    def test_a_reuse_revokes_the_access_tokens_that_may_be_valid(self):
        # A grant refreshed for weeks keeps its used refresh tokens (so
        # that a reuse is recognised); the access tokens issued with all
        # but the last ones expired long ago, and revoking each of them
        # again made a reuse or a logout take seconds (4.6 s for a month
        # of refreshes every five minutes).
        bodies = [self.login()]
        for _refresh in range(40):
            bodies.append(self.token({
                'grant_type': 'refresh_token',
                'refresh_token': bodies[-1]['refresh_token']}).json)
        made_long_ago = [communities.token_hash(b['refresh_token'])
                         for b in bodies[:-2]]
        with self.db.writer.using(self.ctx) as session:
            session.execute(sa.update(models.RefreshToken).where(
                models.RefreshToken.token_hash.in_(made_long_ago)).values(
                    created_at=datetime.datetime.utcnow() -
                    datetime.timedelta(days=1)))
        revoked_before = self._revocations()
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': bodies[0]['refresh_token']}, status=400),
            'invalid_grant')
        # The grant is over: the latest tokens are dead...
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': bodies[-1]['refresh_token']}, status=400),
            'invalid_grant')
        for body in bodies[-2:]:
            self.assertEqual({'active': False},
                             self.introspect(body['access_token']).json)
        # ...and only the access tokens that may still be valid were
        # revoked, not one per refresh the grant ever had.
        self.assertEqual(2, self._revocations() - revoked_before)

    def _revocations(self):
        with self.db.reader.using(self.ctx) as session:
            return session.scalar(sa.select(sa.func.count()).select_from(
                models.RevokedToken))

    def test_refresh_scope_can_only_narrow(self):
        body = self.login()
        narrowed = self.token({'grant_type': 'refresh_token',
                               'refresh_token': body['refresh_token'],
                               'scope': 'openid'}).json
        self.assertEqual('openid', narrowed['scope'])
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': narrowed['refresh_token'],
            'scope': 'openid compute'}, status=400), 'invalid_scope')

    def test_a_narrowed_refresh_keeps_the_grants_scope(self):
        # RFC 6749 6: a client may ask a refresh for a narrower access
        # token; the new refresh token has the scope of the one it
        # replaces, so the next refresh gets the whole grant again.
        body = self.login()
        narrowed = self.token({'grant_type': 'refresh_token',
                               'refresh_token': body['refresh_token'],
                               'scope': 'openid'}).json
        self.assertEqual('openid', narrowed['scope'])
        self.assertEqual('openid', self.decode(
            narrowed['access_token'], options={
                'verify_aud': False})['scope'])
        self.assertNotIn('name', self.decode(narrowed['id_token']))
        self.assertEqual('openid profile email', self.introspect(
            narrowed['refresh_token']).json['scope'])
        whole = self.token({'grant_type': 'refresh_token',
                            'refresh_token': narrowed['refresh_token']}).json
        self.assertEqual('openid profile email', whole['scope'])
        self.assertEqual('Alice', self.decode(whole['id_token'])['name'])
        again = self.token({'grant_type': 'refresh_token',
                            'refresh_token': whole['refresh_token'],
                            'scope': 'email openid'}).json
        self.assertEqual('email openid', again['scope'])

    def test_refresh_token_of_another_client_refused(self):
        body = self.login()
        self.assertOAuthError(self.token(
            {'grant_type': 'refresh_token',
             'refresh_token': body['refresh_token']},
            client=(self.other_id, self.other_secret), status=400),
            'invalid_grant')

    def test_client_credentials(self):
        body = self.token({'grant_type': 'client_credentials',
                           'scope': 'compute'}).json
        claims = self.decode(body['access_token'])
        self.assertEqual('portal', claims['sub'])
        self.assertEqual([], claims['groups'])
        self.assertNotIn('id_token', body)
        self.assertNotIn('refresh_token', body)
        self.assertOAuthError(self.token({
            'grant_type': 'client_credentials', 'scope': 'openid'},
            status=400), 'invalid_scope')

    def test_client_credentials_never_grant_the_management_scope(self):
        # A client's own token has no person behind it: asked for, the
        # management scope is refused; by default it is left out.
        client_id, secret = s.make_client(
            self.app, 'robot', grants=['client_credentials'],
            scopes=['compute', 'vo_management'])
        self.assertOAuthError(self.app.post('/oidc/token', {
            'grant_type': 'client_credentials', 'scope': 'vo_management'},
            headers=s.basic(client_id, secret), status=400),
            'invalid_scope')
        body = self.app.post('/oidc/token', {
            'grant_type': 'client_credentials'},
            headers=s.basic(client_id, secret)).json
        self.assertEqual('compute', body['scope'])
        self.assertEqual('compute', self.decode(
            body['access_token'], audience=client_id)['scope'])

    def test_client_credentials_token_is_nobody_at_userinfo(self):
        # A client's own token names the client: never the person who
        # happens to have the client's id (an operator chose both ids).
        s.make_person(self.app, self.client_id, name='Portal Person',
                      email='portal-person@example.org')
        s.add_member(self.app, self.vo, self.client_id)
        token = self.token({'grant_type': 'client_credentials'}).json[
            'access_token']
        resp = self.userinfo(token, status=401)
        self.assertOAuthError(resp, 'invalid_token', 401)
        self.assertNotIn(b'portal-person', resp.body)
        # The person's own token still reaches userinfo.
        self.assertEqual('alice', self.userinfo(
            self.login()['access_token']).json['sub'])

    def test_client_secret_post(self):
        code, verifier = self.code()
        resp = self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier,
            'client_id': self.client_id, 'client_secret': self.secret})
        self.assertIn('access_token', resp.json)
        self.assertEqual('no-store', resp.headers['Cache-Control'])

    def test_public_client_with_pkce(self):
        s.make_client(self.app, 'cli', grants=['authorization_code'],
                      public=True)
        code, verifier = self.code(client_id='cli')
        resp = self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier,
            'client_id': 'cli'})
        self.assertEqual('cli', self.decode(resp.json['access_token'],
                                            audience='cli')['aud'])
        self.assertNotIn('refresh_token', resp.json)

    def test_userinfo_is_current(self):
        body = self.login()
        info = self.userinfo(body['access_token']).json
        self.assertEqual('alice', info['sub'])
        self.assertEqual('alice@example.org', info['email'])
        self.assertEqual(['astro', 'bio'], info['groups'])
        s.remove_member(self.app, self.vo2, self.bio_membership)
        self.assertEqual(['astro'], self.userinfo(
            body['access_token']).json['groups'])

    def test_userinfo_by_post(self):
        """OIDC Core 5.3.1: userinfo answers POST too, with the token in
        the Authorization header or, RFC 6750 2.2, as the access_token
        form field; the same person as with GET."""
        token = self.login()['access_token']
        by_get = self.userinfo(token).json
        by_header = self.app.post('/oidc/userinfo', headers={
            'Authorization': 'Bearer %s' % token}).json
        by_form = self.app.post('/oidc/userinfo',
                                {'access_token': token}).json
        self.assertEqual('alice', by_get['sub'])
        self.assertEqual(by_get, by_header)
        self.assertEqual(by_get, by_form)
        # A POST's answer is as current as a GET's.
        s.remove_member(self.app, self.vo2, self.bio_membership)
        self.assertEqual(['astro'], self.app.post(
            '/oidc/userinfo', {'access_token': token}).json['groups'])

    def test_userinfo_post_refusals(self):
        token = self.login()['access_token']
        # No token at all, a token that is not one, a client's own token.
        self.assertOAuthError(self.app.post('/oidc/userinfo', status=401),
                              'invalid_token', 401)
        self.assertOAuthError(self.app.post(
            '/oidc/userinfo', {'access_token': token[:-4]}, status=401),
            'invalid_token', 401)
        client_token = self.token({'grant_type': 'client_credentials'}).json[
            'access_token']
        self.assertOAuthError(self.app.post(
            '/oidc/userinfo', {'access_token': client_token}, status=401),
            'invalid_token', 401)
        # Two ways at once (RFC 6750 2), a JSON body instead of a form.
        resp = self.app.post('/oidc/userinfo', {'access_token': token},
                             headers={'Authorization': 'Bearer %s' % token},
                             status=400)
        self.assertOAuthError(resp, 'invalid_request')
        resp = self.app.post_json('/oidc/userinfo', {'access_token': token},
                                  status=400)
        self.assertOAuthError(resp, 'invalid_request')
        # Other methods are still refused.
        self.app.put('/oidc/userinfo', status=405)

    def test_introspection_and_revocation(self):
        body = self.login()
        answer = self.introspect(body['access_token']).json
        self.assertTrue(answer['active'])
        self.assertEqual('alice', answer['sub'])
        self.assertEqual('portal', answer['client_id'])
        self.assertEqual(['astro', 'bio'], answer['groups'])
        # Another confidential client (a resource server) may ask too.
        self.assertTrue(self.introspect(
            body['access_token'],
            client=(self.other_id, self.other_secret)).json['active'])
        self.app.post('/oidc/revoke', {'token': body['access_token']},
                      headers=s.basic(self.client_id, self.secret))
        self.assertEqual({'active': False},
                         self.introspect(body['access_token']).json)
        self.assertOAuthError(self.userinfo(body['access_token'],
                                            status=401),
                              'invalid_token', 401)
        # Its grant ended with it (RFC 7009 2.1): the refresh token
        # issued with it is refused too.
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': body['refresh_token']}, status=400),
            'invalid_grant')

    def test_a_revoked_refresh_token_shown_again_ends_no_other_grant(self):
        # A relying party revokes its refresh token when the person logs
        # out of it (RFC 7009); the token shown again afterwards (a
        # refresh in flight, another tab) is refused, and is not taken
        # for a stolen one: the person's grant with the same client on
        # another device stands.
        other_device = self.login()
        body = self.login()
        self.app.post('/oidc/revoke', {'token': body['refresh_token'],
                                       'token_type_hint': 'refresh_token'},
                      headers=s.basic(self.client_id, self.secret))
        self.assertEqual({'active': False},
                         self.introspect(body['access_token']).json)
        for _attempt in range(2):
            self.assertOAuthError(self.token({
                'grant_type': 'refresh_token',
                'refresh_token': body['refresh_token']}, status=400),
                'invalid_grant')
        self.assertTrue(self.introspect(
            other_device['access_token']).json['active'])
        self.token({'grant_type': 'refresh_token',
                    'refresh_token': other_device['refresh_token']})

    def _rotated_grant(self):
        """A grant refreshed twice: its three token responses."""
        answers = [self.login()]
        for _refresh in range(2):
            answers.append(self.token({
                'grant_type': 'refresh_token',
                'refresh_token': answers[-1]['refresh_token']}).json)
        return answers

    def assertGrantEnded(self, answers):
        for answer in answers:
            self.assertEqual({'active': False},
                             self.introspect(answer['access_token']).json)
            self.assertOAuthError(self.userinfo(answer['access_token'],
                                                status=401),
                                  'invalid_token', 401)
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': answers[-1]['refresh_token']}, status=400),
            'invalid_grant')

    def test_revoking_a_refresh_token_ends_its_whole_grant(self):
        # The access tokens issued before the refresh token revoked, with
        # its predecessors, are refused at once, not after their
        # lifetime; the person's grant on another device stands.
        other_device = self.login()
        answers = self._rotated_grant()
        for answer in answers:
            self.assertTrue(self.introspect(answer['access_token']).json[
                'active'])
        self.app.post('/oidc/revoke', {'token': answers[-1]['refresh_token'],
                                       'token_type_hint': 'refresh_token'},
                      headers=s.basic(self.client_id, self.secret))
        self.assertGrantEnded(answers)
        self.assertTrue(self.introspect(
            other_device['access_token']).json['active'])
        self.token({'grant_type': 'refresh_token',
                    'refresh_token': other_device['refresh_token']})

    def test_revoking_an_access_token_ends_its_whole_grant(self):
        other_device = self.login()
        answers = self._rotated_grant()
        # An access token of the middle of the grant: the grant's live
        # refresh token and every access token of it end.
        self.app.post('/oidc/revoke', {'token': answers[1]['access_token'],
                                       'token_type_hint': 'access_token'},
                      headers=s.basic(self.client_id, self.secret))
        self.assertGrantEnded(answers)
        self.assertTrue(self.introspect(
            other_device['access_token']).json['active'])
        self.token({'grant_type': 'refresh_token',
                    'refresh_token': other_device['refresh_token']})

    def test_revoking_a_used_refresh_token_keeps_its_reuse_recognised(self):
        body = self.login()
        new = self.token({'grant_type': 'refresh_token',
                          'refresh_token': body['refresh_token']}).json
        self.app.post('/oidc/revoke', {'token': body['refresh_token']},
                      headers=s.basic(self.client_id, self.secret))
        # Shown again, the rotated token is still a reuse: the grant
        # ends.
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': body['refresh_token']}, status=400),
            'invalid_grant')
        self.assertEqual({'active': False},
                         self.introspect(new['access_token']).json)

    def test_introspecting_refresh_tokens(self):
        body = self.login()
        answer = self.introspect(body['refresh_token']).json
        expires = int(time.time()) + 30 * 86400
        self.assertLess(abs(answer.pop('exp') - expires), 60)
        self.assertEqual({'active': True, 'token_type': 'refresh_token',
                          'scope': 'openid profile email',
                          'client_id': 'portal', 'sub': 'alice',
                          'iss': ISSUER}, answer)
        # Another client learns nothing of it.
        self.assertEqual({'active': False}, self.introspect(
            body['refresh_token'],
            client=(self.other_id, self.other_secret)).json)
        # Used (rotated): inactive; its successor is active.
        new = self.token({'grant_type': 'refresh_token',
                          'refresh_token': body['refresh_token']}).json
        self.assertEqual({'active': False},
                         self.introspect(body['refresh_token']).json)
        self.assertTrue(self.introspect(new['refresh_token']).json[
            'active'])
        # Expired: inactive.
        later = datetime.datetime.utcnow() + datetime.timedelta(days=31)
        with fixtures.MockPatch('federation_proxy.api.settings.now',
                                return_value=later):
            self.assertEqual({'active': False},
                             self.introspect(new['refresh_token']).json)
        # Revoked: inactive.
        self.app.post('/oidc/revoke', {'token': new['refresh_token']},
                      headers=s.basic(self.client_id, self.secret))
        self.assertEqual({'active': False},
                         self.introspect(new['refresh_token']).json)

    def test_revoking_another_clients_token_does_nothing(self):
        body = self.login()
        self.app.post('/oidc/revoke', {'token': body['access_token']},
                      headers=s.basic(self.other_id, self.other_secret))
        self.app.post('/oidc/revoke', {'token': body['refresh_token']},
                      headers=s.basic(self.other_id, self.other_secret))
        self.assertTrue(self.introspect(body['access_token']).json[
            'active'])
        self.token({'grant_type': 'refresh_token',
                    'refresh_token': body['refresh_token']})

    def test_a_deleted_clients_grants_are_not_its_successors(self):
        leaf = s.make_client(self.app, 'leaf')
        code, verifier = self.code(client_id='leaf')
        body = self.token({
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            client=leaf).json
        later_code, later_verifier = self.code(client_id='leaf')
        # The operator deletes the client and registers it again under
        # the same id (a new secret, for a new holder).
        self.app.delete('/v1/clients/leaf', headers=s.ADMIN)
        leaf = s.make_client(self.app, 'leaf')
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': body['refresh_token']}, client=leaf,
            status=400), 'invalid_grant')
        self.assertOAuthError(self.token({
            'grant_type': 'authorization_code', 'code': later_code,
            'redirect_uri': s.REDIRECT, 'code_verifier': later_verifier},
            client=leaf, status=400), 'invalid_grant')
        # The access token issued to the deleted client is revoked.
        self.assertOAuthError(self.userinfo(body['access_token'],
                                            status=401),
                              'invalid_token', 401)
        self.assertEqual({'active': False},
                         self.introspect(body['access_token']).json)
        # The new client's own grants work.
        code, verifier = self.code(client_id='leaf')
        self.token({'grant_type': 'authorization_code', 'code': code,
                    'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
                   client=leaf)

    def test_discovery_document(self):
        doc = self.app.get('/.well-known/openid-configuration').json
        self.assertEqual(ISSUER, doc['issuer'])
        self.assertEqual(ISSUER + '/oidc/jwks', doc['jwks_uri'])
        self.assertEqual(['S256'], doc['code_challenge_methods_supported'])
        self.assertEqual(['RS256'],
                         doc['id_token_signing_alg_values_supported'])
        self.assertIn('auth_time', doc['claims_supported'])
        # Left out, OIDC Discovery takes it as true.
        self.assertIs(False, doc['request_uri_parameter_supported'])
        self.assertEqual(doc, self.app.get('/oidc').json)


class TestGrantsOnPostgreSQL(TestGrants):
    """The grants again, on PostgreSQL (column sizes, row counts of the
    single-use updates)."""

    def database_overrides(self):
        return {('database', 'connection'):
                self.useFixture(postgresql.Database()).url}


class TestRefusals(ProviderTestCase):
    """Every refusal of the brief, at the endpoint that must refuse."""

    def test_replayed_code_refused_and_first_tokens_revoked(self):
        code, verifier = self.code()
        first = self.exchange(code, verifier).json
        self.assertTrue(self.introspect(first['access_token']).json[
            'active'])
        self.assertOAuthError(self.exchange(code, verifier, status=400),
                              'invalid_grant')
        self.assertEqual({'active': False},
                         self.introspect(first['access_token']).json)
        self.assertOAuthError(self.token({
            'grant_type': 'refresh_token',
            'refresh_token': first['refresh_token']}, status=400),
            'invalid_grant')

    def test_pkce_mismatch_and_missing(self):
        code, _verifier = self.code()
        other, _ = s.pkce_pair()
        self.assertOAuthError(self.exchange(code, other, status=400),
                              'invalid_grant')
        code, _verifier = self.code()
        self.assertOAuthError(self.exchange(code, None, status=400),
                              'invalid_grant')

    def test_authorization_without_pkce_or_with_plain(self):
        for params in ({'code_challenge': None},
                       {'code_challenge_method': 'plain'},
                       {'code_challenge_method': None}):
            resp, _ = self.authorize(**params)
            answer = s.query_of(resp.location)
            self.assertEqual('invalid_request', answer['error'], params)
            self.assertNotIn('code', answer)
            self.assertEqual('st-1', answer['state'])

    def test_response_modes_but_query_are_refused_not_ignored(self):
        # Discovery names query only; a client asking for form_post
        # (codes kept out of URLs) gets no code in the query.
        for mode in ('form_post', 'fragment', 'query.jwt'):
            resp, _ = self.authorize(response_mode=mode)
            answer = s.query_of(resp.location)
            self.assertEqual('invalid_request', answer['error'], mode)
            self.assertNotIn('code', answer)
            self.assertEqual('st-1', answer['state'])
        resp, _ = self.authorize(response_mode='query')
        self.assertIn('code', s.query_of(resp.location))

    def test_request_objects_are_refused_not_ignored(self):
        for name in ('request', 'request_uri'):
            resp, _ = self.authorize(**{name: 'eyJhbGciOiJub25lIn0.e30.'})
            answer = s.query_of(resp.location)
            self.assertEqual('%s_not_supported' % name, answer['error'])
            self.assertNotIn('code', answer)
            self.assertEqual('st-1', answer['state'])

    def test_nonce_and_state_are_bounded(self):
        # The longest nonce is kept with the code and comes back in the
        # ID token; one more character is refused, not a server error
        # (PostgreSQL's column holds 255).
        code, verifier = self.code(nonce='n' * 255)
        body = self.exchange(code, verifier).json
        self.assertEqual('n' * 255, self.decode(body['id_token'])['nonce'])
        for params in ({'nonce': 'n' * 256}, {'state': 's' * 513},
                       {'nonce': 'tab\there'}):
            resp, _ = self.authorize(**params)
            answer = s.query_of(resp.location)
            self.assertEqual('invalid_request', answer['error'], params)
            self.assertNotIn('code', answer)

    def test_a_refused_state_is_not_sent_back(self):
        # The redirect of the refusal leaves out the state it refused: it
        # carried it whole, a line break and thousands of characters.
        for state in ('s' * 513, 'line\nbreak', 'x' * 5000 + '\n'):
            resp, _ = self.authorize(state=state)
            self.assertTrue(resp.location.startswith(s.REDIRECT))
            answer = s.query_of(resp.location)
            self.assertEqual('invalid_request', answer['error'])
            self.assertNotIn('state', answer)
            self.assertNotIn('code', answer)
            self.assertLess(len(resp.location), 512)
        # The longest state allowed comes back as it was sent.
        resp, _ = self.authorize(state='s' * 512)
        self.assertEqual('s' * 512, s.query_of(resp.location)['state'])

    def test_unregistered_redirect_uri_is_not_followed(self):
        for uri in ('http://127.0.0.1:8765/callback/../evil',
                    'http://evil.example.org/callback',
                    s.REDIRECT + '?x=1', None):
            resp, _ = self.authorize(redirect_uri=uri, status=400)
            self.assertNotIn('Location', resp.headers)
            self.assertEqual('invalid_request', resp.json['error'])

    def test_redirect_uri_must_match_at_the_token_endpoint(self):
        code, verifier = self.code()
        self.assertOAuthError(self.exchange(
            code, verifier, redirect_uri='http://127.0.0.1:8765/other',
            status=400), 'invalid_grant')

    def test_unknown_client_and_response_type(self):
        resp, _ = self.authorize(client_id='nobody', status=400)
        self.assertEqual('invalid_request', resp.json['error'])
        resp, _ = self.authorize(response_type='token')
        self.assertEqual('unsupported_response_type',
                         s.query_of(resp.location)['error'])
        resp, _ = self.authorize(scope='openid admin')
        self.assertEqual('invalid_scope', s.query_of(resp.location)['error'])

    def test_authorization_needs_a_proxy_person(self):
        resp = self.app.get('/oidc/authorize', {'client_id': 'portal'},
                            headers=s.person_headers('stranger'),
                            status=403)
        self.assertEqual('federation.forbidden',
                         resp.json['errors'][0]['code'])
        # No identity at all: the browser is sent to log in (once the
        # client is known; see test_login).
        self.app.get('/oidc/authorize', status=400)

    def test_code_of_another_client_refused(self):
        code, verifier = self.code()
        resp = self.token({'grant_type': 'authorization_code',
                           'code': code, 'redirect_uri': s.REDIRECT,
                           'code_verifier': verifier},
                          client=(self.other_id, self.other_secret),
                          status=400)
        self.assertOAuthError(resp, 'invalid_grant')

    def test_expired_code_refused(self):
        code, verifier = self.code()
        later = datetime.datetime.utcnow() + datetime.timedelta(minutes=5)
        self.useFixture(fixtures.MockPatchObject(
            oidc_db, 'redeem_code',
            side_effect=lambda db, ctx, c, cid, now, **kw:
            _real_redeem(db, ctx, c, cid, later, **kw)))
        self.assertOAuthError(self.exchange(code, verifier, status=400),
                              'invalid_grant')

    def test_an_expired_code_shown_again_ends_no_grant(self):
        # A client retrying the exchange of a code that expired: expired
        # each time, not a replay (which ends the person's every grant
        # with the client, on their other devices too).
        other_device = self.login()
        code, verifier = self.code()
        later = datetime.datetime.utcnow() + datetime.timedelta(minutes=5)
        self.useFixture(fixtures.MockPatchObject(
            oidc_db, 'redeem_code',
            side_effect=lambda db, ctx, c, cid, now, **kw:
            _real_redeem(db, ctx, c, cid, later, **kw)))
        for _attempt in range(3):
            self.assertOAuthError(self.exchange(code, verifier, status=400),
                                  'invalid_grant')
        self.assertTrue(self.introspect(
            other_device['access_token']).json['active'])
        self.token({'grant_type': 'refresh_token',
                    'refresh_token': other_device['refresh_token']})

    def test_a_code_without_its_verifier_is_not_used_up(self):
        # Someone who saw the code (a log, a Referer, a shared screen)
        # but not the client's PKCE verifier: their exchanges fail and
        # leave the code to its client, whose exchange is not taken for
        # a replay; the person's other grants stand.
        other_device = self.login()
        code, verifier = self.code()
        guessed, _ = s.pkce_pair()
        for extra in ({'code_verifier': guessed},
                      {'code_verifier': None},
                      {'redirect_uri': 'http://127.0.0.1:8765/other'}):
            form = {k: v for k, v in dict(
                {'code_verifier': verifier}, **extra).items()
                if v is not None}
            self.assertOAuthError(self.token(dict(
                {'grant_type': 'authorization_code', 'code': code,
                 'redirect_uri': s.REDIRECT}, **form), status=400),
                'invalid_grant')
        body = self.exchange(code, verifier).json
        self.assertEqual(self.alice, self.decode(body['id_token'])['sub'])
        self.assertTrue(self.introspect(body['access_token']).json['active'])
        self.assertTrue(self.introspect(
            other_device['access_token']).json['active'])
        self.token({'grant_type': 'refresh_token',
                    'refresh_token': other_device['refresh_token']})
        # Used once: shown again it is a replay, as before.
        self.assertOAuthError(self.exchange(code, verifier, status=400),
                              'invalid_grant')
        self.assertEqual({'active': False},
                         self.introspect(body['access_token']).json)

    def test_client_authentication(self):
        form = {'grant_type': 'client_credentials'}
        for client in (('portal', 'wrong'), ('nobody', 'x'),
                       ('portal', '')):
            self.assertOAuthError(self.token(form, client=client,
                                             status=401),
                                  'invalid_client', 401)
        resp = self.app.post('/oidc/token', form, status=401)
        self.assertOAuthError(resp, 'invalid_client', 401)
        resp = self.app.post('/oidc/token', dict(
            form, client_id='portal', client_secret=self.secret),
            headers=s.basic('portal', self.secret), status=400)
        self.assertOAuthError(resp, 'invalid_request')

    def test_control_characters_in_basic_credentials(self):
        # A form field with a NUL is refused by the request guard; the
        # same in the Authorization header reached the database (a 500
        # on PostgreSQL, which keeps no NUL in text).
        for client_id, secret in (('port\x00al', 'x'),
                                  ('portal', 'se\x00cret'),
                                  ('port%00al', 'x'), ('por\ttal', 'x')):
            raw = ('%s:%s' % (client_id, secret)).encode()
            headers = {'Authorization': 'Basic ' +
                       base64.b64encode(raw).decode()}
            for path, form in (('/oidc/token',
                                {'grant_type': 'client_credentials'}),
                               ('/oidc/introspect', {'token': 'a.b.c'}),
                               ('/oidc/revoke', {'token': 'x'}),
                               ('/oidc/device_authorization',
                                {'scope': 'openid'})):
                resp = self.app.post(path, form, headers=headers,
                                     status=401)
                self.assertOAuthError(resp, 'invalid_client', 401)

    def test_token_endpoint_takes_forms_only(self):
        resp = self.app.post_json('/oidc/token', {
            'grant_type': 'client_credentials'},
            headers=s.basic(self.client_id, self.secret), status=400)
        self.assertOAuthError(resp, 'invalid_request')
        self.assertOAuthError(self.token({'grant_type': 'password'},
                                         status=400),
                              'unsupported_grant_type')
        resp = self.app.post('/oidc/token', 'a=1&a=2',
                             headers=s.basic(self.client_id, self.secret),
                             content_type='application/x-www-form-'
                                          'urlencoded', status=400)
        self.assertEqual('a', resp.json['errors'][0]['field'])

    def test_other_paths_still_refuse_forms(self):
        resp = self.app.post('/v1/vos', 'name=x',
                             headers=s.ADMIN, content_type='application/'
                             'x-www-form-urlencoded', status=400)
        self.assertEqual('federation.malformed_body',
                         resp.json['errors'][0]['code'])

    def _refused_everywhere(self, token):
        """Refused by userinfo (401), inactive at introspection, no grant
        at the token endpoint, nothing revoked, not a person at the API,
        and never a server error."""
        resp = self.userinfo(token, status=401)
        self.assertOAuthError(resp, 'invalid_token', 401)
        self.assertIn('Bearer', resp.headers['WWW-Authenticate'])
        self.assertEqual({'active': False}, self.introspect(token).json)
        resp = self.token({'grant_type': 'refresh_token',
                           'refresh_token': token}, status=400)
        self.assertOAuthError(resp, 'invalid_grant')
        self.app.post('/oidc/revoke', {'token': token},
                      headers=s.basic(self.client_id, self.secret),
                      status=200)
        self.app.get('/v1/users/alice/identities', headers={
            'Authorization': 'Bearer ' + token}, status=401)

    def test_forged_and_malformed_tokens(self):
        good = self.login()['access_token']
        header = pyjwt.get_unverified_header(good)
        claims = pyjwt.decode(good, options={'verify_signature': False})
        head, body, sig = good.split('.')
        cases = {
            'wrong signature': '.'.join([head, body, sig[::-1]]),
            'other claims, same signature': '.'.join(
                [head, _b64(json.dumps(dict(claims, sub='mallory'))
                            .encode()), sig]),
            'unknown kid': forged(dict(header, kid='nope'), claims),
            'alg none': forged({'alg': 'none', 'typ': 'at+jwt',
                                'kid': header['kid']}, claims, b''),
            'alg none, no signature': '.'.join(
                [_b64(json.dumps({'alg': 'none'}).encode()), body, '']),
            'HS256 keyed with the public key': hs256(
                dict(header, alg='HS256'), claims,
                json.dumps(self.app.get('/oidc/jwks').json['keys'][0])),
            'truncated': good[:len(good) // 2],
            'two parts': '.'.join([head, body]),
            'oversized': good + 'A' * 20000,
            'not base64': '!!!.???.***',
            'header not JSON': '.'.join([_b64(b'{'), body, sig]),
            'header a list': '.'.join([_b64(b'[1]'), body, sig]),
            'empty': '',
            'id token as access token': self.login()['id_token'],
        }
        for label, token in cases.items():
            with self.subTest(label=label):
                if not token:
                    resp = self.userinfo('', status=401)
                    self.assertEqual(401, resp.status_int)
                    continue
                self._refused_everywhere(token)

    def test_tokens_with_bad_claims_signed_by_the_proxy(self):
        """Valid signatures, claims that must still be refused."""
        records = oidc_db.ensure_keys(self.db, self.ctx,
                                      datetime.datetime.utcnow())
        key = keys.signing_key(records)
        from federation_proxy.oidc import tokens
        now = int(time.time())
        base = tokens.access_claims(ISSUER, 'alice', 'portal', ['openid'],
                                    now, 300, 'j1')
        bad = {
            'wrong issuer': {'iss': 'https://evil.example.org'},
            'expired': {'exp': now - 1, 'iat': now - 301, 'nbf': now - 301},
            'not yet valid': {'nbf': now + 600, 'iat': now + 600,
                              'exp': now + 900},
            'huge exp': {'exp': 10 ** 30},
            'float exp': {'exp': now + 0.5 + 300},
            'string exp': {'exp': str(now + 300)},
            'bool iat': {'iat': True},
            'sub a list': {'sub': ['alice']},
            'aud an object': {'aud': {'x': 1}},
            'no exp': {'exp': None},
            'scope a number': {'scope': 5},
        }
        for label, change in bad.items():
            with self.subTest(label=label):
                claims = dict(base, **change)
                claims = {k: v for k, v in claims.items() if v is not None}
                self._refused_everywhere(tokens.sign(
                    key, claims, tokens.ACCESS_TOKEN_TYPE))

    def test_wrong_audience_refused_at_revocation_and_by_relying_party(self):
        body = self.login()
        self.assertRaises(pyjwt.InvalidAudienceError, self.decode,
                          body['access_token'], audience='other')
        self.assertRaises(pyjwt.InvalidAudienceError, self.decode,
                          body['id_token'], audience='other')

    def test_introspection_needs_a_confidential_client(self):
        body = self.login()
        self.assertOAuthError(self.introspect(
            body['access_token'], client=('portal', 'wrong'), status=401),
            'invalid_client', 401)
        self.assertOAuthError(self.app.post(
            '/oidc/introspect', {'token': body['access_token']},
            status=401), 'invalid_client', 401)


def _real_redeem(db, ctx, code, client_id, now, **kwargs):
    return _REDEEM(db, ctx, code, client_id, now, **kwargs)


_REDEEM = oidc_db.redeem_code


class TestRefusalsOnPostgreSQL(TestRefusals):

    def database_overrides(self):
        return {('database', 'connection'):
                self.useFixture(postgresql.Database()).url}


class TestKeyRotation(ProviderTestCase):

    def rotate(self):
        return oidc_db.rotate_keys(self.db, self.ctx,
                                   datetime.datetime.utcnow(),
                                   datetime.timedelta(seconds=300))

    def kids(self):
        return [k['kid'] for k in self.app.get('/oidc/jwks').json['keys']]

    def test_token_signed_before_rotation_still_validates(self):
        before = self.login()
        old_kid = pyjwt.get_unverified_header(before['access_token'])['kid']
        published = self.kids()
        self.assertEqual(2, len(published))
        self.rotate()
        # The next key became current: relying parties knew it already.
        after_kids = self.kids()
        self.assertEqual(3, len(after_kids))
        self.assertIn(old_kid, after_kids)
        self.assertTrue(set(published) <= set(after_kids))
        self.decode(before['access_token'])
        self.assertTrue(self.introspect(before['access_token']).json[
            'active'])
        self.userinfo(before['access_token'])
        # New tokens are signed by the new current key (once the
        # process's key cache is refreshed).
        self.useFixture(fixtures.MockPatch(
            'federation_proxy.api.access_tokens.KEY_CACHE_SECONDS', -1))
        new = self.login()
        new_kid = pyjwt.get_unverified_header(new['access_token'])['kid']
        self.assertNotEqual(old_kid, new_kid)
        self.assertIn(new_kid, published)
        self.decode(new['access_token'])

    def test_retired_key_unpublished_once_its_tokens_expired(self):
        self.login()
        first = self.kids()
        self.rotate()
        later = datetime.datetime.utcnow() + datetime.timedelta(minutes=7)
        records = oidc_db.rotate_keys(self.db, self.ctx, later,
                                      datetime.timedelta(seconds=300))
        # The first current key was retired more than 300 s + leeway
        # before "later": it is gone; the second is retired but kept.
        kids = {r.kid: r.state for r in records}
        self.assertEqual(3, len(kids))
        self.assertNotIn(first[0], kids)
        self.assertEqual(keys.RETIRED, kids[first[1]])
        self.assertEqual(1, sum(1 for st in kids.values()
                                if st == keys.RETIRED))
