"""Access tokens of people in many groups, sent the way relying parties
send them: as a ``Bearer`` header to a web server with the default
request-header limits (gunicorn's 8190 bytes a header line, as Apache's
and nginx's).

A person in 500 groups would get a token of about 100 KB; the server
refuses such a header (400) before the application sees it, so neither
a leaf Keystone nor the proxy's own userinfo could read it.  The token
is bounded instead (``[federation] access_token_max_size``), and names
userinfo as the source of the memberships it leaves out.
"""

import base64
import json
import uuid

import fixtures
import requests
import sqlalchemy as sa
import testtools

from federation_proxy.db import models
from federation_proxy import service
from federation_proxy.tests.functional import oidc_setup as s
from svc_common.tests.fixtures import gunicorn

ISSUER = 'http://127.0.0.1:9873'
GROUPS = 500


def _claims(token):
    payload = token.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(
        payload + '=' * (-len(payload) % 4)))


class TokenSizeTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.database_url = 'sqlite:///%s/federation.db' % tmp
        self.server = self.useFixture(gunicorn.Gunicorn(
            service.SPEC, self.database_url, workers=1, threads=2))
        self.url = self.server.url
        self.http = requests.Session()
        self.addCleanup(self.http.close)
        self.post('/v1/users', {
            'id': 'alice', 'issuer': 'https://idp.example.org',
            'subject': 'sub-alice', 'name': 'Alice',
            'email': 'alice@example.org'})
        self.vo = self.post('/v1/vos', {'name': 'astro',
                                        'managers': []})['vo']['id']
        body = self.post('/v1/clients', {
            'id': 'portal', 'name': 'portal', 'grant_types': s.GRANTS,
            'redirect_uris': [s.REDIRECT], 'scopes': s.SCOPES})
        self.client = ('portal', body.get('secret') or
                       body['client']['secret'])

    def post(self, path, body):
        resp = self.http.post(self.url + path, json=body,
                              headers=s.ADMIN, timeout=30)
        self.assertLess(resp.status_code, 300, resp.text)
        return resp.json()

    def join_groups(self, count, first=0):
        """Make alice a member of ``count`` more subgroups of the VO (in
        the database: 500 API calls would be the test's whole time)."""
        engine = sa.create_engine(self.database_url)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            for number in range(first, first + count):
                group_id = uuid.uuid4().hex
                conn.execute(sa.insert(models.Group).values(
                    id=group_id, vo_id=self.vo, parent_id=None,
                    path='astro:observing-programme-%04d' % number))
                conn.execute(sa.insert(models.Membership).values(
                    id=uuid.uuid4().hex, vo_id=self.vo, group_id=group_id,
                    user_id='alice', role='member', status='active'))

    def tokens(self):
        verifier, challenge = s.pkce_pair()
        resp = self.http.get(self.url + '/oidc/authorize', params={
            'response_type': 'code', 'client_id': 'portal',
            'redirect_uri': s.REDIRECT, 'scope': 'openid profile',
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            headers=s.person_headers('alice'), allow_redirects=False,
            timeout=30)
        self.assertEqual(302, resp.status_code, resp.text)
        code = s.query_of(resp.headers['Location'])['code']
        resp = self.http.post(self.url + '/oidc/token', data={
            'grant_type': 'authorization_code', 'code': code,
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(*self.client), timeout=30)
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()

    def userinfo(self, token):
        return self.http.get(self.url + '/oidc/userinfo', headers={
            'Authorization': 'Bearer ' + token}, timeout=30)

    def test_few_groups_are_in_the_token(self):
        self.join_groups(10)
        token = self.tokens()['access_token']
        claims = _claims(token)
        self.assertEqual(10, len(claims['groups']))
        self.assertEqual(20, len(claims['eduperson_entitlement']))
        self.assertNotIn('_claim_names', claims)
        self.assertEqual(200, self.userinfo(token).status_code)

    def test_many_groups_are_left_to_userinfo(self):
        self.join_groups(GROUPS)
        body = self.tokens()
        token = body['access_token']
        self.assertLessEqual(len(token), 6144)
        claims = _claims(token)
        self.assertNotIn('groups', claims)
        self.assertNotIn('eduperson_entitlement', claims)
        self.assertEqual({'groups': 'userinfo',
                          'eduperson_entitlement': 'userinfo'},
                         claims['_claim_names'])
        self.assertEqual({'userinfo': {'endpoint':
                                       ISSUER + '/oidc/userinfo'}},
                         claims['_claim_sources'])
        # The token goes through the web server, and userinfo has them.
        resp = self.userinfo(token)
        self.assertEqual(200, resp.status_code, resp.text[:200])
        self.assertEqual(GROUPS, len(resp.json()['groups']))
        self.assertEqual(2 * GROUPS,
                         len(resp.json()['eduperson_entitlement']))
        # So has introspection (a body, not a header).
        resp = self.http.post(self.url + '/oidc/introspect',
                              data={'token': token},
                              headers=s.basic(*self.client), timeout=30)
        answer = resp.json()
        self.assertTrue(answer['active'])
        self.assertEqual(GROUPS, len(answer['groups']))
        self.assertEqual(2 * GROUPS,
                         len(answer['eduperson_entitlement']))
        # A refresh leaves them out the same way.
        resp = self.http.post(self.url + '/oidc/token', data={
            'grant_type': 'refresh_token',
            'refresh_token': body['refresh_token']},
            headers=s.basic(*self.client), timeout=30)
        self.assertNotIn('groups', _claims(resp.json()['access_token']))
        self.assertEqual(200, self.userinfo(
            resp.json()['access_token']).status_code)
