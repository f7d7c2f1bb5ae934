"""The relying party's rules of a login through an upstream IdP
(:mod:`federation_proxy.login`): ID tokens crafted with joserfc, each
check refused on its own, and the proxy session."""

import base64
import json
import urllib.parse

from joserfc import jwk
from joserfc import jws
from joserfc import jwt
import testtools

from federation_proxy import login

ISSUER = 'https://idp.example.org'
CLIENT = 'arbiter-proxy'
NONCE = 'n-0123456789'
NOW = 1800000000


def _key(kid):
    return jwk.RSAKey.generate_key(2048, parameters={'kid': kid},
                                   private=True)


KEY_A = _key('a')
KEY_B = _key('b')
STRANGER = _key('a')


def _jwks(*keys):
    return {'keys': [k.as_dict(private=False) for k in keys]}


def _claims(**changes):
    claims = {'iss': ISSUER, 'sub': 'alice', 'aud': CLIENT,
              'exp': NOW + 300, 'iat': NOW, 'nonce': NONCE}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(key=KEY_A, alg='RS256', **changes):
    return jwt.encode({'alg': alg, 'kid': key.kid}, _claims(**changes), key)


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(
        b'=').decode()


def _raw_token(name, literal, key=KEY_A):
    """A signed token whose claim ``name`` is the JSON ``literal``
    (such as ``NaN``, which json.dumps of a number never writes)."""
    claims = _claims(**{name: 0})
    payload = json.dumps(claims).replace('"%s": 0' % name,
                                         '"%s": %s' % (name, literal))
    return jws.serialize_compact({'alg': 'RS256', 'kid': key.kid},
                                 payload.encode(), key)


class _Loader(object):
    """An IdP's JWKS: ``published`` before, ``rotated`` after a fetch."""

    def __init__(self, published, rotated=None):
        self.published, self.rotated = published, rotated
        self.refreshes = 0

    def __call__(self, refresh):
        if refresh:
            self.refreshes += 1
            return self.rotated or self.published
        return self.published


class IdTokenTest(testtools.TestCase):

    def _validate(self, token, loader=None, **kwargs):
        return login.validate_id_token(
            token, loader or _Loader(_jwks(KEY_A)), ISSUER, CLIENT,
            kwargs.pop('nonce', NONCE), kwargs.pop('now', NOW), **kwargs)

    def _refused(self, token, why, **kwargs):
        error = self.assertRaises(login.Refused, self._validate, token,
                                  **kwargs)
        self.assertIn(why, str(error))

    def test_valid(self):
        self.assertEqual('alice', self._validate(_token())['sub'])

    def test_audience_list_with_azp(self):
        token = _token(aud=[CLIENT, 'other'], azp=CLIENT)
        self.assertEqual('alice', self._validate(token)['sub'])

    def test_wrong_audience(self):
        self._refused(_token(aud='someone-else'), '(aud)')

    def test_several_audiences_without_azp(self):
        self._refused(_token(aud=[CLIENT, 'other']), '(azp)')

    def test_foreign_azp(self):
        self._refused(_token(azp='other'), '(azp)')

    def test_wrong_issuer(self):
        self._refused(_token(iss='https://evil.example'), 'issued by')

    def test_expired(self):
        self._refused(_token(exp=NOW - 61), 'expired')
        # Within the leeway it is still valid.
        self._validate(_token(exp=NOW - 59))

    def test_issued_in_the_future(self):
        self._refused(_token(iat=NOW + 120), 'future')

    def test_issued_too_long_ago(self):
        self._refused(_token(iat=NOW - 3600, exp=NOW + 60), 'too long ago')

    def test_not_yet_valid(self):
        self._refused(_token(nbf=NOW + 120), '(nbf)')

    def test_nonce_mismatch(self):
        self._refused(_token(nonce='another-login'), 'nonce')

    def test_nonce_missing(self):
        self._refused(_token(nonce=None), 'nonce')

    def test_claims_of_wrong_types(self):
        for claims in ({'exp': 'tomorrow'}, {'iat': True}, {'iss': 3},
                       {'sub': None}, {'aud': 7}, {'exp': None}):
            self.assertRaises(login.Refused, self._validate,
                              _token(**claims))

    def test_subject_bounded_and_printable(self):
        for sub in ('s' * 256, '', '   ', 'a\x00b', 'a\nb', '\u202eab'):
            self._refused(_token(sub=sub), 'sub')
        self._refused(_raw_token('sub', '"\\ud800"'), 'sub')
        for sub in ('s' * 255, 'ålice \U0001F600'):
            self.assertEqual(sub, self._validate(_token(sub=sub))['sub'])

    def test_time_claims_must_be_finite_numbers(self):
        # NaN passes every comparison as False, so a NaN iat or nbf
        # would skip the window checks; infinity is no date either.
        cases = {'exp': ('1e400', None), 'iat': ('NaN', None),
                 'nbf': ('NaN', 'soon')}
        for name, (raw, typed) in cases.items():
            with self.subTest(claim=name):
                self._refused(_raw_token(name, raw), '%s claim' % name)
                if typed is not None:
                    self._refused(_token(**{name: typed}),
                                  '%s claim' % name)

    def test_huge_exp_is_a_date_far_ahead(self):
        # An IdP may choose a long lifetime; only the other checks bind.
        self.assertEqual(10 ** 30,
                         self._validate(_token(exp=10 ** 30))['exp'])

    def test_oversized_token_refused(self):
        self._refused(_token() + 'A' * 200000, 'malformed')
        self._refused(_token(name='x' * 300000), 'malformed')

    def test_wrong_signature(self):
        self._refused(_token(key=STRANGER), 'signature')

    def test_alg_none(self):
        token = '%s.%s.' % (_b64({'alg': 'none', 'kid': 'a'}),
                            _b64(_claims()))
        self._refused(token, 'algorithm')

    def test_hmac_keyed_with_a_public_key_refused(self):
        secret = jwk.OctKey.import_key(b'client-secret-or-public-key-bytes')
        token = jwt.encode({'alg': 'HS256', 'kid': 'a'}, _claims(), secret)
        self.assertRaises(login.Refused, self._validate, token)

    def test_malformed(self):
        for token in ('', 'a.b', 'x' * 20, None, 'a.b.c'):
            self.assertRaises(login.Refused, self._validate, token)

    def test_unknown_kid_fetches_the_keys_again(self):
        loader = _Loader(_jwks(KEY_A), rotated=_jwks(KEY_A, KEY_B))
        self.assertEqual('alice',
                         self._validate(_token(key=KEY_B), loader)['sub'])
        self.assertEqual(1, loader.refreshes)

    def test_unknown_kid_after_refetch_refused(self):
        loader = _Loader(_jwks(KEY_A))
        self._refused(_token(key=KEY_B), 'does not publish', loader=loader)
        self.assertEqual(1, loader.refreshes)

    def test_known_kid_fetches_nothing(self):
        loader = _Loader(_jwks(KEY_A))
        self._validate(_token(), loader)
        self.assertEqual(0, loader.refreshes)


class AuthorizationUrlTest(testtools.TestCase):

    def test_parameters(self):
        url = login.authorization_url(
            'https://idp.example.org/auth?tenant=x', CLIENT,
            'https://proxy/cb', ['openid', 'email'], 'st', 'no', 'v' * 43)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
            url).query))
        self.assertEqual('x', query['tenant'])
        self.assertEqual(('code', 'S256', 'st', 'no', 'openid email'),
                         (query['response_type'],
                          query['code_challenge_method'], query['state'],
                          query['nonce'], query['scope']))
        # RFC 7636 appendix B: BASE64URL(SHA256(verifier)), no padding.
        self.assertNotIn('=', query['code_challenge'])
        self.assertEqual(43, len(query['code_challenge']))

    def test_openid_always_asked(self):
        self.assertEqual(['openid', 'email'], login.scopes('email'))
        self.assertEqual(['email', 'openid'], login.scopes('email openid'))

    def test_secrets_differ(self):
        self.assertNotEqual(login.new_secret(), login.new_secret())
        self.assertGreaterEqual(len(login.new_secret()), 43)


class FreshnessTest(testtools.TestCase):

    NOW = 1_700_000_000

    def test_what_is_asked(self):
        self.assertEqual((None, None),
                         login.freshness(False, None, self.NOW))
        self.assertEqual((0, self.NOW),
                         login.freshness(True, None, self.NOW))
        self.assertEqual((0, self.NOW),
                         login.freshness(True, 600, self.NOW))
        self.assertEqual((600, self.NOW - 600),
                         login.freshness(False, 600, self.NOW))

    def test_login_time(self):
        now = self.NOW
        # Asked for nothing: the IdP's auth_time if it is a time, else
        # now.
        self.assertEqual(now - 50, login.login_time(
            {'auth_time': now - 50}, None, now))
        for odd in (None, 'yesterday', True, float('nan'), -1, now + 3600):
            self.assertEqual(now, login.login_time({'auth_time': odd},
                                                   None, now), odd)
        # Asked for a fresh login: no auth_time or an older one refused.
        for odd in (None, 'yesterday', True, float('nan'), now - 61,
                    now + 3600):
            self.assertRaises(login.Refused, login.login_time,
                              {'auth_time': odd}, now, now)
        self.assertEqual(now - 60, login.login_time(
            {'auth_time': now - 60}, now, now))
        self.assertEqual(now, login.login_time(
            {'auth_time': now + 30.5}, now, now))

    def test_session_login_time(self):
        token = login.sign_session('k', 'iss', 'alice', self.NOW, 60,
                                   auth_time=self.NOW - 500)
        self.assertEqual(('alice', self.NOW - 500), login.read_session_login(
            'k', 'iss', token, self.NOW))
        token = login.sign_session('k', 'iss', 'alice', self.NOW, 60,
                                   auth_time=self.NOW + 500)
        self.assertIsNone(login.read_session_login('k', 'iss', token,
                                                   self.NOW))


class SessionTest(testtools.TestCase):

    def test_round_trip(self):
        token = login.sign_session('key', ISSUER, 'u1', NOW, 60)
        self.assertEqual('u1', login.read_session('key', ISSUER, token,
                                                  NOW + 59))

    def test_refused(self):
        token = login.sign_session('key', ISSUER, 'u1', NOW, 60)
        self.assertIsNone(login.read_session('key', ISSUER, token, NOW + 60))
        self.assertIsNone(login.read_session('other', ISSUER, token, NOW))
        self.assertIsNone(login.read_session('key', 'https://x', token,
                                             NOW))
        self.assertIsNone(login.read_session('key', ISSUER, token[:-2],
                                             NOW))
        self.assertIsNone(login.read_session('key', ISSUER, None, NOW))
        self.assertIsNone(login.read_session(None, ISSUER, token, NOW))

    def test_an_id_token_is_not_a_session(self):
        # Same key, but not of the session type.
        key = jwk.OctKey.import_key(b'k' * 32)
        token = jwt.encode({'alg': 'HS256'}, {'iss': ISSUER, 'sub': 'u1',
                                              'exp': NOW + 60}, key)
        self.assertIsNone(login.read_session('key', ISSUER, token, NOW))

    def test_no_secret_key_no_session(self):
        self.assertRaises(login.Refused, login.sign_session, '', ISSUER,
                          'u1', NOW, 60)


class LoginBindingTest(testtools.TestCase):
    """The cookie that binds a login to the browser that started it."""

    def test_the_binding_of_the_state_is_accepted(self):
        cookie = login.login_binding('key', 'state-a')
        self.assertTrue(login.login_bound('key', 'state-a', cookie))
        # Same inputs, same value: nothing is kept server-side for it.
        self.assertEqual(cookie, login.login_binding('key', 'state-a'))

    def test_another_logins_binding_refused(self):
        other = login.login_binding('key', 'state-b')
        self.assertFalse(login.login_bound('key', 'state-a', other))

    def test_binding_under_another_key_refused(self):
        # Someone without the proxy's secret key cannot make a binding.
        forged = login.login_binding('not the key', 'state-a')
        self.assertFalse(login.login_bound('key', 'state-a', forged))

    def test_missing_or_odd_cookie_refused(self):
        cookie = login.login_binding('key', 'state-a')
        for value in (None, '', 'state-a', cookie[:-1], cookie + '0',
                      cookie.upper(), '\u00e9' * 64):
            self.assertFalse(login.login_bound('key', 'state-a', value),
                             value)

    def test_no_secret_key_no_binding(self):
        self.assertRaises(login.Refused, login.login_binding, '', 's')
        cookie = login.login_binding('key', 'state-a')
        self.assertFalse(login.login_bound('', 'state-a', cookie))
        self.assertFalse(login.login_bound(None, 'state-a', cookie))

    def test_binding_is_a_hex_digest_not_the_state(self):
        cookie = login.login_binding('key', 'state-a')
        self.assertNotIn('state-a', cookie)
        self.assertEqual(64, len(cookie))


class PersonClaimsTest(testtools.TestCase):

    def test_mapping(self):
        self.assertEqual(
            {'name': 'A', 'email': 'a@x'},
            login.person_claims({'display': 'A', 'email': 'a@x',
                                 'name': 'ignored'},
                                {'name': 'display', 'email': 'email'}))

    def test_non_strings_dropped(self):
        self.assertEqual({}, login.person_claims(
            {'name': ['A'], 'email': 3}, {}))

    def test_multi_valued_claims(self):
        self.assertEqual(
            {'name': 'aliddell', 'affiliation': 'uni.example',
             'assurance': ['https://refeds.org/assurance']},
            login.mapped_claims(
                {'preferred_username': 'aliddell', 'schac': 'uni.example',
                 'eduperson_assurance': ['https://refeds.org/assurance',
                                         3, '', None]},
                {'name': 'preferred_username', 'affiliation': 'schac',
                 'assurance': 'eduperson_assurance'}))

    def test_control_characters_dropped(self):
        self.assertEqual(
            {'email': 'a@x', 'assurance': ['ok']},
            login.mapped_claims({'name': 'A\x00dmin', 'email': 'a@x',
                                 'affiliation': 'line\nbreak',
                                 'assurance': ['ok', 'n\x00', '\x85']},
                                {}))

    def test_email_the_idp_did_not_verify_dropped(self):
        for verified in (False, 'false', ' False '):
            self.assertEqual({'name': 'A'}, login.mapped_claims(
                {'name': 'A', 'email': 'a@x', 'email_verified': verified},
                {}), verified)
        # Mapped from another claim: the IdP's word on it still counts.
        self.assertEqual({}, login.mapped_claims(
            {'mail': 'a@x', 'email_verified': False}, {'email': 'mail'}))
        for verified in (True, 'true', None, 1):
            self.assertEqual({'email': 'a@x'}, login.mapped_claims(
                {'email': 'a@x', 'email_verified': verified}, {}),
                verified)

    def test_oversized_values_cut(self):
        found = login.mapped_claims(
            {'name': 'x' * 1000, 'assurance': ['a'] * 100}, {})
        self.assertEqual(255, len(found['name']))
        self.assertEqual(32, len(found['assurance']))

    def test_oversized_email_left_out_not_cut(self):
        # Cut, an address would be another one, not the person's.
        longest = 'a' * 64 + '@' + 'b' * 185 + '.org'
        self.assertEqual(254, len(longest))
        self.assertEqual({'email': longest}, login.mapped_claims(
            {'email': longest}, {}))
        self.assertEqual({}, login.mapped_claims(
            {'email': 'a' + longest}, {}))


class ContinuationTest(testtools.TestCase):

    def test_own_authorization_request(self):
        value = '/oidc/authorize?client_id=leaf&redirect_uri=http%3A%2F%2Fx'
        self.assertEqual(value, login.continuation(value))

    def test_anything_else_refused(self):
        for value in ('https://evil.example/oidc/authorize?a=1',
                      'http:/oidc/authorize?a=1',
                      '//evil.example/oidc/authorize?a=1',
                      '/\\evil.example/oidc/authorize?a=1',
                      '/oidc/authorize?a=1\\@evil.example',
                      '/oidc/authorize', '/oidc/authorize?',
                      '/oidc/authorize/?a=1', '/oidc/authorize/../x?a=1',
                      '/v1/vos?a=1', '/oidc/authorize?a=1#frag',
                      '/oidc/authorize?a=1 b', '/oidc/authorize?a=\x00',
                      '/oidc/authorize?a=\u00e9', 'oidc/authorize?a=1',
                      '/oidc/authorize?' + 'a' * 5000, '', None, 3):
            self.assertRaises(login.Refused, login.continuation, value)


class RequestCredentialsTest(testtools.TestCase):

    def test_safe_methods_need_no_csrf_header(self):
        for method in ('GET', 'HEAD', 'OPTIONS'):
            self.assertTrue(login.cookie_request_allowed(method, {}))

    def test_unsafe_methods_need_the_csrf_header(self):
        for method in ('POST', 'PUT', 'PATCH', 'DELETE', 'get'):
            self.assertFalse(login.cookie_request_allowed(method, {}))
            self.assertFalse(login.cookie_request_allowed(
                method, {login.CSRF_HEADER: ''}))
            self.assertTrue(login.cookie_request_allowed(
                method, {login.CSRF_HEADER: 'XMLHttpRequest'}))

    def test_bearer_token(self):
        self.assertEqual('abc', login.bearer_token('Bearer abc'))
        self.assertEqual('abc', login.bearer_token('bearer  abc '))
        for value in (None, '', 'Bearer', 'Bearer  ', 'Basic abc',
                      'Bearerabc'):
            self.assertIsNone(login.bearer_token(value), value)

    def test_client_token(self):
        self.assertTrue(login.is_client_token(
            {'sub': 'robot', 'client_id': 'robot'}))
        self.assertFalse(login.is_client_token(
            {'sub': 'alice', 'client_id': 'robot'}))

    def test_management_scope(self):
        self.assertTrue(login.grants_management(
            {'scope': 'openid vo_management'}))
        for claims in ({'scope': 'openid profile'}, {},
                       {'scope': 'vo_management_extra'},
                       {'scope': ['vo_management']}):
            self.assertFalse(login.grants_management(claims), claims)
