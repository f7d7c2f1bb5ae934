"""The device authorization grant (RFC 8628) over real HTTP on
127.0.0.1, driven as a command-line tool and a person's browser would.

authlib has no client for the device authorization request itself (it
implements RFC 8628 only on the server side), so the tool's first step
is a plain ``requests`` POST following RFC 8628 3.1-3.2; the polling of
the token endpoint is authlib's ``OAuth2Session.fetch_token`` with the
device-code grant type, whose error handling (``OAuthError.error``) is
what the assertions read.  Tokens are validated with pyjwt against the
JWKS the proxy serves.  The person's browser is a ``requests.Session``
holding the proxy session cookie a login through an upstream IdP gives
(signed here with the proxy's key, as :mod:`federation_proxy.login`
signs it after a login).
"""

import datetime
import time
import uuid

from authlib.integrations.base_client import errors as oauth2_errors
from authlib.integrations.requests_client import OAuth2Session
import jwt as pyjwt
import requests
import testtools

from federation_proxy.db import communities
from federation_proxy.db import models
from federation_proxy import login
from federation_proxy.oidc import device
from federation_proxy.tests.functional import oidc_setup as s
from svc_common import context
from svc_common.db import database

DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
SECRET_KEY = 'device-grant-test-key'


class DeviceGrantOverHttp(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.fixture = self.useFixture(s.ProviderOverHttp({
            ('federation', 'secret_key'): SECRET_KEY}))
        self.base = self.fixture.base
        app = self.fixture.app
        self.db = database.Database(self.fixture.conf)
        s.make_person(app, 'alice')
        s.make_person(app, 'mallory')
        s.make_vo(app, 'astro', ['alice'])
        self.client_id, self.secret = s.make_client(
            app, 'cli', redirect_uris=(),
            grants=[DEVICE_GRANT, 'refresh_token'])
        self.public_id, _ = s.make_client(
            app, 'public-cli', redirect_uris=(), grants=[DEVICE_GRANT],
            public=True)
        self.code_only, self.code_only_secret = s.make_client(app, 'portal')
        self.meta = requests.get(
            self.base + '/.well-known/openid-configuration').json()

    # -- the command-line tool -------------------------------------------

    def start(self, client_id=None, secret=None, scope='openid compute'):
        """RFC 8628 3.1: the device authorization request."""
        client_id = client_id or self.client_id
        data = {'client_id': client_id, 'scope': scope}
        if secret is not None or client_id == self.client_id:
            data['client_secret'] = secret or self.secret
        return requests.post(self.meta['device_authorization_endpoint'],
                             data=data)

    def poll(self, device_code, client_id=None, secret=None):
        """RFC 8628 3.4 through authlib's client."""
        session = OAuth2Session(client_id or self.client_id,
                                secret or self.secret)
        return session.fetch_token(self.meta['token_endpoint'],
                                   grant_type=DEVICE_GRANT,
                                   device_code=device_code)

    def refused(self, device_code, **kwargs):
        """The error code of a poll that authlib reports as refused."""
        error = self.assertRaises(oauth2_errors.OAuthError, self.poll,
                                  device_code, **kwargs)
        return error.error

    def wait_interval(self, device_code):
        """Make the polling interval pass (rather than sleep it)."""
        with self.db.writer.using(context.admin_context()) as session:
            row = session.get(models.DeviceCode,
                              _hash(device_code))
            if row.last_polled_at is not None:
                row.last_polled_at -= datetime.timedelta(
                    seconds=row.interval)

    # -- the person's browser --------------------------------------------

    def browser(self, user_id='alice', logged_in=None):
        """A browser with a proxy session of ``user_id``, who logged in
        at ``logged_in`` (now by default)."""
        http = requests.Session()
        http.cookies.set(login.SESSION_COOKIE, s.session_token(
            self.db, SECRET_KEY, self.base, user_id, logged_in, 600))
        return http

    def show(self, http, user_code):
        return http.get(self.base + '/oidc/device',
                        params={'user_code': user_code})

    def decide(self, http, user_code, action='approve', csrf=None,
               **headers):
        if csrf is None:
            csrf = http.get(self.base + '/oidc/device').json()['csrf_token']
        return http.post(self.base + '/oidc/device/decision', data={
            'user_code': user_code, 'action': action, 'csrf_token': csrf},
            headers=headers)

    def validate(self, token):
        jwks = pyjwt.PyJWKClient(self.meta['jwks_uri'], cache_keys=False,
                                 cache_jwk_set=False)
        key = jwks.get_signing_key_from_jwt(token)
        return pyjwt.decode(token, key.key, algorithms=['RS256'],
                            audience=self.client_id, issuer=self.base)

    # -- tests -----------------------------------------------------------

    def test_discovery_advertises_the_grant(self):
        self.assertEqual(self.base + '/oidc/device_authorization',
                         self.meta['device_authorization_endpoint'])
        self.assertIn(DEVICE_GRANT, self.meta['grant_types_supported'])

    def test_device_flow_from_start_to_tokens(self):
        resp = self.start()
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertEqual('no-store', resp.headers['Cache-Control'])
        answer = resp.json()
        self.assertEqual(self.base + '/oidc/device',
                         answer['verification_uri'])
        self.assertEqual(600, answer['expires_in'])
        self.assertEqual(5, answer['interval'])
        user_code = answer['user_code']
        self.assertRegex(user_code, '^[BCDFGHJKLMNPQRSTVWXZ]{4}-'
                                    '[BCDFGHJKLMNPQRSTVWXZ]{4}$')
        self.assertEqual(answer['verification_uri'] + '?user_code=' +
                         user_code, answer['verification_uri_complete'])
        # Before the person approves.
        self.assertEqual('authorization_pending',
                         self.refused(answer['device_code']))
        # The person opens the complete URI, sees what is asked, approves
        # (typing the code in lower case, without the dash).
        logged_in = int(time.time()) - 300
        http = self.browser(logged_in=logged_in)
        page = self.show(http, user_code)
        self.assertEqual(200, page.status_code, page.text)
        self.assertEqual('cli', page.json()['client_id'])
        self.assertEqual('openid compute', page.json()['scope'])
        self.assertEqual('alice', page.json()['user_id'])
        typed = user_code.replace('-', '').lower()
        resp = self.decide(http, typed)
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertEqual({'user_code': user_code, 'approved': True},
                         resp.json())
        self.wait_interval(answer['device_code'])
        token = self.poll(answer['device_code'])
        claims = self.validate(token['access_token'])
        self.assertEqual('alice', claims['sub'])
        self.assertEqual(['astro'], claims['groups'])
        id_claims = self.validate(token['id_token'])
        self.assertEqual('alice', id_claims['sub'])
        # When the person logged in, not when the device collected.
        self.assertEqual(logged_in, id_claims['auth_time'])
        self.assertIn('refresh_token', token)
        # The refresh token works like any other.
        session = OAuth2Session(self.client_id, self.secret)
        new = session.refresh_token(self.meta['token_endpoint'],
                                    refresh_token=token['refresh_token'])
        self.validate(new['access_token'])

    def test_public_client(self):
        answer = self.start(self.public_id).json()
        self.decide(self.browser(), answer['user_code'])
        session = OAuth2Session(self.public_id,
                                token_endpoint_auth_method='none')
        token = session.fetch_token(self.meta['token_endpoint'],
                                    grant_type=DEVICE_GRANT,
                                    device_code=answer['device_code'])
        self.assertNotIn('refresh_token', token)

    def test_slow_down_grows_the_interval(self):
        code = self.start().json()['device_code']
        self.assertEqual('authorization_pending', self.refused(code))
        self.assertEqual('slow_down', self.refused(code))
        # The interval is 10 s now: 5 s later is still too soon.
        with self.db.writer.using(context.admin_context()) as session:
            row = session.get(models.DeviceCode, _hash(code))
            self.assertEqual(10, row.interval)
            row.last_polled_at -= datetime.timedelta(seconds=6)
        self.assertEqual('slow_down', self.refused(code))
        self.wait_interval(code)
        self.assertEqual('authorization_pending', self.refused(code))

    def test_denied(self):
        answer = self.start().json()
        resp = self.decide(self.browser(), answer['user_code'], 'deny')
        self.assertEqual({'user_code': answer['user_code'],
                          'approved': False}, resp.json())
        self.assertEqual('access_denied', self.refused(answer['device_code']))
        # A denied request cannot be approved afterwards.
        resp = self.decide(self.browser(), answer['user_code'])
        self.assertEqual(404, resp.status_code)
        self.wait_interval(answer['device_code'])
        self.assertEqual('access_denied', self.refused(answer['device_code']))

    def test_expired(self):
        answer = self.start().json()
        with self.db.writer.using(context.admin_context()) as session:
            row = session.get(models.DeviceCode, _hash(answer['device_code']))
            row.expires_at = datetime.datetime.utcnow()
        self.assertEqual('expired_token', self.refused(answer['device_code']))
        # Nor can the person approve it any more.
        self.assertEqual(404, self.decide(self.browser(),
                                          answer['user_code']).status_code)

    def test_replayed_device_code_refused_and_tokens_revoked(self):
        answer = self.start().json()
        self.decide(self.browser(), answer['user_code'])
        token = self.poll(answer['device_code'])
        self.wait_interval(answer['device_code'])
        self.assertEqual('invalid_grant', self.refused(answer['device_code']))
        # What the first use obtained is revoked.
        resp = requests.post(self.meta['introspection_endpoint'],
                             data={'token': token['access_token']},
                             auth=(self.client_id, self.secret))
        self.assertEqual({'active': False}, resp.json())
        session = OAuth2Session(self.client_id, self.secret)
        error = self.assertRaises(
            oauth2_errors.OAuthError, session.refresh_token,
            self.meta['token_endpoint'],
            refresh_token=token['refresh_token'])
        self.assertEqual('invalid_grant', error.error)

    def test_device_code_of_another_client_or_unknown(self):
        answer = self.start().json()
        self.decide(self.browser(), answer['user_code'])
        other, other_secret = s.make_client(
            self.fixture.app, 'cli2', redirect_uris=(),
            grants=[DEVICE_GRANT])
        self.assertEqual('invalid_grant', self.refused(
            answer['device_code'], client_id=other, secret=other_secret))
        self.assertEqual('invalid_grant', self.refused('no-such-code'))
        # The code still works for its own client.
        self.assertIn('access_token', self.poll(answer['device_code']))

    def test_client_must_be_allowed_the_grant(self):
        resp = requests.post(self.meta['device_authorization_endpoint'],
                             data={'scope': 'openid'},
                             auth=(self.code_only, self.code_only_secret))
        self.assertEqual(400, resp.status_code)
        self.assertEqual('unauthorized_client', resp.json()['error'])
        self.assertEqual('unauthorized_client', self.refused(
            'whatever', client_id=self.code_only,
            secret=self.code_only_secret))

    def test_device_authorization_refusals(self):
        resp = self.start(secret='wrong')
        self.assertEqual(401, resp.status_code)
        self.assertEqual('invalid_client', resp.json()['error'])
        resp = self.start(scope='openid admin')
        self.assertEqual(400, resp.status_code)
        self.assertEqual('invalid_scope', resp.json()['error'])

    def test_verification_needs_a_proxy_session(self):
        answer = self.start().json()
        anonymous = requests.Session()
        for resp in (anonymous.get(self.base + '/oidc/device'),
                     anonymous.post(self.base + '/oidc/device/decision',
                                    data={'user_code': answer['user_code'],
                                          'action': 'approve',
                                          'csrf_token': 'x'})):
            self.assertEqual(401, resp.status_code)
            self.assertEqual('federation.login_required',
                             resp.json()['errors'][0]['code'])
        forged = requests.Session()
        forged.cookies.set(login.SESSION_COOKIE, login.sign_session(
            'another key', self.base, 'alice', int(time.time()), 600))
        self.assertEqual(401, forged.get(self.base +
                                         '/oidc/device').status_code)
        self.assertEqual('authorization_pending',
                         self.refused(answer['device_code']))

    def test_decision_refuses_cross_site_requests(self):
        answer = self.start().json()
        alice = self.browser()
        # No token, a token of another session, a foreign Origin.
        mallory_csrf = self.browser('mallory').get(
            self.base + '/oidc/device').json()['csrf_token']
        for resp in (self.decide(alice, answer['user_code'], csrf=''),
                     self.decide(alice, answer['user_code'],
                                 csrf=mallory_csrf),
                     self.decide(alice, answer['user_code'],
                                 Origin='https://evil.example')):
            self.assertEqual(403, resp.status_code, resp.text)
            self.assertEqual('federation.csrf_refused',
                             resp.json()['errors'][0]['code'])
        self.assertEqual('authorization_pending',
                         self.refused(answer['device_code']))
        # The same-origin form of alice's own page goes through.
        resp = self.decide(alice, answer['user_code'], Origin=self.base)
        self.assertEqual(200, resp.status_code, resp.text)

    def test_user_code_guessing_is_limited(self):
        answer = self.start().json()
        # The attempts are counted per process: a person of this test.
        guesser = s.make_person(self.fixture.app, 'g-' + uuid.uuid4().hex)
        http = self.browser(guesser)
        for _ in range(device.MAX_USER_CODE_FAILURES):
            self.assertEqual(404, self.show(http, 'BBBB-BBBB').status_code)
        resp = self.show(http, answer['user_code'])
        self.assertEqual(429, resp.status_code)
        self.assertEqual(429, self.decide(http, answer['user_code'])
                         .status_code)
        # Malformed codes are typos, not guesses; others are not limited.
        self.assertEqual(200, self.show(self.browser(),
                                        answer['user_code']).status_code)


def _hash(secret):
    return communities.token_hash(secret)
