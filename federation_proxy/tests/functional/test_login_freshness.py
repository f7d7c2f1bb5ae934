"""A relying party's ``prompt=login`` and ``max_age`` reach the upstream
IdP, and the proxy checks that the IdP did authenticate the person as
asked.

The proxy sends a person with too old a session to log in again; that
login must not be satisfied by the upstream IdP's own session (a
stolen or left-open browser at the IdP): the proxy asks the IdP for
``prompt=login`` (with ``max_age=0``) or the relying party's
``max_age``, and refuses an ID token whose ``auth_time`` is older than
asked, or missing.  The IdP here (:class:`HostileIdP`) signs whatever
the test sets, including an IdP that ignores the request.
"""

import time
import urllib.parse

import jwt as pyjwt

from federation_proxy import login
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup as s
from federation_proxy.tests.functional import test_login_hostile_idp as h

PROXY = 'http://127.0.0.1:9873'


def _query(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
        location).query))


class FreshLoginTest(base.FederationTestCase):

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): PROXY}

    def setUp(self):
        super().setUp()
        self.idp = h.HostileIdP(self)
        self.app.post_json('/v1/idps', {
            'name': 'upstream', 'issuer': self.idp.issuer,
            'client_id': h.CLIENT_ID, 'client_secret': 'secret',
            'discover': False,
            'authorization_endpoint': self.idp.issuer + '/auth',
            'token_endpoint': self.idp.issuer + '/token',
            'jwks_uri': self.idp.issuer + '/jwks'}, headers=base.ADMIN)
        self.client_id, self.secret = s.make_client(self.app, 'leaf')

    def authorize(self, **extra):
        """``(redirect, PKCE verifier)`` of an authorization request of
        the browser (its session cookie, if any)."""
        verifier, challenge = s.pkce_pair()
        query = dict({'response_type': 'code', 'client_id': self.client_id,
                      'redirect_uri': s.REDIRECT, 'scope': 'openid',
                      'state': 'st-1', 'code_challenge': challenge,
                      'code_challenge_method': 'S256'}, **extra)
        return self.app.get('/oidc/authorize', query,
                            status=302).location, verifier

    def at_idp(self, location, status=200, **claims):
        """Follow a redirect to the proxy's login, let the IdP answer an
        ID token with ``claims``; ``(IdP query, callback answer)``."""
        split = urllib.parse.urlsplit(location)
        self.assertEqual(login.LOGIN_PATH, split.path)
        upstream = self.app.get(split.path + '?' + split.query,
                                status=302).location
        query = _query(upstream)
        self.idp.answer(query['nonce'], **claims)
        return query, self.app.get('/v1/login/callback', {
            'state': query['state'], 'code': 'c'}, status=status)

    def grant(self, callback, verifier):
        """The tokens of the code the login's continuation issues."""
        self.assertEqual(302, callback.status_int, callback.body)
        split = urllib.parse.urlsplit(callback.location)
        code = _query(self.app.get(split.path + '?' + split.query,
                                   status=302).location)['code']
        return self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(self.client_id, self.secret)).json

    def id_token(self, callback, verifier):
        """The ID token of the code the login's continuation issues."""
        return pyjwt.decode(self.grant(callback, verifier)['id_token'],
                            options={'verify_signature': False})

    def test_a_login_again_replaces_the_browsers_session(self):
        location, verifier = self.authorize()
        _query, resp = self.at_idp(location, status=302)
        grant = self.grant(resp, verifier)
        # A copy of this cookie is taken (stolen); the person logs in
        # again in the browser (a relying party asked prompt=login).
        stolen = self.app.cookies[login.SESSION_COOKIE]
        location, verifier = self.authorize(prompt='login')
        _query, resp = self.at_idp(location, status=302,
                                   auth_time=int(time.time()))
        self.grant(resp, verifier)
        # The session the browser had is over: its copy is no one.
        copy = {'Cookie': '%s=%s' % (login.SESSION_COOKIE, stolen)}
        self.app.get('/oidc/device', headers=copy, status=401)
        # The browser's logout revokes what it authorized before the
        # new login too.
        self.app.post(login.LOGOUT_PATH,
                      headers={login.CSRF_HEADER: 'XMLHttpRequest'},
                      status=204)
        resp = self.app.post('/oidc/token', {
            'grant_type': 'refresh_token',
            'refresh_token': grant['refresh_token']},
            headers=s.basic(self.client_id, self.secret), status=400)
        self.assertEqual('invalid_grant', resp.json['error'])

    def logged_in_long_ago(self):
        """A session of a login the IdP made an hour ago."""
        location, _verifier = self.authorize()
        _query, resp = self.at_idp(location, status=302,
                                   auth_time=int(time.time()) - 3600)
        self.assertIn(login.SESSION_COOKIE, self.app.cookies)

    def test_an_ordinary_login_asks_for_nothing(self):
        location, verifier = self.authorize()
        query, resp = self.at_idp(location, status=302)
        self.assertNotIn('prompt', query)
        self.assertNotIn('max_age', query)
        # The IdP said nothing of when: the login is now.
        self.assertLess(abs(self.id_token(resp, verifier)['auth_time'] -
                            time.time()), 5)

    def test_prompt_login_is_passed_on_and_checked(self):
        self.logged_in_long_ago()
        location, verifier = self.authorize(prompt='login')
        # The IdP let the person through on its old session: refused.
        query, resp = self.at_idp(location, status=400,
                                  auth_time=int(time.time()) - 3600)
        self.assertEqual(('login', '0'), (query['prompt'],
                                          query['max_age']))
        self.assertEqual('federation.login_not_fresh',
                         resp.json['errors'][0]['code'])
        # Nor may it keep quiet about when.
        location, verifier = self.authorize(prompt='login')
        _query, resp = self.at_idp(location, status=400)
        self.assertEqual('federation.login_not_fresh',
                         resp.json['errors'][0]['code'])
        # The IdP asked the person again: the client gets its code, and
        # the ID token says when.
        location, verifier = self.authorize(prompt='login')
        now = int(time.time())
        _query, resp = self.at_idp(location, status=302, auth_time=now)
        self.assertEqual(now, self.id_token(resp, verifier)['auth_time'])

    def test_max_age_is_passed_on_and_checked(self):
        self.logged_in_long_ago()
        location, verifier = self.authorize(max_age='600')
        query, resp = self.at_idp(location, status=400,
                                  auth_time=int(time.time()) - 1800)
        self.assertEqual('600', query['max_age'])
        self.assertNotIn('prompt', query)
        self.assertEqual('federation.login_not_fresh',
                         resp.json['errors'][0]['code'])
        # Within max_age at the IdP (its own session, 5 minutes old):
        # taken, and the ID token says when the IdP authenticated.
        location, verifier = self.authorize(max_age='600')
        then = int(time.time()) - 300
        _query, resp = self.at_idp(location, status=302, auth_time=then)
        self.assertEqual(then, self.id_token(resp, verifier)['auth_time'])

    def test_an_idp_session_is_the_login_time(self):
        # An IdP that says the person authenticated an hour ago: the
        # proxy's session is that old, and max_age judges it so.
        self.logged_in_long_ago()
        location, _verifier = self.authorize(max_age='600')
        self.assertEqual(login.LOGIN_PATH,
                         urllib.parse.urlsplit(location).path)
        self.assertEqual('600', _query(location)['max_age'])

    def test_bad_freshness_parameters(self):
        for bad in ({'prompt': 'consent'}, {'max_age': '-1'},
                    {'max_age': '1' * 11}, {'max_age': 'soon'}):
            resp = self.app.get(login.LOGIN_PATH, dict(idp='upstream',
                                                       **bad), status=400)
            self.assertEqual(list(bad)[0],
                             resp.json['errors'][0].get('field'), bad)
