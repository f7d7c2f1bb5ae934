"""RBAC proven with the tokens Keystone really issues.

Every service's policy matrix runs once more through keystonemiddleware
``auth_token`` (``[api] auth_strategy = keystone``, ``[keystone_authtoken]``
pointing at a real Keystone on 127.0.0.1), each persona with a real token
(:data:`~svc_common.tests.functional.policy_matrix.KEYSTONE_PERSONAS`);
every cell must be the one of the noauth matrix.  A class is made for
every ``PolicyMatrixTests`` of every service's ``test_policy`` module, on
the state its ``setUp`` builds; real tokens of scopes no persona has
(domain, unscoped) are refused by every row.  The other tests check
what the matrix rests on: the request context built from a token's
headers equals the one built from the persona's noauth headers; a revoked
token is refused (at once without a token cache, after at most
``token_cache_time`` seconds with the in-process cache); identity headers
a client sends next to its token change nothing.

One Keystone per test process (``SharedKeystone``); its users, projects
and tokens are made once (``policy_matrix.keystone_personas``).
"""

import importlib
import time

import pecan
import testtools
import webtest

from limits_svc import service as limits_service
from svc_common.cmd import all_in_one
from svc_common import deploy
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import keystone
from svc_common.tests.functional import policy_matrix as pm


def matrices(spec):
    """The policy-matrix test cases of a service's ``test_policy``."""
    module = importlib.import_module('%s.tests.functional.test_policy'
                                     % spec.package)
    return [value for _, value in sorted(vars(module).items())
            if isinstance(value, type) and
            issubclass(value, pm.PolicyMatrixTests) and value.SPEC == spec]


def _make_classes():
    """``Test<Package><Matrix>WithTokens`` for every matrix of every
    service: its rows and its state, real tokens through auth_token."""
    for spec in all_in_one.load_specs():
        for matrix in matrices(spec):
            name = 'Test%s%sWithTokens' % (
                spec.package.title().replace('_', ''), matrix.__name__[4:])
            globals()[name] = type(name, (pm.KeystonePolicyMatrixTests,
                                          matrix), {})


_make_classes()


class TestPersonaMapping(testtools.TestCase):

    def test_every_persona_has_a_token(self):
        self.assertEqual(sorted(pm.ALL_PERSONAS),
                         sorted(pm.KEYSTONE_PERSONAS))

    def test_every_service_matrix_runs_with_tokens(self):
        for spec in all_in_one.load_specs():
            self.assertTrue(matrices(spec), spec.package)

    def test_the_role_of_no_roles_is_named_by_no_rule(self):
        for spec in all_in_one.load_specs():
            for rule in spec.module('policies').list_rules():
                self.assertNotIn(pm.NO_PERSONA_ROLE, rule.check_str,
                                 rule.name)

    def test_a_persona_without_identity_fails_the_matrix(self):
        class Matrix(pm.PolicyMatrixTests, testtools.TestCase):
            def persona_headers(self):
                people = pm.personas('p1', 'p2')
                del people['service']
                return people

        result = testtools.TestResult()
        Matrix('test_matrix').run(result)
        self.assertEqual(1, len(result.failures))
        self.assertIn('personas without an identity',
                      result.failures[0][1])
        self.assertIn("'service'", result.failures[0][1])


class _ContextProbe(object):
    """A root controller that answers with the context it was given."""

    @pecan.expose('json')
    def index(self):
        ctx = pecan.request.context
        return {'project_id': ctx.project_id, 'roles': sorted(ctx.roles),
                'system_scope': ctx.system_scope,
                'is_admin_project': ctx.is_admin_project,
                'is_system_scoped': ctx.is_system_scoped,
                'user_id': ctx.user_id}


class _ProbeRoot(object):
    v1 = _ContextProbe()


class TokenTestCase(testtools.TestCase):
    """A shared Keystone, its personas, and limits_svc apps on it."""

    OWN = 'p1'
    OTHER = 'p2'
    SPEC = limits_service.SPEC

    def setUp(self):
        super().setUp()
        self.keystone = self.useFixture(keystone.SharedKeystone()).keystone
        self.people = pm.keystone_personas(self.keystone)
        self.tokens = self.people.headers(self.OWN, self.OTHER)

    def token_app(self, token_cache_time=300, root=None):
        """A webtest app behind auth_token: the service's, or one whose
        pecan root is ``root``."""
        fixture = self.useFixture(pm.TokenApp(
            self.SPEC, 'sqlite://',
            self.people.authtoken_options(token_cache_time)))
        if root is None:
            return fixture.app
        return webtest.TestApp(deploy.deploy(
            self.SPEC, fixture.conf, enforcer=None, db=None, root=root))

    def fresh_token(self, persona):
        """A token of ``persona`` that no other test uses (to revoke)."""
        scope, _ = pm.KEYSTONE_PERSONAS[persona]
        project_id = {'own': self.OWN, 'other': self.OTHER,
                      'service': pm.SERVICE_PROJECT}.get(scope)
        return self.keystone.token('matrix-%s' % persona,
                                   self.people.password,
                                   project_id=project_id,
                                   system_scope=scope == 'system')


class TestTokenContext(TokenTestCase):
    """What handlers see of a real token is what they see of the noauth
    headers of the same persona."""

    def setUp(self):
        super().setUp()
        self.from_token = self.token_app(root=_ProbeRoot())
        noauth = self.useFixture(af.ServiceApp(self.SPEC))
        self.from_headers = webtest.TestApp(deploy.deploy(
            self.SPEC, noauth.conf, enforcer=None, db=None,
            root=_ProbeRoot()))

    def test_each_persona_same_context(self):
        headers = pm.personas(self.OWN, self.OTHER)
        differ = {}
        for persona in pm.ALL_PERSONAS:
            real = self.from_token.get('/v1',
                                       headers=self.tokens[persona]).json
            told = self.from_headers.get('/v1', headers=headers[persona]).json
            # Users differ (Keystone's ids against user-1); the rest is
            # what policy reads.  The no_roles token holds a role that no
            # rule names (TestPersonaMapping), the headers hold none.
            real.pop('user_id')
            told.pop('user_id')
            real['roles'] = [role for role in real['roles']
                             if role != pm.NO_PERSONA_ROLE]
            if real != told:
                differ[persona] = {'token': real, 'headers': told}
        self.assertEqual({}, differ)

    def test_implied_roles_are_in_the_token(self):
        real = self.from_token.get(
            '/v1', headers=self.tokens['project_admin']).json
        self.assertEqual(['admin', 'manager', 'member', 'reader'],
                         real['roles'])
        self.assertEqual(self.OWN, real['project_id'])

    def test_identity_headers_beside_a_token_change_nothing(self):
        plain = self.from_token.get(
            '/v1', headers=self.tokens['project_reader']).json
        spoofed = dict(self.tokens['project_reader'], **{
            'X-System-Scope': 'all', 'OpenStack-System-Scope': 'all',
            'X-Roles': 'admin,member,reader,service',
            'X-Project-Id': self.OTHER, 'X-User-Id': 'someone-else',
            'X-Is-Admin-Project': 'True', 'X-Identity-Status': 'Confirmed'})
        seen = self.from_token.get('/v1', headers=spoofed).json
        self.assertEqual(plain, seen)
        self.assertIsNone(seen['system_scope'])
        self.assertEqual(['reader'], seen['roles'])


class TestRefusedTokens(TokenTestCase):
    """Tokens that Keystone no longer accepts are answered 401."""

    def _status(self, app, token):
        return app.get('/v1', headers={'X-Auth-Token': token},
                       expect_errors=True).status_int

    def test_revoked_before_first_use(self):
        app = self.token_app()
        kept, revoked = (self.fresh_token('project_reader'),
                         self.fresh_token('project_reader'))
        self.keystone.revoke_token(revoked)
        self.assertEqual(200, self._status(app, kept))
        resp = app.get('/v1', headers={'X-Auth-Token': revoked},
                       expect_errors=True)
        self.assertEqual(401, resp.status_int)
        self.assertIn('Keystone uri=', resp.headers['WWW-Authenticate'])

    def test_revoked_system_admin_token(self):
        app = self.token_app()
        token = self.fresh_token('system_admin')
        self.keystone.revoke_token(token)
        resp = app.post_json('/v1/registered_limits', {
            'service_id': 'nova', 'resource_name': 'ram',
            'default_limit': 5}, headers={'X-Auth-Token': token},
            expect_errors=True)
        self.assertEqual(401, resp.status_int)

    def test_without_cache_revocation_is_at_once(self):
        app = self.token_app(token_cache_time=-1)
        token = self.fresh_token('service')
        self.assertEqual(200, self._status(app, token))
        self.keystone.revoke_token(token)
        self.assertEqual(401, self._status(app, token))

    def test_cached_token_is_refused_once_the_cache_expires(self):
        # keystonemiddleware 13 has no revocation check of cached tokens
        # (no check_revocations_for_cached): a token validated before its
        # revocation is served from the cache for token_cache_time.
        # The in-process cache counts whole seconds: an entry lives between
        # cache_time - 1 and cache_time seconds.
        cache_time = 3
        app = self.token_app(token_cache_time=cache_time)
        token = self.fresh_token('project_member')
        validated_at = time.monotonic()
        self.assertEqual(200, self._status(app, token))
        self.keystone.revoke_token(token)
        self.assertEqual(200, self._status(app, token))
        time.sleep(max(0, validated_at + cache_time + 1 - time.monotonic()))
        self.assertEqual(401, self._status(app, token))

    def test_not_a_token(self):
        app = self.token_app()
        self.assertEqual(401, self._status(app, 'not-a-token'))
