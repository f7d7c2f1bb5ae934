"""People without a Keystone token at the proxy's API, as in a real
deployment: the API behind keystonemiddleware (no Keystone is contacted:
the requests carry no Keystone token), reached with the proxy session
cookie or a proxy access token of the management scope; and the
authorization endpoint, which sends a person without a session to log
in.

The operator's setup (people, VOs, clients) is made through a second
app on the same database with ``noauth`` headers.
"""

import datetime
import time
import urllib.parse
import uuid

import jwt as pyjwt
import webtest

from federation_proxy.db import oidc as oidc_db
from federation_proxy import login
from federation_proxy.oidc import keys
from federation_proxy.oidc import tokens
from federation_proxy import service
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup as s
from svc_common import config
from svc_common import context
from svc_common.db import database
from svc_common import deploy
from svc_common import policy

PROXY = 'http://127.0.0.1:9873'
KEY = 'test key of the proxy'
CSRF = {login.CSRF_HEADER: 'XMLHttpRequest'}


class SessionAuthTest(base.FederationTestCase):

    OVERRIDES = {('federation', 'secret_key'): KEY,
                 ('federation', 'issuer'): PROXY,
                 ('keystone_authtoken', 'www_authenticate_uri'):
                     'http://127.0.0.1:5000/v3'}

    def setUp(self):
        super().setUp()
        self.alice = s.make_person(self.app, 'alice')
        self.bob = s.make_person(self.app, 'bob')
        self.vo = s.make_vo(self.app, 'astro', managers=[self.alice])
        # The same database, behind keystonemiddleware.
        overrides = dict(self.OVERRIDES)
        overrides.update({
            (None, 'state_path'): self.fixture.conf.state_path,
            ('api', 'auth_strategy'): 'keystone'})
        conf = config.build_conf(service.SPEC, overrides=overrides)
        enforcer = policy.make_enforcer(
            conf, service.SPEC.module('policies').list_rules())
        self.api = webtest.TestApp(deploy.deploy(
            service.SPEC, conf, enforcer, database.Database(conf),
            self.notifier))

    # -- helpers --------------------------------------------------------

    def cookie(self, user_id, issued=None, lifetime=600, key=KEY):
        token = s.session_token(self.fixture.db, key, PROXY, user_id,
                                issued, lifetime)
        return {'Cookie': '%s=%s' % (login.SESSION_COOKIE, token)}

    def members(self):
        return sorted(m['user_id'] for m in self.app.get(
            '/v1/vos/%s/memberships' % self.vo,
            headers=base.ADMIN).json['memberships'])

    def access_token(self, scopes, user_id='alice', client='cli'):
        """A proxy access token of ``user_id`` for ``scopes``, through the
        code flow (the person named with noauth headers)."""
        client_id, secret = s.make_client(
            self.app, client, scopes=['openid', 'profile',
                                      login.MANAGEMENT_SCOPE])
        verifier, challenge = s.pkce_pair()
        resp = self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': client_id,
            'redirect_uri': s.REDIRECT, 'scope': ' '.join(scopes),
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            headers=s.person_headers(user_id), status=302)
        code = s.query_of(resp.location)['code']
        body = self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(client_id, secret)).json
        return body['access_token'], (client_id, secret)

    @staticmethod
    def bearer(token):
        return {'Authorization': 'Bearer ' + token}

    def assertCode(self, resp, code):
        self.assertEqual('federation.' + code,
                         resp.json['errors'][0]['code'])

    # -- the session cookie ------------------------------------------------

    def test_without_credentials_keystonemiddleware_refuses(self):
        # Every identity header of a system admin, and no token.
        resp = self.api.get('/v1/idps', headers=base.ADMIN, status=401)
        self.assertCode(resp, 'unauthorized')

    def test_cookie_is_the_person(self):
        identities = self.api.get('/v1/users/alice/identities',
                                  headers=self.cookie('alice')).json
        self.assertEqual(['sub-alice'],
                         [i['subject'] for i in identities['identities']])
        # Someone else's person is absent to her.
        self.api.get('/v1/users/bob/identities',
                     headers=self.cookie('alice'), status=404)

    def test_cookie_with_forged_headers_is_only_the_person(self):
        headers = dict(base.ADMIN, **self.cookie('alice'))
        resp = self.api.get('/v1/idps', headers=headers, status=403)
        self.assertIn(resp.json['errors'][0]['code'],
                      ('federation.forbidden', 'federation.wrong_scope'))
        # Bob's: a stranger to the VO, even naming himself its manager.
        headers = dict(base.ADMIN, **self.cookie('bob'))
        self.api.get('/v1/vos/%s/memberships' % self.vo, headers=headers,
                     status=404)

    def test_bad_cookies_refused(self):
        now = int(time.time())
        for name, headers in [
                ('expired', self.cookie('alice', issued=now - 700)),
                ('other key', self.cookie('alice', key='another key')),
                ('unknown person', self.cookie('mallory')),
                ('garbage', {'Cookie': login.SESSION_COOKIE + '=x.y.z'})]:
            resp = self.api.get('/v1/users/alice/identities',
                                headers=headers, status=401)
            self.assertCode(resp, 'unauthorized')

    def test_a_foreign_cookie_that_is_not_utf8_breaks_nothing(self):
        # Another site of the domain set a cookie whose quoted value is
        # latin-1: webob could not decode the header (500 everywhere the
        # proxy looked for its session).
        foreign = 'other="caf\xe9"; '
        alice = {'Cookie': foreign + self.cookie('alice')['Cookie']}
        identities = self.api.get('/v1/users/alice/identities',
                                  headers=alice).json['identities']
        self.assertEqual(['sub-alice'], [i['subject'] for i in identities])
        self.assertEqual('alice', self.api.get(
            '/oidc/device', headers=alice).json['user_id'])
        # Without a session: the usual answers.
        nobody = {'Cookie': foreign + 'a=b'}
        self.assertCode(self.api.get('/v1/users/alice/identities',
                                     headers=nobody, status=401),
                        'unauthorized')
        self.assertCode(self.api.get('/oidc/device', headers=nobody,
                                     status=401), 'login_required')
        self.api.get('/oidc/logout', headers=nobody)
        self.api.get('/v1/login/callback', {'state': 'x'}, headers=nobody,
                     status=400)
        # A session cookie that is not UTF-8 is no session.
        latin1 = {'Cookie': login.SESSION_COOKIE + '="\xe9"'}
        self.assertCode(self.api.get('/oidc/device', headers=latin1,
                                     status=401), 'login_required')
        # The logout of the session works, and ends it.
        self.api.post('/v1/logout', headers=dict(CSRF, **alice),
                      status=204)
        self.api.get('/v1/users/alice/identities', headers=alice,
                     status=401)

    def test_unsafe_method_needs_the_csrf_header(self):
        url = '/v1/vos/%s/memberships' % self.vo
        resp = self.api.post_json(url, {'user_id': 'bob', 'role': 'member'},
                                  headers=self.cookie('alice'), status=403)
        self.assertCode(resp, 'csrf_header_missing')
        self.assertEqual(['alice'], self.members())
        created = self.api.post_json(
            url, {'user_id': 'bob', 'role': 'member'},
            headers=dict(self.cookie('alice'), **CSRF)).json['membership']
        self.assertEqual(['alice', 'bob'], self.members())
        member = '%s/%s' % (url, created['id'])
        resp = self.api.delete(member, headers=self.cookie('alice'),
                               status=403)
        self.assertCode(resp, 'csrf_header_missing')
        self.api.delete(member, headers=dict(self.cookie('alice'), **CSRF),
                        status=204)
        self.assertEqual(['alice'], self.members())

    # -- proxy access tokens -----------------------------------------------

    def test_management_token_is_the_person(self):
        token, _client = self.access_token(['openid',
                                            login.MANAGEMENT_SCOPE])
        # No CSRF header needed: a cross-site form cannot send a bearer.
        self.api.post_json('/v1/vos/%s/memberships' % self.vo,
                           {'user_id': 'bob', 'role': 'member'},
                           headers=self.bearer(token), status=201)
        self.assertEqual(['alice', 'bob'], self.members())
        # With forged headers and a stranger's cookie it is still Alice.
        headers = dict(base.ADMIN, **self.bearer(token))
        headers.update(self.cookie('bob'))
        self.api.get('/v1/users/alice/identities', headers=headers)
        self.api.get('/v1/idps', headers=headers, status=403)

    def test_token_without_the_management_scope_refused(self):
        # What a relying party holds for its users: replaying it against
        # the proxy gets nothing.
        token, _client = self.access_token(['openid', 'profile'])
        resp = self.api.get('/v1/users/alice/identities',
                            headers=self.bearer(token), status=401)
        self.assertCode(resp, 'unauthorized')

    def test_revoked_token_refused(self):
        token, client = self.access_token([login.MANAGEMENT_SCOPE])
        self.api.get('/v1/users/alice/identities',
                     headers=self.bearer(token))
        self.app.post('/oidc/revoke', {'token': token},
                      headers=s.basic(*client))
        self.api.get('/v1/users/alice/identities',
                     headers=self.bearer(token), status=401)

    def test_tampered_or_foreign_tokens_refused(self):
        token, _client = self.access_token([login.MANAGEMENT_SCOPE])
        head, body, sig = token.split('.')
        for bad in (head + '.' + body + '.' + sig[::-1], token[:-10],
                    login.sign_session(KEY, PROXY, 'alice',
                                       int(time.time()), 600)):
            self.api.get('/v1/users/alice/identities',
                         headers=self.bearer(bad), status=401)

    def test_client_credentials_token_is_nobody(self):
        # A client whose id is also a person's id: its own tokens must
        # never be that person.
        s.make_person(self.app, 'robot')
        robots = s.make_vo(self.app, 'robots', managers=['robot'])
        client_id, secret = s.make_client(
            self.app, 'robot', grants=['client_credentials'],
            scopes=['compute', login.MANAGEMENT_SCOPE])
        resp = self.app.post('/oidc/token', {
            'grant_type': 'client_credentials',
            'scope': login.MANAGEMENT_SCOPE},
            headers=s.basic(client_id, secret), status=400)
        self.assertEqual('invalid_scope', resp.json['error'])
        token = self.app.post('/oidc/token', {
            'grant_type': 'client_credentials'},
            headers=s.basic(client_id, secret)).json['access_token']
        self.api.get('/v1/vos', headers=self.bearer(token), status=401)
        # A client's token with the management scope (as the grant
        # issued them before), signed by the proxy: still nobody.
        self.api.get('/v1/vos/%s/memberships' % robots,
                     headers=self.bearer(self.signed(
                         'robot', 'robot', [login.MANAGEMENT_SCOPE])),
                     status=401)
        # The same token for the person, from another client, is them.
        self.api.get('/v1/vos/%s/memberships' % robots,
                     headers=self.bearer(self.signed(
                         'robot', 'cli', [login.MANAGEMENT_SCOPE])))

    def signed(self, subject, client_id, scopes):
        """An access token signed with the proxy's current key."""
        records = oidc_db.ensure_keys(self.fixture.db,
                                      context.RequestContext(),
                                      datetime.datetime.utcnow())
        return tokens.sign(keys.signing_key(records), tokens.access_claims(
            PROXY, subject, client_id, scopes, int(time.time()), 600,
            uuid.uuid4().hex), tokens.ACCESS_TOKEN_TYPE)

    # -- the authorization endpoint ---------------------------------------

    def authorize_query(self, client_id, **extra):
        _verifier, challenge = s.pkce_pair()
        return dict({'response_type': 'code', 'client_id': client_id,
                     'redirect_uri': s.REDIRECT, 'scope': 'openid',
                     'state': 'st-1', 'code_challenge': challenge,
                     'code_challenge_method': 'S256'}, **extra)

    def test_authorize_without_session_sends_the_browser_to_log_in(self):
        client_id, _secret = s.make_client(self.app, 'leaf')
        query = self.authorize_query(client_id, idp_hint='upstream')
        # Alice's forged identity headers (no Keystone token) are no one.
        resp = self.api.get('/oidc/authorize', query,
                            headers=s.person_headers('alice'), status=302)
        split = urllib.parse.urlsplit(resp.location)
        self.assertEqual(PROXY + login.LOGIN_PATH,
                         '%s://%s%s' % (split.scheme, split.netloc,
                                        split.path))
        login_query = s.query_of(resp.location)
        self.assertEqual('upstream', login_query['idp'])
        continuation = urllib.parse.urlsplit(login_query['next'])
        self.assertEqual('/oidc/authorize', continuation.path)
        self.assertEqual(query, dict(urllib.parse.parse_qsl(
            continuation.query)))

    def test_authorize_with_session_issues_the_code(self):
        client_id, _secret = s.make_client(self.app, 'leaf')
        resp = self.api.get('/oidc/authorize',
                            self.authorize_query(client_id),
                            headers=self.cookie('alice'), status=302)
        self.assertTrue(resp.location.startswith(s.REDIRECT + '?'))
        self.assertIn('code', s.query_of(resp.location))

    def test_authorize_prompt_none_without_session(self):
        client_id, _secret = s.make_client(self.app, 'leaf')
        resp = self.api.get('/oidc/authorize',
                            self.authorize_query(client_id, prompt='none'),
                            status=302)
        answer = s.query_of(resp.location)
        self.assertEqual(('login_required', 'st-1'),
                         (answer['error'], answer['state']))

    def test_authorize_unknown_client_is_not_sent_to_log_in(self):
        resp = self.api.get('/oidc/authorize',
                            self.authorize_query('nobody'), status=400)
        self.assertEqual('invalid_request', resp.json['error'])

    def test_login_refuses_a_foreign_continuation(self):
        for bad in ('https://evil.example/oidc/authorize?a=1',
                    '//evil.example/oidc/authorize?a=1',
                    '/oidc/authorize', '/v1/vos?a=1',
                    '/oidc/authorize?a=1#x', '/oidc/authorize/../x?a=1',
                    '/oidc/authorize?a=1\\@evil.example'):
            resp = self.api.get(login.LOGIN_PATH, {'next': bad},
                                status=400)
            self.assertEqual('next', resp.json['errors'][0].get(
                'field', 'next'), bad)
            self.assertCode(resp, 'bad_request')

    # -- when the person logged in: auth_time, prompt=login, max_age ------

    def _code_and_tokens(self, client_id, secret, cookie, **extra):
        verifier, challenge = s.pkce_pair()
        query = self.authorize_query(client_id, code_challenge=challenge,
                                     **extra)
        resp = self.api.get('/oidc/authorize', query, headers=cookie,
                            status=302)
        code = s.query_of(resp.location)['code']
        return self.api.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(client_id, secret)).json

    @staticmethod
    def _claims(token):
        return pyjwt.decode(token, options={'verify_signature': False})

    def test_id_tokens_say_when_the_person_logged_in(self):
        client_id, secret = s.make_client(self.app, 'leaf')
        logged_in = int(time.time()) - 1000
        body = self._code_and_tokens(client_id, secret,
                                     self.cookie('alice', logged_in, 3600))
        self.assertEqual(logged_in,
                         self._claims(body['id_token'])['auth_time'])
        # A refresh weeks later says the same: the person did not log in
        # again.
        new = self.api.post('/oidc/token', {
            'grant_type': 'refresh_token',
            'refresh_token': body['refresh_token']},
            headers=s.basic(client_id, secret)).json
        self.assertEqual(logged_in,
                         self._claims(new['id_token'])['auth_time'])

    def _sent_to_log_in(self, resp):
        split = urllib.parse.urlsplit(resp.location)
        self.assertEqual(PROXY + login.LOGIN_PATH,
                         '%s://%s%s' % (split.scheme, split.netloc,
                                        split.path))
        continuation = urllib.parse.urlsplit(s.query_of(resp.location)[
            'next'])
        return dict(urllib.parse.parse_qsl(continuation.query))

    def test_prompt_login_and_max_age_need_a_recent_login(self):
        client_id, _secret = s.make_client(self.app, 'leaf')
        fresh = self.cookie('alice')
        old = self.cookie('alice', int(time.time()) - 1000, 3600)
        # prompt=login: log in again, whatever the session; the login
        # continues to the same request, less what it has answered.
        query = self.authorize_query(client_id,
                                     prompt='login select_account',
                                     max_age='0')
        resp = self.api.get('/oidc/authorize', query, headers=fresh,
                            status=302)
        again = self._sent_to_log_in(resp)
        self.assertEqual('select_account', again.pop('prompt'))
        del query['prompt'], query['max_age']
        self.assertEqual(query, again)
        # max_age: only a session older than it must log in again.
        resp = self.api.get('/oidc/authorize', self.authorize_query(
            client_id, max_age='600'), headers=old, status=302)
        self.assertNotIn('max_age', self._sent_to_log_in(resp))
        resp = self.api.get('/oidc/authorize', self.authorize_query(
            client_id, max_age='5000'), headers=old, status=302)
        self.assertIn('code', s.query_of(resp.location))
        # prompt=none cannot show the login: the client hears why.
        resp = self.api.get('/oidc/authorize', self.authorize_query(
            client_id, max_age='600', prompt='none'), headers=old,
            status=302)
        self.assertEqual('login_required',
                         s.query_of(resp.location)['error'])
        for bad in ({'max_age': '-1'}, {'max_age': 'soon'},
                    {'max_age': '1' * 11}, {'prompt': 'none login'}):
            resp = self.api.get('/oidc/authorize', self.authorize_query(
                client_id, **bad), headers=fresh, status=302)
            answer = s.query_of(resp.location)
            self.assertEqual('invalid_request', answer['error'], bad)
            self.assertNotIn('code', answer)

    def test_prompt_consent_is_refused(self):
        # The provider asks nobody to consent; a client that asks for the
        # person's consent hears that it cannot have it, and gets no
        # code nobody consented to (OIDC Core 3.1.2.1), with a session
        # or without (not sent to log in first).
        client_id, _secret = s.make_client(self.app, 'leaf')
        for prompt, headers in (('consent', self.cookie('alice')),
                                ('login consent', self.cookie('alice')),
                                ('consent', {})):
            resp = self.api.get('/oidc/authorize', self.authorize_query(
                client_id, prompt=prompt, state='s1'), headers=headers,
                status=302)
            self.assertTrue(resp.location.startswith(s.REDIRECT),
                            resp.location)
            answer = s.query_of(resp.location)
            self.assertEqual('consent_required', answer['error'], prompt)
            self.assertEqual('s1', answer['state'])
            self.assertNotIn('code', answer)

    def test_a_refused_state_is_answered_before_a_login(self):
        # Without a session, a state the provider refuses is answered at
        # the client's redirect URI at once, and not sent back: the
        # browser went to log in carrying it, and came back to a refusal
        # that repeated it whole.
        client_id, _secret = s.make_client(self.app, 'leaf')
        resp = self.api.get('/oidc/authorize', self.authorize_query(
            client_id, state='x' * 5000 + '\n'), status=302)
        self.assertTrue(resp.location.startswith(s.REDIRECT),
                        resp.location[:200])
        answer = s.query_of(resp.location)
        self.assertEqual('invalid_request', answer['error'])
        self.assertNotIn('state', answer)

    def test_logout_clears_the_session_cookie(self):
        self.api.set_cookie(login.SESSION_COOKIE, self.cookie('alice')[
            'Cookie'].split('=', 1)[1])
        self.api.get('/v1/users/alice/identities', status=200)
        # Not from a cross-site form.
        resp = self.api.post(login.LOGOUT_PATH, status=403)
        self.assertCode(resp, 'csrf_header_missing')
        self.api.get('/v1/users/alice/identities', status=200)
        resp = self.api.post(login.LOGOUT_PATH, headers=CSRF, status=204)
        # The browser is told to drop the cookie, on the path it has.
        cleared = resp.headers['Set-Cookie']
        self.assertTrue(cleared.startswith(login.SESSION_COOKIE + '=;'),
                        cleared)
        for attribute in ('Max-Age=0', 'Path=/;', 'HttpOnly'):
            self.assertIn(attribute, cleared)

    # -- logging out ends the session server-side ---------------------------

    def _session_tokens(self, client_id, secret, cookie):
        """Tokens of a code grant the session ``cookie`` authorized."""
        return self._code_and_tokens(client_id, secret, cookie,
                                     scope='openid profile')

    def _refreshes(self, client_id, secret, token):
        return self.api.post('/oidc/token', {
            'grant_type': 'refresh_token', 'refresh_token': token},
            headers=s.basic(client_id, secret), expect_errors=True)

    def _introspected(self, client_id, secret, token):
        return self.api.post('/oidc/introspect', {'token': token},
                             headers=s.basic(client_id, secret)).json

    def test_logout_ends_every_copy_of_the_session(self):
        cookie = self.cookie('alice')
        other = self.cookie('alice')
        client_id, secret = s.make_client(self.app, 'leaf')
        grant = self._session_tokens(client_id, secret, cookie)
        kept = self._session_tokens(client_id, secret, other)
        # A code the session authorized, not yet exchanged.
        verifier, challenge = s.pkce_pair()
        code = s.query_of(self.api.get('/oidc/authorize', self.
                                       authorize_query(
                                           client_id,
                                           code_challenge=challenge),
                                       headers=cookie,
                                       status=302).location)['code']
        # The cookie copied elsewhere (a stolen one) works before.
        self.api.get('/v1/users/alice/identities', headers=cookie)
        resp = self.api.post(login.LOGOUT_PATH,
                             headers=dict(cookie, **CSRF), status=204)
        self.assertIn('Max-Age=0', resp.headers['Set-Cookie'])
        # ... and not after: not at the API, not at the authorization
        # endpoint, not at the device verification page.
        self.api.get('/v1/users/alice/identities', headers=cookie,
                     status=401)
        resp = self.api.get('/oidc/authorize',
                            self.authorize_query(client_id),
                            headers=cookie, status=302)
        self.assertEqual(login.LOGIN_PATH,
                         urllib.parse.urlsplit(resp.location).path)
        self.api.get('/oidc/device', headers=cookie, status=401)
        # The grant the session authorized is revoked: its refresh token
        # and its access token.
        self.assertEqual(400, self._refreshes(
            client_id, secret, grant['refresh_token']).status_int)
        for token in (grant['refresh_token'], grant['access_token']):
            self.assertEqual({'active': False}, self._introspected(
                client_id, secret, token))
        resp = self.api.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(client_id, secret), status=400)
        self.assertEqual('invalid_grant', resp.json['error'])
        # Alice's other session, and what it authorized, go on (neither
        # the revoked refresh token nor the code shown again was taken
        # for a stolen one, which would end all her grants).
        self.api.get('/v1/users/alice/identities', headers=other)
        self.assertEqual(200, self._refreshes(
            client_id, secret, kept['refresh_token']).status_int)
        # Logging out again changes nothing and is no error.
        self.api.post(login.LOGOUT_PATH, headers=dict(cookie, **CSRF),
                      status=204)

    def test_a_refreshed_grant_is_still_the_sessions(self):
        cookie = self.cookie('alice')
        client_id, secret = s.make_client(self.app, 'leaf')
        grant = self._session_tokens(client_id, secret, cookie)
        later = self._refreshes(client_id, secret,
                                grant['refresh_token']).json
        self.api.post(login.LOGOUT_PATH, headers=dict(cookie, **CSRF),
                      status=204)
        self.assertEqual(400, self._refreshes(
            client_id, secret, later['refresh_token']).status_int)
        self.assertEqual({'active': False}, self._introspected(
            client_id, secret, later['access_token']))

    def _end_session_get(self, params, headers=None, status=200):
        return self.api.get('/oidc/logout', params, headers=headers,
                            status=status)

    def _end_session_post(self, params, headers=None, status=200):
        return self.api.post('/oidc/logout', params, headers=headers,
                             status=status)

    def _check_end_session(self, send):
        """The end_session_endpoint's checks and what it ends, with the
        parameters sent by ``send`` (a GET's query or a POST's form)."""
        doc = self.api.get('/.well-known/openid-configuration').json
        self.assertEqual(PROXY + '/oidc/logout', doc['end_session_endpoint'])
        client_id, secret = s.make_client(self.app, 'leaf')
        cookie = self.cookie('alice')
        hint = self._session_tokens(client_id, secret, cookie)['id_token']
        bobs = self._session_tokens(client_id, secret,
                                    self.cookie('bob'))['id_token']
        query = {'id_token_hint': hint, 'state': 'bye',
                 'post_logout_redirect_uri': s.REDIRECT}
        # Refused, and the session goes on: a redirect URI the client
        # did not register, another client, another person's hint, no
        # hint at all (a cross-site link), a hint not of this provider.
        for bad in ({'post_logout_redirect_uri': 'https://evil.example/'},
                    {'client_id': 'other'},
                    {'id_token_hint': bobs},
                    {'id_token_hint': None},
                    {'id_token_hint': hint[:-4]}):
            params = {k: v for k, v in dict(query, **bad).items()
                      if v is not None}
            resp = send(params, headers=cookie, status=400)
            self.assertEqual('invalid_request', resp.json['error'], bad)
            self.api.get('/v1/users/alice/identities', headers=cookie)
        resp = send(query, headers=cookie, status=302)
        self.assertEqual(s.REDIRECT + '?state=bye', resp.location)
        self.api.get('/v1/users/alice/identities', headers=cookie,
                     status=401)
        # Without a session there is nothing to end.
        self.assertEqual({'logged_out': False},
                         send({'id_token_hint': hint}).json)

    def test_end_session_endpoint(self):
        self._check_end_session(self._end_session_get)

    def test_end_session_endpoint_by_post(self):
        """RP-Initiated Logout 1.0 section 2: the end_session_endpoint
        takes POST with form fields too, with the same checks."""
        self._check_end_session(self._end_session_post)

    def test_end_session_post_reads_only_its_form(self):
        client_id, secret = s.make_client(self.app, 'leaf')
        cookie = self.cookie('alice')
        hint = self._session_tokens(client_id, secret, cookie)['id_token']
        # The hint in the query of a POST is not read: without one in
        # the form, the session is not ended.
        resp = self.api.post('/oidc/logout?' + urllib.parse.urlencode(
            {'id_token_hint': hint}), headers=cookie, status=400)
        self.assertEqual('invalid_request', resp.json['error'])
        # A JSON body is not the form the endpoint takes.
        resp = self.api.post_json('/oidc/logout', {'id_token_hint': hint},
                                  headers=cookie, status=400)
        self.assertEqual('invalid_request', resp.json['error'])
        self.api.get('/v1/users/alice/identities', headers=cookie)
        self.assertEqual({'logged_out': True}, self.api.post(
            '/oidc/logout', {'id_token_hint': hint}, headers=cookie).json)
        self.api.get('/v1/users/alice/identities', headers=cookie,
                     status=401)
