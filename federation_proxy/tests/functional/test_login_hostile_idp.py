"""Logins through an upstream IdP that answers what it likes.

The IdPs a proxy trusts are many and run by others; one may be broken
or hostile.  Here a small IdP on 127.0.0.1 (:class:`HostileIdP`) signs
whatever ID token the test sets, so that each answer the proxy cannot
take (a subject longer than OpenID Connect allows or with control
characters, a NUL in a name) is shown to the login callback, on
PostgreSQL, which is strict about what a column holds.  Each must be a
4xx that logs nobody in and makes nobody, or a login whose stored
profile leaves out what it cannot keep; never a 500.
"""

import http.server
import json
import threading
import time
import urllib.parse

from joserfc import jwk
from joserfc import jwt
import sqlalchemy as sa
import webtest

from federation_proxy.db import models
from federation_proxy import login
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup
from svc_common.tests.fixtures import races

PROXY = 'http://127.0.0.1:9873'
CLIENT_ID = 'arbiter-proxy'


class _Handler(http.server.BaseHTTPRequestHandler):
    """``GET /jwks``: the IdP's public key; ``POST /token``: an ID token
    of ``server.claims``, signed with the IdP's key.  With
    ``server.padding`` (a number of bytes) the answers of
    ``server.padding_paths`` carry that much more; with
    ``server.trickle`` (seconds) the token answer comes a byte at a
    time, then spaces (which JSON allows after a value) until that many
    seconds have passed; with ``server.stall`` it stops halfway for 3
    seconds.  With ``server.slow_head`` (seconds) the token answer's
    head takes that long, each byte well within the timeout, before the
    answer proper: ``'header'`` sends one header line a byte at a time,
    ``'continue'`` one ``100 Continue`` after another (``http.client``
    skips any number of them)."""

    def _answer(self, document, trickle=None):
        if self.server.padding and self.path in self.server.padding_paths:
            document = dict(document, padding='x' * self.server.padding)
        body = json.dumps(document).encode('utf-8')
        if self.server.slow_head and self.path == '/token':
            if not self._slow_head():
                return
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        if trickle:
            self.send_header('Connection', 'close')
            self.end_headers()
            self._trickle(body, time.monotonic() + trickle)
            return
        if self.server.stall and self.path == '/token':
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self._stall(body)
            return
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            # The proxy stopped reading a long answer.
            pass

    def _stall(self, body):
        """Half the answer, then nothing for 3 seconds, then the
        connection closes."""
        try:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            time.sleep(3)
        except OSError:
            pass

    def _slow_head(self):
        """The slow head; False if the proxy hung up meanwhile."""
        kind, seconds = self.server.slow_head
        until = time.monotonic() + seconds
        try:
            while time.monotonic() < until:
                if kind == 'header':
                    self.wfile.write(b'HTTP/1.1 100 Continue\r\nX-Slow: ')
                    while time.monotonic() < until:
                        self.wfile.write(b'a')
                        self.wfile.flush()
                        time.sleep(0.05)
                    self.wfile.write(b'\r\n\r\n')
                else:
                    self.wfile.write(b'HTTP/1.1 100 Continue\r\n\r\n')
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            self.server.hung_up = True
            return False
        return True

    def _trickle(self, body, until):
        try:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.02)
            while time.monotonic() < until:
                self.wfile.write(b' ')
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            # The proxy gave up (the outcome the test wants).
            pass

    def do_GET(self):
        if self.path != '/jwks':
            self.send_error(404)
            return
        published = getattr(self.server, 'jwks_key', None) or self.server.key
        self._answer({'keys': [published.as_dict(private=False)]})

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        self.rfile.read(length)
        if self.path != '/token':
            self.send_error(404)
            return
        token = jwt.encode({'alg': 'RS256', 'kid': self.server.key.kid},
                           self.server.claims, self.server.key)
        self._answer({'access_token': 'at', 'token_type': 'Bearer',
                      'expires_in': 60, 'id_token': token},
                     trickle=self.server.trickle)

    def log_message(self, *args):
        pass


class HostileIdP(object):
    """An IdP on 127.0.0.1 whose token endpoint answers an ID token of
    ``claims`` (set by the test) for any code."""

    def __init__(self, test):
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      _Handler)
        self.server.key = jwk.RSAKey.generate_key(
            2048, parameters={'kid': 'k1'}, private=True)
        self.server.claims = {}
        self.server.padding = 0
        self.server.padding_paths = ('/jwks', '/token')
        self.server.trickle = None
        self.server.stall = False
        self.server.slow_head = None
        self.server.hung_up = False
        thread = threading.Thread(target=self.server.serve_forever,
                                  kwargs={'poll_interval': 0.05})
        thread.start()
        test.addCleanup(thread.join, 5)
        test.addCleanup(self.server.server_close)
        test.addCleanup(self.server.shutdown)
        self.issuer = 'http://127.0.0.1:%d' % self.server.server_port

    def answer(self, nonce, **claims):
        """The next ID token: a valid one for ``nonce``, with
        ``claims`` changed."""
        now = int(time.time())
        self.server.claims = dict({
            'iss': self.issuer, 'sub': 'alice', 'aud': CLIENT_ID,
            'iat': now, 'exp': now + 300, 'nonce': nonce}, **claims)


class HostileIdPTestCase(base.FederationTestCase):
    """The proxy with :class:`HostileIdP` registered as ``hostile``."""

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): PROXY}

    def setUp(self):
        super().setUp()
        self.idp = HostileIdP(self)
        self.app.post_json('/v1/idps', {
            'name': 'hostile', 'issuer': self.idp.issuer,
            'client_id': CLIENT_ID, 'client_secret': 'secret',
            'discover': False,
            'authorization_endpoint': self.idp.issuer + '/auth',
            'token_endpoint': self.idp.issuer + '/token',
            'jwks_uri': self.idp.issuer + '/jwks'}, headers=base.ADMIN)

    def _login(self, **claims):
        """The callback's answer to a login whose ID token has
        ``claims`` changed."""
        location = self.app.get('/v1/login?idp=hostile').location
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.idp.answer(query['nonce'], **claims)
        return self.app.get('/v1/login/callback', {
            'state': query['state'], 'code': 'c'}, expect_errors=True)


class TestUnverifiedEmail(HostileIdPTestCase):

    def _email(self, resp):
        """The email the proxy keeps for the person the login made, and
        the one its ID tokens would name."""
        self.assertEqual(200, resp.status_int, resp.body)
        return self.app.get('/v1/users/%s' % resp.json['user_id'],
                            headers=base.ADMIN).json['user']['email']

    def test_an_email_the_idp_did_not_verify_is_not_the_persons(self):
        # An IdP where anyone types any address (self-registration, a
        # social login) says so in email_verified: that address is not
        # handed on to relying parties as the person's.
        for sub, verified in (('mallory', False), ('eve', 'false'),
                              ('trudy', 'FALSE')):
            resp = self._login(sub=sub, email='admin@cloud.example',
                               email_verified=verified)
            self.assertNotIn('email', resp.json['claims'])
            self.assertIsNone(self._email(resp))
        for sub, verified in (('bob', True), ('carol', 'true'),
                              ('dave', None)):
            claims = {'email_verified': verified} if verified else {}
            resp = self._login(sub=sub, email='%s@example.org' % sub,
                               **claims)
            self.assertEqual('%s@example.org' % sub, self._email(resp))


class TestHostileIdPOnPostgreSQL(races.OnPostgreSQL, HostileIdPTestCase):

    def _identities(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(
                models.Identity.__table__.c.subject)).scalars().all()

    def _people(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(
                models.User.__table__.c.name,
                models.User.__table__.c.email)).all()

    def test_subject_oidc_refuses(self):
        for sub in ('s' * 256, 'nul\x00sub', 'new\nline', '', ' ',
                    '\u202eevil'):
            resp = self._login(sub=sub)
            self.assertEqual(400, resp.status_int, (sub, resp.body))
            self.assertEqual('federation.invalid_id_token',
                             resp.json['errors'][0]['code'])
            self.assertNotIn(login.SESSION_COOKIE, self.app.cookies)
        self.assertEqual([], self._identities())
        self.assertEqual([], self._people())

    def test_longest_subject_and_any_script(self):
        for sub in ('s' * 255, 'ålice-\U0001F600-\u0627\u0644\u0639'):
            resp = self._login(sub=sub)
            self.assertEqual(200, resp.status_int, resp.body)
            self.assertEqual(sub, resp.json['subject'])
        self.assertEqual(2, len(self._identities()))

    def test_profile_with_control_characters_is_left_out(self):
        resp = self._login(name='Mallory\x00Admin',
                           email='m\x00@example.org')
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertEqual({}, resp.json['claims'])
        resp = self._login(sub='bob', name='Bob\nBobson',
                           email='bob@example.org')
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertEqual({'email': 'bob@example.org'}, resp.json['claims'])
        self.assertEqual({(None, None), (None, 'bob@example.org')},
                         set(self._people()))

    def test_an_idp_disabled_during_the_login_logs_nobody_in(self):
        location = self.app.get('/v1/login?idp=hostile').location
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.idp.answer(query['nonce'])
        # The operator stops trusting the IdP while the person is there.
        idp_id = self.app.get('/v1/idps', headers=base.ADMIN).json[
            'idps'][0]['id']
        self.app.patch_json('/v1/idps/%s' % idp_id, {'enabled': False},
                            headers=base.ADMIN)
        resp = self.app.get('/v1/login/callback', {
            'state': query['state'], 'code': 'c'}, expect_errors=True)
        self.assertEqual(404, resp.status_int, resp.body)
        self.assertEqual('federation.idp_not_found',
                         resp.json['errors'][0]['code'])
        self.assertNotIn(login.SESSION_COOKIE, self.app.cookies)
        self.assertEqual([], self._identities())
        # The API's document says the callback may answer so.
        callback = self.app.get('/v1/openapi.json').json['paths'][
            '/v1/login/callback']['get']
        self.assertIn('404', callback['responses'])

    def test_an_idp_disabled_while_the_callback_runs(self):
        # The operator's disabling commits after the callback checked
        # the IdP and before it keeps the session: the session is not
        # kept (it would have outlived the disabling, which ended the
        # IdP's sessions it found).
        location = self.app.get('/v1/login?idp=hostile').location
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.idp.answer(query['nonce'])
        table = models.IdentityProvider.__table__

        def disable(conn):
            conn.execute(table.update().values(enabled=False))

        resp = races.during(self.engine, disable, lambda: self.app.get(
            '/v1/login/callback', {'state': query['state'], 'code': 'c'},
            expect_errors=True))
        self.assertEqual(404, resp.status_int, resp.body)
        self.assertEqual('federation.idp_not_found',
                         resp.json['errors'][0]['code'])
        self.assertNotIn(login.SESSION_COOKIE, self.app.cookies)
        with self.engine.connect() as conn:
            self.assertEqual([], conn.execute(sa.select(
                models.Session.__table__)).all())

    def test_an_idp_deleted_during_the_login_logs_nobody_in(self):
        location = self.app.get('/v1/login?idp=hostile').location
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.idp.answer(query['nonce'])
        idp_id = self.app.get('/v1/idps', headers=base.ADMIN).json[
            'idps'][0]['id']
        self.app.delete('/v1/idps/%s' % idp_id, headers=base.ADMIN)
        resp = self.app.get('/v1/login/callback', {
            'state': query['state'], 'code': 'c'}, expect_errors=True)
        self.assertEqual(404, resp.status_int, resp.body)
        self.assertEqual('federation.idp_not_found',
                         resp.json['errors'][0]['code'])
        self.assertNotIn(login.SESSION_COOKIE, self.app.cookies)
        self.assertEqual([], self._identities())


class TestSlowAndLongAnswers(HostileIdPTestCase):
    """An IdP that answers a byte at a time, or megabytes: the login is
    refused within about twice ``[federation] discovery_timeout`` (here
    1 second), whatever the IdP does, and logs nobody in."""

    OVERRIDES = dict(HostileIdPTestCase.OVERRIDES)
    OVERRIDES[('federation', 'discovery_timeout')] = 1

    def _refused(self, status, code):
        started = time.monotonic()
        resp = self._login()
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(status, resp.status_int, resp.body)
        self.assertEqual('federation.' + code,
                         resp.json['errors'][0]['code'])
        self.assertNotIn(login.SESSION_COOKIE, self.app.cookies)
        self.assertEqual([], self.app.get(
            '/v1/users', headers=base.ADMIN).json['users'])
        return resp

    def test_a_token_answer_sent_a_byte_at_a_time(self):
        # The answer would take about 20 seconds, then 10 more of
        # spaces; each byte comes well within the timeout.
        self.idp.server.trickle = 30
        resp = self._refused(502, 'idp_unreachable')
        self.assertIn('in time', resp.json['errors'][0]['detail'])

    def test_a_token_answer_that_stops_halfway(self):
        # Half the answer, then silence past the timeout.
        self.idp.server.stall = True
        resp = self._refused(502, 'idp_unreachable')
        # The read's timeout and the exchange's end are both 1 second.
        detail = resp.json['errors'][0]['detail']
        self.assertTrue('ReadTimeoutError' in detail or 'in time' in detail,
                        detail)

    def test_an_answer_whose_head_comes_a_byte_at_a_time(self):
        # A header line of 12 seconds of bytes, each 0.05 s after the
        # last, then a good answer (which a proxy that waited for it
        # would take).
        self.idp.server.slow_head = ('header', 12)
        resp = self._refused(502, 'idp_unreachable')
        self.assertIn('in time', resp.json['errors'][0]['detail'])

    def test_an_answer_after_endless_100_continues(self):
        self.idp.server.slow_head = ('continue', 12)
        resp = self._refused(502, 'idp_unreachable')
        self.assertIn('in time', resp.json['errors'][0]['detail'])

    def test_answers_of_megabytes(self):
        self.idp.server.padding = 2 * 1024 * 1024
        resp = self._refused(502, 'idp_unreachable')
        self.assertIn('longer than', resp.json['errors'][0]['detail'])

    def test_a_jwks_of_megabytes(self):
        self.idp.server.padding = 2 * 1024 * 1024
        # The token answer itself is small: only the JWKS is long.
        self.idp.server.padding_paths = ('/jwks',)
        resp = self._refused(400, 'invalid_id_token')
        self.assertIn('JWKS', resp.json['errors'][0]['detail'])

    def test_an_answer_within_the_bounds_logs_in(self):
        self.idp.server.padding = 512 * 1024
        resp = self._login()
        self.assertEqual(200, resp.status_int, resp.body)


class TestKeyRotation(HostileIdPTestCase):
    """An IdP that replaces its signing key and keeps its key id (``kid``):
    the proxy's cached JWKS does not verify the new signatures."""

    def test_a_key_replaced_under_the_same_kid_logs_in(self):
        self.assertEqual(200, self._login(sub='before').status_int)
        self.idp.server.key = jwk.RSAKey.generate_key(
            2048, parameters={'kid': 'k1'}, private=True)
        # Refused with "signature is not valid" for as long as the JWKS
        # was cached (five minutes).
        resp = self._login(sub='after')
        self.assertEqual(200, resp.status_int, resp.body)

    def test_a_signature_no_published_key_verifies_is_refused(self):
        self.assertEqual(200, self._login(sub='before').status_int)
        published = self.idp.server.key
        self.idp.server.key = jwk.RSAKey.generate_key(
            2048, parameters={'kid': 'k1'}, private=True)
        # Signed with the new key, published the old: fetched again,
        # still not verified.
        self.idp.server.jwks_key = published
        resp = self._login(sub='forged')
        self.assertEqual(400, resp.status_int, resp.body)
        self.assertIn('signature is not valid',
                      resp.json['errors'][0]['detail'])


class TestDisabledIdP(HostileIdPTestCase):
    """An IdP the operator disables or deletes (one it no longer
    trusts): what its logins obtained ends with it."""

    def _idp_id(self):
        return [i['id'] for i in self.app.get(
            '/v1/idps', headers=base.ADMIN).json['idps']
            if i['name'] == 'hostile'][0]

    def _grant(self):
        """Log in through the IdP and authorize a relying party with the
        session: ``(cookie, token answer)``."""
        location = self.app.get('/v1/login?idp=hostile').location
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.idp.answer(query['nonce'])
        self.app.get('/v1/login/callback', {'state': query['state'],
                                            'code': 'c'}, status=200)
        cookie = self.app.cookies[login.SESSION_COOKIE]
        verifier, challenge = oidc_setup.pkce_pair()
        resp = self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': 'leaf',
            'redirect_uri': oidc_setup.REDIRECT, 'scope': 'openid',
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            status=302)
        code = oidc_setup.query_of(resp.location)['code']
        return cookie, self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': oidc_setup.REDIRECT, 'code_verifier': verifier},
            headers=oidc_setup.basic(*self.client)).json

    def _ended(self, cookie, tokens):
        """The session of ``cookie`` and the grant it authorized are
        over."""
        # A copy of the cookie, in a browser of its own.
        browser = webtest.TestApp(self.app.app)
        browser.set_cookie(login.SESSION_COOKIE, cookie)
        resp = browser.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': 'leaf',
            'redirect_uri': oidc_setup.REDIRECT,
            'code_challenge': 'c' * 43, 'code_challenge_method': 'S256',
            'prompt': 'none'}, status=302)
        self.assertEqual('login_required',
                         oidc_setup.query_of(resp.location)['error'])
        resp = self.app.post('/oidc/token', {
            'grant_type': 'refresh_token',
            'refresh_token': tokens['refresh_token']},
            headers=oidc_setup.basic(*self.client), status=400)
        self.assertEqual('invalid_grant', resp.json['error'])
        self.assertEqual({'active': False}, self.app.post(
            '/oidc/introspect', {'token': tokens['access_token']},
            headers=oidc_setup.basic(*self.client)).json)

    def test_disabling_or_deleting_the_idp_ends_its_sessions(self):
        self.client = oidc_setup.make_client(self.app, 'leaf')
        idp_id = self._idp_id()
        cookie, tokens = self._grant()
        self.app.patch_json('/v1/idps/%s' % idp_id, {'enabled': False},
                            headers=base.ADMIN)
        self._ended(cookie, tokens)
        # Enabled again, it logs people in again; the ended session
        # stays ended.
        self.app.patch_json('/v1/idps/%s' % idp_id, {'enabled': True},
                            headers=base.ADMIN)
        later, later_tokens = self._grant()
        self._ended(cookie, tokens)
        self.app.delete('/v1/idps/%s' % idp_id, headers=base.ADMIN)
        self._ended(later, later_tokens)


class TestIssuerWithAPath(HostileIdPTestCase):
    """The proxy served under a path (``https://cloud.example/federation``
    behind a reverse proxy that mounts it there): its cookies must name
    the paths the browser sees."""

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): PROXY + '/federation'}

    def setUp(self):
        super().setUp()
        # The browser's URLs carry the prefix; the WSGI app sees it as
        # SCRIPT_NAME, as a server mounting it there passes it.
        self.app = webtest.TestApp(self.app.app, extra_environ={
            'SCRIPT_NAME': '/federation'})

    def test_a_login_through_the_idp_logs_in(self):
        location = self.app.get('/v1/login?idp=hostile').location
        cookie = [c for c in self.app.cookiejar
                  if c.name == login.LOGIN_COOKIE][0]
        # For the whole host (as the __Host- prefix of an https issuer
        # requires), so also for the callback under the prefix.
        self.assertEqual('/', cookie.path)
        query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(location).query))
        self.assertEqual(PROXY + '/federation' + login.CALLBACK_PATH,
                         query['redirect_uri'])
        self.idp.answer(query['nonce'])
        resp = self.app.get('/v1/login/callback', {
            'state': query['state'], 'code': 'c'}, expect_errors=True)
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertEqual('alice', resp.json['subject'])
        # The session works on the API.
        me = self.app.get('/v1/users/%s' % resp.json['user_id'])
        self.assertEqual(resp.json['user_id'], me.json['user']['id'])
