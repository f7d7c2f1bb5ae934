"""The Nova hook with real Keystone tokens, across a token's end.

The limits service is the real one behind keystonemiddleware ``auth_token``
(``[api] auth_strategy = keystone``, no token cache), served over
loopback HTTP, and validates tokens with the process's shared Keystone on
127.0.0.1; Nova is a test double: the hook runs with a keystoneauth1
password session of a Nova service user (``service`` role), as
``[arbiter_limits]`` builds it. Keystone revokes that user's token between
two of the hook's calls, as when a token ends between a boot's
reservation and its confirmation: the next call is answered 401, and
keystoneauth1 gets a new token and sends the request again, which the
hook's idempotent calls make safe.
"""

import types
import uuid

import fixtures
import testtools

from limits_svc.clients import limits
from limits_svc.hooks import nova
from limits_svc import service
from limits_svc.tests.functional import test_clients
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import keystone
from svc_common.tests.functional import policy_matrix as pm

FLAVOR = types.SimpleNamespace(vcpus=2, memory_mb=1024, root_gb=10,
                               ephemeral_gb=0, swap=0)


class TestTokenEnds(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(240, gentle=True))
        ks = self.useFixture(keystone.SharedKeystone()).keystone
        suffix = uuid.uuid4().hex[:8]
        project = ks.create_project('nova-hook-%s' % suffix)
        try:
            ks.role_id('service')
        except LookupError:
            ks.create_role('service')
        password = uuid.uuid4().hex
        user = 'nova-hook-%s' % suffix
        ks.create_user(user, password,
                       roles_on_project={project['id']: ['service']})
        self.keystone = ks
        # One database, two apps: noauth to build the tree, auth_token for
        # the hook.
        database = 'sqlite:///%s/limits.sqlite' % self.useFixture(
            fixtures.TempDir()).path
        self.admin = self.useFixture(af.ServiceApp(
            service.SPEC,
            overrides={('database', 'connection'): database})).app
        secured = self.useFixture(pm.TokenApp(
            service.SPEC, database, ks.authtoken_options(
                user, password, project['id'], token_cache_time=-1)))
        url = self.useFixture(
            test_clients.LoopbackServer(secured.app.app)).url
        self.session = ks.session(user, password, project_id=project['id'])
        self.client = limits.LimitsClient(self.session, endpoint_override=url)
        self.hook = nova.NovaLimitsHook(self.client)
        self.admin.post_json('/v1/projects', {'id': 'leaf'},
                             headers=af.SYSTEM_ADMIN)
        for resource, value in (('instances', 10), ('cores', 8),
                                ('ram', 16384)):
            self.admin.post_json('/v1/registered_limits', {
                'service_id': 'nova', 'resource_name': resource,
                'default_limit': value}, headers=af.SYSTEM_ADMIN)

    def held(self):
        answer = self.admin.get('/v1/allocations?project_id=leaf',
                                headers=af.SYSTEM_READER).json
        return {a['consumer_id']: (a['resources'], a['expires_at'] is None)
                for a in answer['allocations']}

    def test_a_token_revoked_between_reservation_and_confirmation(self):
        reserved = self.hook.reserve_instances(None, 'leaf', FLAVOR, False,
                                               ['vm-1', 'vm-2'])
        first = self.session.get_token()
        self.keystone.revoke_token(first)
        self.hook.confirm_instances(None, 'leaf', FLAVOR, False, reserved)
        self.assertNotEqual(first, self.session.get_token())
        one = {'instances': 1, 'cores': 2, 'ram': 1024}
        self.assertEqual({'vm-1': (one, True), 'vm-2': (one, True)},
                         self.held())
        # Refusals and frees after another revocation: the same.
        self.keystone.revoke_token(self.session.get_token())
        self.assertRaises(nova.TooManyInstances, self.hook.reserve_instances,
                          None, 'leaf', FLAVOR, False, ['vm-3', 'vm-4',
                                                        'vm-5'])
        self.keystone.revoke_token(self.session.get_token())
        self.assertTrue(self.hook.free_instance(
            None, types.SimpleNamespace(uuid='vm-1')))
        self.assertEqual({'vm-2': (one, True)}, self.held())
