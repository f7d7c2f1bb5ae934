"""Two upstream IdPs of different kinds in front of the proxy, both real
oidc-provider servers on 127.0.0.1: a "social" one with ``name`` and
``email``, and a "campus" one (a research and education IdP) with
``preferred_username``, ``eduperson_assurance`` and
``schac_home_organization`` and no ``name``.  Each is registered with its
own claim mapping; one person links both identities and is the same
proxy subject through either; people who logged in through either join a
VO by invitation or by request with their proxy session.
"""

import urllib.parse

import requests

from federation_proxy import login
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup as s
from svc_common.tests.fixtures import oidc_provider

PROXY = 'http://127.0.0.1:9873'
CALLBACK = PROXY + login.CALLBACK_PATH
CSRF = {login.CSRF_HEADER: 'XMLHttpRequest'}
ASSURANCE = ['https://refeds.org/assurance',
             'https://refeds.org/assurance/IAP/medium']


def _client():
    return {'client_id': 'arbiter-proxy',
            'client_secret': 'proxy-secret-at-the-idp',
            'redirect_uris': [CALLBACK],
            'grant_types': ['authorization_code'],
            'response_types': ['code'],
            'token_endpoint_auth_method': 'client_secret_basic'}


def _path(url):
    split = urllib.parse.urlsplit(url)
    return split.path + ('?' + split.query if split.query else '')


class TwoProvidersTest(base.FederationTestCase):

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy',
                 ('federation', 'issuer'): PROXY}

    def setUp(self):
        super().setUp()
        self.social = self.useFixture(oidc_provider.OidcProvider(
            clients=[_client()], accounts={'alice': {
                'name': 'Alice Liddell',
                'email': 'alice@wonderland.example'}}))
        self.campus = self.useFixture(oidc_provider.OidcProvider(
            clients=[_client()], claims=oidc_provider.RESEARCH_CLAIMS,
            accounts={'a.liddell': {
                'preferred_username': 'aliddell',
                'email': 'a.liddell@uni.example',
                'eduperson_assurance': ASSURANCE,
                'schac_home_organization': 'uni.example'}}))
        self.register('social', self.social, ['openid', 'profile', 'email'])
        self.register('campus', self.campus,
                      ['openid', 'profile', 'email', 'eduperson'],
                      {'name': 'preferred_username',
                       'affiliation': 'schac_home_organization',
                       'assurance': 'eduperson_assurance'})

    def register(self, name, idp, scopes, mapping=None):
        body = {'name': name, 'issuer': idp.issuer,
                'client_id': 'arbiter-proxy',
                'client_secret': 'proxy-secret-at-the-idp',
                'discover': True, 'scopes': scopes}
        if mapping:
            body['claim_mapping'] = mapping
        self.app.post_json('/v1/idps', body, headers=base.ADMIN)

    def at_idp(self, location, account):
        """The browser at the IdP: logs in, and comes back with the
        callback URL."""
        return oidc_provider.browse(requests.Session(), location, CALLBACK,
                                    account)

    def login(self, idp, account, link=False, status=200):
        query = {'idp': idp}
        if link:
            query['link'] = 'true'
        # Opened by the person (a link must not come from another
        # site).
        start = self.app.get(login.LOGIN_PATH, query, status=302,
                             headers={'Sec-Fetch-Site': 'none'})
        return self.app.get(_path(self.at_idp(start.location, account)),
                            status=status)

    def subject_at_a_leaf(self, client):
        """The ``sub`` a relying party gets for the session's person."""
        verifier, challenge = s.pkce_pair()
        resp = self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': client[0],
            'redirect_uri': s.REDIRECT, 'scope': 'openid',
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            status=302)
        code = s.query_of(resp.location)['code']
        token = self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(*client)).json
        return self.app.get('/oidc/userinfo', headers={
            'Authorization': 'Bearer ' + token['access_token']}).json['sub']

    def identities(self, user_id):
        """The person's identities, asked with the session cookie alone."""
        return self.app.get('/v1/users/%s/identities' % user_id
                            ).json['identities']

    def test_claims_mapped_per_idp(self):
        social = self.login('social', 'alice').json
        self.assertEqual({'name': 'Alice Liddell',
                          'email': 'alice@wonderland.example'},
                         social['claims'])
        self.app.cookiejar.clear()
        campus = self.login('campus', 'a.liddell').json
        self.assertEqual({'name': 'aliddell',
                          'email': 'a.liddell@uni.example',
                          'affiliation': 'uni.example',
                          'assurance': ASSURANCE}, campus['claims'])
        # Not linked: two people, each named by their own IdP's mapping.
        self.assertNotEqual(social['user_id'], campus['user_id'])
        user = self.app.get('/v1/users/%s' % campus['user_id'],
                            headers=base.ADMIN).json['user']
        self.assertEqual(('aliddell', 'a.liddell@uni.example'),
                         (user['name'], user['email']))

    def test_linked_identities_are_one_proxy_subject(self):
        client = s.make_client(self.app, 'leaf')
        alice = self.login('social', 'alice').json['user_id']
        via_social = self.subject_at_a_leaf(client)
        linked = self.login('campus', 'a.liddell', link=True).json
        self.assertEqual((alice, True, False),
                         (linked['user_id'], linked['linked'],
                          linked['created']))
        self.assertEqual('uni.example', linked['claims']['affiliation'])
        # A fresh browser logging in at the campus IdP only.
        self.app.cookiejar.clear()
        again = self.login('campus', 'a.liddell').json
        self.assertEqual((alice, False), (again['user_id'],
                                          again['created']))
        self.assertEqual(alice, via_social)
        self.assertEqual(alice, self.subject_at_a_leaf(client))
        self.assertEqual(
            sorted([(self.social.issuer, 'alice'),
                    (self.campus.issuer, 'a.liddell')]),
            sorted((i['issuer'], i['subject'])
                   for i in self.identities(alice)))

    def test_unlink_but_never_the_last_identity(self):
        alice = self.login('social', 'alice').json['user_id']
        self.login('campus', 'a.liddell', link=True)
        by_issuer = {i['issuer']: i['id'] for i in self.identities(alice)}
        url = '/v1/users/%s/identities/%%s' % alice
        # The cookie alone does not change anything (CSRF).
        resp = self.app.delete(url % by_issuer[self.campus.issuer],
                               status=403)
        self.assertEqual('federation.csrf_header_missing',
                         resp.json['errors'][0]['code'])
        self.app.delete(url % by_issuer[self.campus.issuer], headers=CSRF,
                        status=204)
        # The browser's session was the link's, a login at campus: it
        # ended with the campus identity.
        self.app.get('/v1/users/%s/identities' % alice, status=401)
        self.login('social', 'alice')
        resp = self.app.delete(url % by_issuer[self.social.issuer],
                               headers=CSRF, status=409)
        self.assertEqual('federation.last_identity',
                         resp.json['errors'][0]['code'])
        self.assertEqual([self.social.issuer],
                         [i['issuer'] for i in self.identities(alice)])
        # The campus identity, unlinked, is a new person again.
        self.app.cookiejar.clear()
        campus = self.login('campus', 'a.liddell').json
        self.assertTrue(campus['created'])
        self.assertNotEqual(alice, campus['user_id'])

    def test_authorize_goes_through_the_chooser_and_comes_back(self):
        client_id, secret = s.make_client(self.app, 'leaf')
        verifier, challenge = s.pkce_pair()
        query = {'response_type': 'code', 'client_id': client_id,
                 'redirect_uri': s.REDIRECT, 'scope': 'openid',
                 'state': 'st-9', 'code_challenge': challenge,
                 'code_challenge_method': 'S256'}
        resp = self.app.get('/oidc/authorize', query, status=302)
        self.assertEqual(login.LOGIN_PATH, urllib.parse.urlsplit(
            resp.location).path)
        # Two IdPs and no hint: the chooser.
        resp = self.app.get(_path(resp.location), status=302)
        self.assertEqual(login.CHOOSER_PATH, urllib.parse.urlsplit(
            resp.location).path)
        choices = self.app.get(_path(resp.location)).json['idps']
        self.assertEqual(['campus', 'social'],
                         sorted(c['name'] for c in choices))
        campus = [c for c in choices if c['name'] == 'campus'][0]
        resp = self.app.get(_path(campus['login']), status=302)
        callback = self.at_idp(resp.location, 'a.liddell')
        resp = self.app.get(_path(callback), status=302)
        # Back at the very authorization request, now with a session.
        self.assertEqual(PROXY + '/oidc/authorize',
                         resp.location.split('?')[0])
        self.assertEqual(query, s.query_of(resp.location))
        resp = self.app.get(_path(resp.location), status=302)
        answer = s.query_of(resp.location)
        self.assertEqual('st-9', answer['state'])
        token = self.app.post('/oidc/token', {
            'grant_type': 'authorization_code', 'code': answer['code'],
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(client_id, secret)).json
        sub = self.app.get('/oidc/userinfo', headers={
            'Authorization': 'Bearer ' + token['access_token']}).json['sub']
        identities = self.identities(sub)
        self.assertEqual([(self.campus.issuer, 'a.liddell')],
                         [(i['issuer'], i['subject']) for i in identities])

    def test_idp_hint_skips_the_chooser(self):
        client_id, _secret = s.make_client(self.app, 'leaf')
        _verifier, challenge = s.pkce_pair()
        resp = self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': client_id,
            'redirect_uri': s.REDIRECT, 'code_challenge': challenge,
            'code_challenge_method': 'S256', 'idp_hint': 'social'},
            status=302)
        resp = self.app.get(_path(resp.location), status=302)
        self.assertTrue(resp.location.startswith(self.social.issuer + '/'))

    def test_joining_both_ways_after_logging_in(self):
        """One person accepts an invitation after logging in at the
        campus IdP; another asks to join after logging in at the social
        one; each acts with their proxy session alone."""
        self.add_person('mgr')
        manager = base.person('mgr')
        astro = self.make_vo('astro', ['mgr'])['id']
        token = self.app.post_json(
            '/v1/vos/%s/invitations' % astro,
            {'email': 'a.liddell@uni.example'},
            headers=manager).json['invitation']['token']

        campus = self.login('campus', 'a.liddell').json['user_id']
        accepted = self.app.post_json('/v1/invitation_acceptances',
                                      {'token': token}, headers=CSRF,
                                      status=201).json['membership']
        self.assertEqual((campus, astro, 'active'),
                         (accepted['user_id'], accepted['vo_id'],
                          accepted['status']))

        self.app.cookiejar.clear()
        social = self.login('social', 'alice').json['user_id']
        asked = self.app.post_json('/v1/vos/%s/requests' % astro,
                                   {'reason': 'I study stars.'},
                                   headers=CSRF, status=201).json['request']
        self.assertEqual((social, 'pending'),
                         (asked['user_id'], asked['status']))

        self.app.cookiejar.clear()
        self.app.patch_json('/v1/vos/%s/requests/%s' % (astro, asked['id']),
                            {'status': 'approved'}, headers=manager)
        for person in (campus, social):
            self.assertEqual({'astro'}, set(self.entitlements(person)[
                'groups']))
        self.assertEqual(
            [('create', campus), ('create', social)],
            [(event.rsplit('.', 1)[1], payload['user_id'])
             for event, payload in self.notifier.events()
             if payload['user_id'] != 'mgr'])
