"""Logging people in through a real upstream OpenID Provider: the npm
registry's oidc-provider (OpenID-certified, Node.js) on 127.0.0.1, with
the proxy's login endpoints as its relying party.

The test plays the browser: the proxy's ``GET /v1/login`` redirects to
the provider, :func:`oidc_provider.browse` logs account ``alice`` in on
the provider's forms, and the provider's redirect to the callback is
sent to the proxy.
"""

import time
import urllib.parse

import jwt as pyjwt
import requests

from federation_proxy import login
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup
from svc_common.tests.fixtures import oidc_provider

PROXY = 'http://127.0.0.1:9873'
CALLBACK = PROXY + '/v1/login/callback'
ACCOUNTS = {'alice': {'name': 'Alice Liddell',
                      'email': 'alice@wonderland.example'},
            'bob': {'name': 'Bob Dobbs', 'email': 'bob@example.net'}}


class LoginTest(base.FederationTestCase):

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): PROXY}

    def setUp(self):
        super().setUp()
        self.idp = self.useFixture(oidc_provider.OidcProvider(
            clients=[{'client_id': 'arbiter-proxy',
                      'client_secret': 'proxy-secret-at-the-idp',
                      'redirect_uris': [CALLBACK],
                      'grant_types': ['authorization_code'],
                      'response_types': ['code'],
                      'token_endpoint_auth_method': 'client_secret_basic'}],
            accounts=ACCOUNTS))
        self.app.post_json('/v1/idps', {
            'name': 'upstream', 'issuer': self.idp.issuer,
            'client_id': 'arbiter-proxy',
            'client_secret': 'proxy-secret-at-the-idp', 'discover': True,
            'scopes': ['openid', 'profile', 'email']}, headers=base.ADMIN)

    def _start(self, link=False, status=302):
        query = {'idp': 'upstream'}
        if link:
            query['link'] = 'true'
        # Opened by the person (a link must not come from another
        # site).
        return self.app.get('/v1/login?' + urllib.parse.urlencode(query),
                            headers={'Sec-Fetch-Site': 'none'},
                            status=status)

    def _at_idp(self, location, account='alice'):
        """The callback URL the provider sends the browser to."""
        return oidc_provider.browse(requests.Session(), location, CALLBACK,
                                    account)

    def _callback(self, url, status=200):
        split = urllib.parse.urlsplit(url)
        return self.app.get(split.path + '?' + split.query, status=status,
                            expect_errors=status >= 400)

    def _bind(self, value):
        """Give the browser a login cookie, as ``GET /v1/login`` does."""
        self.app.set_cookie(login.LOGIN_COOKIE, value)

    def _people(self):
        return self.app.get('/v1/users', headers=base.ADMIN).json['users']

    def _login(self, account='alice', link=False):
        url = self._at_idp(self._start(link).headers['Location'], account)
        return self._callback(url)

    def test_redirect_carries_state_nonce_and_pkce(self):
        location = self._start().headers['Location']
        split = urllib.parse.urlsplit(location)
        self.assertEqual(self.idp.issuer + '/auth',
                         '%s://%s%s' % (split.scheme, split.netloc,
                                        split.path))
        query = dict(urllib.parse.parse_qsl(split.query))
        self.assertEqual('S256', query['code_challenge_method'])
        self.assertEqual(CALLBACK, query['redirect_uri'])
        for name in ('state', 'nonce', 'code_challenge'):
            self.assertGreaterEqual(len(query[name]), 43, name)
        self.assertEqual({'openid', 'profile', 'email'},
                         set(query['scope'].split()))

    def test_first_login_creates_the_person_and_the_second_finds_them(self):
        first = self._login().json
        self.assertTrue(first['created'])
        self.assertEqual((self.idp.issuer, 'alice'),
                         (first['issuer'], first['subject']))
        user = self.app.get('/v1/users/%s' % first['user_id'],
                            headers=base.ADMIN).json['user']
        self.assertEqual(('Alice Liddell', 'alice@wonderland.example'),
                         (user['name'], user['email']))
        self.assertIn('federation_session', self.app.cookies)
        second = self._login().json
        self.assertFalse(second['created'])
        self.assertEqual(first['user_id'], second['user_id'])
        bob = self._login('bob').json
        self.assertNotEqual(first['user_id'], bob['user_id'])

    def test_link_adds_an_identity_to_the_logged_in_person(self):
        alice = self._login().json['user_id']
        linked = self._login('bob', link=True).json
        self.assertEqual((alice, False, True),
                         (linked['user_id'], linked['created'],
                          linked['linked']))
        identities = self.app.get('/v1/users/%s/identities' % alice,
                                  headers=base.ADMIN).json['identities']
        self.assertEqual(['alice', 'bob'],
                         sorted(i['subject'] for i in identities))
        # Bob logging in alone now is Alice's person.
        self.app.cookiejar.clear()
        self.assertEqual(alice, self._login('bob').json['user_id'])

    def test_prompt_login_is_honoured_by_a_real_idp(self):
        # The same browser: the IdP has a session of its own after the
        # first login.
        browser = requests.Session()
        self.addCleanup(browser.close)
        self._callback(oidc_provider.browse(
            browser, self._start().headers['Location'], CALLBACK, 'alice'))
        first = self._auth_time()
        # auth_time is in seconds: a new login is a later second.
        time.sleep(1.1)
        location = self.app.get('/v1/login', {
            'idp': 'upstream', 'prompt': 'login'}).headers['Location']
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.assertEqual(('login', '0'), (query['prompt'],
                                          query['max_age']))
        # The IdP asks again and says when (auth_time): the proxy takes
        # the login, whose time is the new authentication's.
        self._callback(oidc_provider.browse(browser, location, CALLBACK,
                                            'alice'))
        self.assertGreater(self._auth_time(), first)

    def _auth_time(self):
        """When the proxy session says the IdP authenticated the
        person."""
        return pyjwt.decode(self.app.cookies[login.SESSION_COOKIE],
                            options={'verify_signature': False}).get(
                                'auth_time')

    def test_link_needs_a_session(self):
        resp = self._start(link=True, status=401)
        self.assertEqual('federation.no_session',
                         resp.json['errors'][0]['code'])

    def test_wrong_state_refused(self):
        url = self._at_idp(self._start().headers['Location'])
        split = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(split.query))
        query['state'] = 'forged-' + query['state']
        forged = CALLBACK + '?' + urllib.parse.urlencode(query)
        # The browser's login cookie is not the forged state's.
        resp = self._callback(forged, status=400)
        self.assertEqual('federation.login_not_bound',
                         resp.json['errors'][0]['code'])
        # Even bound to it (only the proxy's key can), an unknown state
        # is refused.
        self._bind(login.login_binding(
            self.OVERRIDES[('federation', 'secret_key')], query['state']))
        resp = self._callback(forged, status=400)
        self.assertEqual('federation.invalid_state',
                         resp.json['errors'][0]['code'])
        self.assertNotIn('federation_session', self.app.cookies)

    def test_replayed_state_refused(self):
        start = self._start()
        binding = self.app.cookies[login.LOGIN_COOKIE]
        url = self._at_idp(start.headers['Location'])
        self._callback(url)
        self.app.cookiejar.clear()
        # Even with the login's cookie again, its state is used up.
        self._bind(binding)
        resp = self._callback(url, status=400)
        self.assertEqual('federation.invalid_state',
                         resp.json['errors'][0]['code'])
        self.assertNotIn('federation_session', self.app.cookies)

    def test_code_of_another_login_refused(self):
        # The code of login A sent with the state of login B: the
        # verifier of B does not match A's challenge (and B's nonce is
        # not in A's ID token), so the IdP or the proxy refuses it.
        url_a = self._at_idp(self._start().headers['Location'])
        location_b = self._start().headers['Location']
        state_b = oidc_setup.query_of(location_b)['state']
        query = oidc_setup.query_of(url_a)
        query['state'] = state_b
        resp = self._callback(CALLBACK + '?' + urllib.parse.urlencode(
            query), status=400)
        self.assertIn(resp.json['errors'][0]['code'],
                      ('federation.code_refused',
                       'federation.invalid_id_token'))

    def test_issuer_mismatch_refused(self):
        url = self._at_idp(self._start().headers['Location'])
        query = oidc_setup.query_of(url)
        query['iss'] = 'https://evil.example'
        resp = self._callback(CALLBACK + '?' + urllib.parse.urlencode(
            query), status=400)
        self.assertEqual('federation.issuer_mismatch',
                         resp.json['errors'][0]['code'])

    def test_an_answer_without_iss_is_refused(self):
        # oidc-provider's discovery document says that it names itself
        # in each of its answers (RFC 9207): one without is not its own.
        url = self._at_idp(self._start().headers['Location'])
        query = oidc_setup.query_of(url)
        self.assertEqual(self.idp.issuer, query.pop('iss'))
        resp = self._callback(CALLBACK + '?' + urllib.parse.urlencode(
            query), status=400)
        self.assertEqual(400, resp.status_int, resp.body)
        self.assertEqual('federation.issuer_missing',
                         resp.json['errors'][0]['code'])
        self.assertNotIn('federation_session', self.app.cookies)
        self.assertEqual([], self._people())

    def _error_answer(self):
        """The IdP's real error answer to this login (prompt=none
        without a session at the IdP: login_required), as a query."""
        location = self._start().headers['Location']
        url = self._at_idp(location + '&prompt=none')
        query = oidc_setup.query_of(url)
        self.assertEqual('login_required', query['error'])
        self.assertEqual(self.idp.issuer, query['iss'])
        return query

    def test_an_error_answer_is_refused_as_the_idps(self):
        resp = self._callback(CALLBACK + '?' + urllib.parse.urlencode(
            self._error_answer()), status=400)
        self.assertEqual('federation.idp_refused',
                         resp.json['errors'][0]['code'])
        self.assertIn('login_required', resp.json['errors'][0]['detail'])

    def test_an_error_answer_is_not_quoted_out_of_oauth_characters(self):
        # An error code is ASCII without controls (RFC 6749 4.1.2.1): a
        # bidirectional override or a newline would turn the proxy's
        # sentence into the IdP's.
        for error in ('access_denied\u202e.detnarg si nigol ruoY',
                      'access_denied.\nLog in at https://evil.example'):
            query = self._error_answer()
            query['error'] = error
            resp = self._callback(CALLBACK + '?' + urllib.parse.urlencode(
                query), status=400)
            self.assertEqual(
                ('federation.idp_refused',
                 'The IdP refused the login: error.'),
                (resp.json['errors'][0]['code'],
                 resp.json['errors'][0]['detail']))

    def test_an_error_answer_of_another_issuer_is_a_mix_up(self):
        # RFC 9207 2.4: iss is checked in error answers too; another
        # IdP's error sent back with this login's state is not this
        # IdP's refusal.
        query = self._error_answer()
        query['iss'] = 'https://attacker.example'
        resp = self._callback(CALLBACK + '?' + urllib.parse.urlencode(
            query), status=400)
        self.assertEqual('federation.issuer_mismatch',
                         resp.json['errors'][0]['code'])

    def test_an_error_answer_without_iss_is_refused(self):
        # oidc-provider says that it names itself in each of its
        # answers, error answers included.
        query = self._error_answer()
        del query['iss']
        resp = self._callback(CALLBACK + '?' + urllib.parse.urlencode(
            query), status=400)
        self.assertEqual('federation.issuer_missing',
                         resp.json['errors'][0]['code'])

    def test_without_discovery_an_answer_without_iss_logs_in(self):
        # The IdP registered with its endpoints given, not discovered:
        # nothing says that it names itself in its answers.
        document = requests.get(
            self.idp.issuer + '/.well-known/openid-configuration',
            timeout=10).json()
        idp = self.app.get('/v1/idps', headers=base.ADMIN).json['idps'][0]
        self.app.delete('/v1/idps/%s' % idp['id'], headers=base.ADMIN,
                        status=204)
        self.app.post_json('/v1/idps', dict(
            {name: document[name] for name in (
                'authorization_endpoint', 'token_endpoint', 'jwks_uri')},
            name='upstream', issuer=self.idp.issuer,
            client_id='arbiter-proxy',
            client_secret='proxy-secret-at-the-idp', discover=False,
            scopes=['openid', 'profile', 'email']), headers=base.ADMIN)
        url = self._at_idp(self._start().headers['Location'])
        query = oidc_setup.query_of(url)
        del query['iss']
        resp = self._callback(CALLBACK + '?' + urllib.parse.urlencode(
            query))
        self.assertEqual('alice', resp.json['subject'])
        self.assertIn('federation_session', self.app.cookies)

    def test_session_is_the_person_at_the_authorization_endpoint(self):
        alice = self._login().json['user_id']
        client_id, secret = oidc_setup.make_client(self.app, 'leaf')
        verifier, challenge = oidc_setup.pkce_pair()
        # The request's own identity is someone the proxy does not know:
        # without the session this is refused.
        resp = self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': client_id,
            'redirect_uri': oidc_setup.REDIRECT, 'scope': 'openid',
            'code_challenge': challenge, 'code_challenge_method': 'S256',
            'nonce': 'n-1'}, headers=oidc_setup.person_headers('stranger'),
            status=302)
        code = oidc_setup.query_of(resp.headers['Location'])['code']
        token = self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': oidc_setup.REDIRECT, 'code_verifier': verifier},
            headers=oidc_setup.basic(client_id, secret)).json
        userinfo = self.app.get('/oidc/userinfo', headers={
            'Authorization': 'Bearer ' + token['access_token']}).json
        self.assertEqual(alice, userinfo['sub'])
        self.app.cookiejar.clear()
        self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': client_id,
            'redirect_uri': oidc_setup.REDIRECT,
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            headers=oidc_setup.person_headers('stranger'), status=403)

    def test_authorize_without_session_logs_in_at_the_only_idp(self):
        client_id, secret = oidc_setup.make_client(self.app, 'leaf')
        verifier, challenge = oidc_setup.pkce_pair()
        query = {'response_type': 'code', 'client_id': client_id,
                 'redirect_uri': oidc_setup.REDIRECT, 'scope': 'openid',
                 'state': 'st-1', 'code_challenge': challenge,
                 'code_challenge_method': 'S256'}
        resp = self.app.get('/oidc/authorize', query, status=302)
        # The only IdP: no chooser, straight to it.
        resp = self.app.get(_path(resp.location), status=302)
        self.assertTrue(resp.location.startswith(self.idp.issuer + '/'))
        resp = self._callback(self._at_idp(resp.location), status=302)
        self.assertEqual(query, oidc_setup.query_of(resp.location))
        self.assertEqual(PROXY + '/oidc/authorize',
                         resp.location.split('?')[0])
        resp = self.app.get(_path(resp.location), status=302)
        code = oidc_setup.query_of(resp.location)['code']
        token = self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': oidc_setup.REDIRECT, 'code_verifier': verifier},
            headers=oidc_setup.basic(client_id, secret)).json
        self.assertIn('access_token', token)

    def test_session_cookie_is_http_only_and_same_site(self):
        attributes = _cookie(self._login(), login.SESSION_COOKIE)
        self.assertIn('httponly', attributes)
        self.assertIn('samesite=lax', attributes)
        # An http issuer (tests): not Secure; an https one makes it so.
        self.assertNotIn('secure', attributes)

    def test_login_cookie_is_http_only_and_cleared_by_the_callback(self):
        attributes = _cookie(self._start(), login.LOGIN_COOKIE)
        self.assertIn('httponly', attributes)
        self.assertIn('samesite=lax', attributes)
        # The whole host, as __Host- requires under an https issuer.
        self.assertIn('path=/', attributes)
        self.assertIn('max-age=600', attributes)
        self.assertNotIn('secure', attributes)
        # The callback that used it clears it.
        cleared = _cookie(self._login(), login.LOGIN_COOKIE)
        self.assertIn('max-age=0', cleared)
        self.assertNotIn(login.LOGIN_COOKIE, self.app.cookies)

    def test_callback_without_the_login_cookie_refused(self):
        # An attacker starts a login with their own IdP account and
        # makes someone else's browser (no login cookie) open the
        # callback URL: refused, nobody is logged in, nothing written.
        start = self._start()
        binding = self.app.cookies[login.LOGIN_COOKIE]
        url = self._at_idp(start.headers['Location'])
        self.app.cookiejar.clear()
        resp = self._callback(url, status=400)
        self.assertEqual('federation.login_not_bound',
                         resp.json['errors'][0]['code'])
        self.assertNotIn(login.SESSION_COOKIE, self.app.cookies)
        self.assertEqual([], self._people())
        # The state was not used up: the browser that started the login
        # can still finish it.
        self._bind(binding)
        self.assertTrue(self._callback(url).json['created'])

    def test_callback_with_another_logins_cookie_refused(self):
        # The attacker's callback URL opened in a browser that has a
        # login of its own under way (the victim's cookie).
        url = self._at_idp(self._start().headers['Location'])
        attacker = self.app.cookies[login.LOGIN_COOKIE]
        self._start()
        self.assertNotEqual(attacker, self.app.cookies[login.LOGIN_COOKIE])
        resp = self._callback(url, status=400)
        self.assertEqual('federation.login_not_bound',
                         resp.json['errors'][0]['code'])
        self.assertNotIn(login.SESSION_COOKIE, self.app.cookies)
        self.assertEqual([], self._people())

    def test_link_started_by_someone_else_links_nothing(self):
        # Mallory (account alice here) starts linking from her session
        # and sends the IdP URL to Bob, who logs in at the IdP in his
        # own browser: his identity must not join Mallory's person.
        mallory = self._login().json['user_id']
        location = self._start(link=True).headers['Location']
        self.app.cookiejar.clear()
        url = self._at_idp(location, 'bob')
        resp = self._callback(url, status=400)
        self.assertEqual('federation.login_not_bound',
                         resp.json['errors'][0]['code'])
        identities = self.app.get('/v1/users/%s/identities' % mallory,
                                  headers=base.ADMIN).json['identities']
        self.assertEqual(['alice'], [i['subject'] for i in identities])
        self.assertEqual([mallory], [p['id'] for p in self._people()])
        # Bob logging in himself is a new person.
        self.assertNotEqual(mallory, self._login('bob').json['user_id'])

    def test_session_works_at_the_api_without_identity_headers(self):
        alice = self._login().json['user_id']
        identities = self.app.get('/v1/users/%s/identities' % alice).json
        self.assertEqual(['alice'], [i['subject'] for i in
                                     identities['identities']])
        self.app.cookiejar.clear()
        self.app.get('/v1/users/%s/identities' % alice, status=401)


class HttpsIssuerLoginTest(base.FederationTestCase):
    """An https issuer: the proxy's cookies are Secure and named with
    the ``__Host-`` prefix (Path=/, no Domain), so that a site on a
    sibling subdomain cannot set ("toss") one that the proxy reads."""

    ISSUER = 'https://127.0.0.1:9873'
    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): ISSUER}
    HTTPS = {'wsgi.url_scheme': 'https'}

    def setUp(self):
        super().setUp()
        self.callback = self.ISSUER + '/v1/login/callback'
        self.idp = self.useFixture(oidc_provider.OidcProvider(
            clients=[{'client_id': 'arbiter-proxy',
                      'client_secret': 'proxy-secret-at-the-idp',
                      'redirect_uris': [self.callback],
                      'grant_types': ['authorization_code'],
                      'response_types': ['code'],
                      'token_endpoint_auth_method': 'client_secret_basic'}],
            accounts=ACCOUNTS))
        self.app.post_json('/v1/idps', {
            'name': 'upstream', 'issuer': self.idp.issuer,
            'client_id': 'arbiter-proxy',
            'client_secret': 'proxy-secret-at-the-idp', 'discover': True,
            'scopes': ['openid']}, headers=base.ADMIN)

    def _start(self):
        """``(answer of GET /v1/login, callback URL from the IdP)``."""
        start = self.app.get('/v1/login', status=302,
                             extra_environ=self.HTTPS)
        return start, oidc_provider.browse(
            requests.Session(), start.location, self.callback, 'alice')

    def _value(self, resp, name):
        for header in resp.headers.getall('Set-Cookie'):
            if header.startswith(name + '='):
                return header.split(';')[0].split('=', 1)[1]
        raise AssertionError('%s not set' % name)

    def test_cookies_are_secure_and_host_only(self):
        start, url = self._start()
        for resp, name in ((start, login.LOGIN_COOKIE),
                           (self.app.get(_path(url),
                                         extra_environ=self.HTTPS),
                            login.SESSION_COOKIE)):
            attributes = _cookie(resp, '__Host-' + name)
            for wanted in ('secure', 'httponly', 'path=/',
                           'samesite=lax'):
                self.assertIn(wanted, attributes)
            self.assertEqual([], [a for a in attributes
                                  if a.startswith('domain=')])
            # The plain name is never given a value; the session's is
            # expired (the cookie of an earlier release, Path=/).
            plain = [h for h in resp.headers.getall('Set-Cookie')
                     if h.startswith(name + '=')]
            if name == login.LOGIN_COOKIE:
                self.assertEqual([], plain)
            else:
                self.assertEqual(1, len(plain))
                self.assertTrue(plain[0].startswith(name + '=;'))
                self.assertIn('Max-Age=0; Path=/;', plain[0])

    def test_cookies_of_other_names_are_not_read(self):
        # A sibling subdomain can set federation_session and
        # federation_login for the whole domain, not their __Host-
        # names: the proxy reads only those.
        start, url = self._start()
        binding = self._value(start, '__Host-' + login.LOGIN_COOKIE)
        self.app.cookiejar.clear()
        tossed = {'Cookie': '%s=%s' % (login.LOGIN_COOKIE, binding)}
        resp = self.app.get(_path(url), headers=tossed, status=400,
                            extra_environ=self.HTTPS)
        self.assertEqual('federation.login_not_bound',
                         resp.json['errors'][0]['code'])
        # The browser that holds the __Host- cookie finishes the login.
        resp = self.app.get(_path(url), headers={
            'Cookie': '__Host-%s=%s' % (login.LOGIN_COOKIE, binding)},
            extra_environ=self.HTTPS)
        user_id = resp.json['user_id']
        session = self._value(resp, '__Host-' + login.SESSION_COOKIE)
        self.app.cookiejar.clear()
        me = '/v1/users/%s' % user_id
        self.app.get(me, headers={'Cookie': '%s=%s' % (
            login.SESSION_COOKIE, session)}, status=401,
            extra_environ=self.HTTPS)
        self.assertEqual(user_id, self.app.get(me, headers={
            'Cookie': '__Host-%s=%s' % (login.SESSION_COOKIE, session)},
            extra_environ=self.HTTPS).json['user']['id'])


class HttpsIssuerWithAPathLoginTest(HttpsIssuerLoginTest):
    """An https issuer with a path (a proxy mounted at
    https://host/federation): the cookies are for Path=/ all the same,
    as __Host- requires."""

    ISSUER = 'https://127.0.0.1:9873/federation'
    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): ISSUER}
    HTTPS = {'wsgi.url_scheme': 'https', 'SCRIPT_NAME': '/federation'}


def _path(url):
    split = urllib.parse.urlsplit(url)
    return split.path + ('?' + split.query if split.query else '')


def _cookie(resp, name):
    """The attributes (lower case) of the cookie ``name`` that ``resp``
    sets."""
    for header in resp.headers.getall('Set-Cookie'):
        if header.startswith(name + '='):
            return [a.strip().lower() for a in header.split(';')]
    raise AssertionError('%s not set' % name)
