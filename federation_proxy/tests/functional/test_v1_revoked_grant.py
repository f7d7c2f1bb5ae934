"""/v1 refuses every management-scope access token of a grant once the
grant is revoked (RFC 7009) at /oidc/revoke, on SQLite and PostgreSQL.

A person's command-line client holds a grant with the management scope:
its access tokens are the person at /v1.  When the client revokes its
refresh token (a logout), or one of its access tokens, the grant ends:
every access token the grant issued, the earlier ones too, is refused at
/v1 at once, not at the end of its lifetime.  Another grant of the same
person stands.
"""

import testtools
import webtest

from federation_proxy import login
from federation_proxy import service
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup as s
from svc_common import config
from svc_common.db import database
from svc_common import deploy
from svc_common import policy
from svc_common.tests.fixtures import postgresql

PROXY = 'http://127.0.0.1:9873'
SCOPE = 'openid ' + login.MANAGEMENT_SCOPE


class RevokedGrantAtV1Test(testtools.TestCase):

    def database_overrides(self):
        return {}

    def setUp(self):
        super().setUp()
        overrides = {('federation', 'secret_key'): 'test key',
                     ('federation', 'issuer'): PROXY}
        overrides.update(self.database_overrides())
        fixture = self.useFixture(base.FederationApp(overrides))
        self.app = fixture.app
        # The same database behind keystonemiddleware: the bearer token
        # is the only identity a request carries.
        overrides.update({
            (None, 'state_path'): fixture.conf.state_path,
            ('api', 'auth_strategy'): 'keystone',
            ('keystone_authtoken', 'www_authenticate_uri'):
                'http://127.0.0.1:5000/v3'})
        conf = config.build_conf(service.SPEC, overrides=overrides)
        enforcer = policy.make_enforcer(
            conf, service.SPEC.module('policies').list_rules())
        db = database.Database(conf)
        self.addCleanup(db.dispose)
        self.api = webtest.TestApp(deploy.deploy(
            service.SPEC, conf, enforcer, db, fixture.notifier))
        self.alice = s.make_person(self.app, 'alice')
        self.vo = s.make_vo(self.app, 'astro', managers=[self.alice])
        self.client = s.make_client(
            self.app, 'cli', scopes=['openid', login.MANAGEMENT_SCOPE])

    def grant(self):
        """A management-scope grant of Alice's, refreshed twice: its
        three token responses."""
        verifier, challenge = s.pkce_pair()
        resp = self.app.get('/oidc/authorize', {
            'response_type': 'code', 'client_id': self.client[0],
            'redirect_uri': s.REDIRECT, 'scope': SCOPE,
            'code_challenge': challenge, 'code_challenge_method': 'S256'},
            headers=s.person_headers(self.alice), status=302)
        answers = [self.app.post('/oidc/token', {
            'grant_type': 'authorization_code',
            'code': s.query_of(resp.location)['code'],
            'redirect_uri': s.REDIRECT, 'code_verifier': verifier},
            headers=s.basic(*self.client)).json]
        for _refresh in range(2):
            answers.append(self.app.post('/oidc/token', {
                'grant_type': 'refresh_token',
                'refresh_token': answers[-1]['refresh_token']},
                headers=s.basic(*self.client)).json)
        return answers

    def v1(self, access_token, status=200):
        """Alice's VO's members, as the bearer of ``access_token``."""
        return self.api.get('/v1/vos/%s/memberships' % self.vo, headers={
            'Authorization': 'Bearer ' + access_token}, status=status)

    def revoke(self, token, hint):
        self.app.post('/oidc/revoke', {'token': token,
                                       'token_type_hint': hint},
                      headers=s.basic(*self.client), status=200)

    def assertGrantRefused(self, answers):
        for answer in answers:
            resp = self.v1(answer['access_token'], status=401)
            self.assertEqual('federation.unauthorized',
                             resp.json['errors'][0]['code'])

    def test_revoking_the_refresh_token_refuses_the_grants_tokens(self):
        other = self.grant()
        answers = self.grant()
        for answer in answers:
            self.assertEqual(['alice'], [m['user_id'] for m in self.v1(
                answer['access_token']).json['memberships']])
        self.revoke(answers[-1]['refresh_token'], 'refresh_token')
        self.assertGrantRefused(answers)
        # Alice's other grant is not this one.
        self.v1(other[-1]['access_token'])

    def test_revoking_an_access_token_refuses_the_grants_tokens(self):
        other = self.grant()
        answers = self.grant()
        # The first access token of the grant: the later ones end too.
        self.revoke(answers[0]['access_token'], 'access_token')
        self.assertGrantRefused(answers)
        self.v1(other[0]['access_token'])


class RevokedGrantAtV1OnPostgreSQLTest(RevokedGrantAtV1Test):

    def database_overrides(self):
        return {('database', 'connection'):
                self.useFixture(postgresql.Database()).url}
