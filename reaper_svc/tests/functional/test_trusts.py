"""Trusts against a real Keystone: the reaper's service user acts as the
requesting user, in the request's project, through the trust."""

import types

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystonemiddleware import auth_token
from oslo_context import context as oslo_context
import testtools
import webob

from reaper_svc.drivers import openstack
from reaper_svc import trusts
from svc_common.tests.fixtures import keystone


class TestKeystoneTrusts(testtools.TestCase):

    def test_trust_taken_and_acted_through(self):
        ks = self.useFixture(keystone.Keystone())
        project = ks.admin_project_id
        alice = ks.create_user('alice', 'alice-pw',
                               roles_on_project={project: ['member']})
        ks.create_user('reaper', 'reaper-pw')
        broker = trusts.KeystoneTrusts(ks.url, 'reaper', 'reaper-pw')
        token = ks.token('alice', 'alice-pw', project_id=project)

        trust_id = broker.create_trust(token, project, ['member'])

        session = ks_session.Session(auth=broker.auth(trust_id))
        access = session.auth.get_access(session)
        # Nova would see alice (impersonation), in her project, with the
        # delegated role only.
        self.assertEqual((alice['id'], project, trust_id),
                         (access.user_id, access.project_id,
                          access.trust_id))
        self.assertIn('member', access.role_names)
        self.assertNotIn('admin', access.role_names)

    def test_the_creator_is_the_user_nova_makes_the_servers_of(self):
        """The promoter takes as its own only the servers of the user
        ``creator()`` names for the auth it builds with (the Nova
        ``user_id`` of what it creates).  Nova makes a server the
        ``user_id`` of its request context (``nova.compute.api``:
        ``'user_id': context.user_id``), which nova-api's
        ``NovaKeystoneContext`` builds with oslo.context's
        ``RequestContext.from_environ`` from the headers that
        keystonemiddleware's ``auth_token`` sets once it validated the
        token.  That middleware and that constructor run here in front
        of a stand-in for the compute API, against the real Keystone:
        with the request's trust, and with the reaper's own
        credentials, the user Nova would make the servers of is the one
        ``creator()`` tells.  (The Nova fixture of the other tests has
        no Keystone, so cannot take a trust's token.)"""
        ks = self.useFixture(keystone.Keystone())
        project = ks.admin_project_id
        alice = ks.create_user('alice', 'alice-pw',
                               roles_on_project={project: ['member']})
        reaper = ks.create_user('reaper', 'reaper-pw',
                                roles_on_project={project: ['member']})
        ks.create_user('nova', 'nova-pw',
                       roles_on_project={project: ['admin']})
        broker = trusts.KeystoneTrusts(ks.url, 'reaper', 'reaper-pw')
        trust_id = broker.create_trust(
            ks.token('alice', 'alice-pw', project_id=project), project,
            ['member'])
        seen = []

        @webob.dec.wsgify
        def compute_api(request):
            context = oslo_context.RequestContext.from_environ(
                request.environ)
            seen.append((context.user_id, context.project_id))
            return webob.Response(json_body={})

        nova_api = auth_token.AuthProtocol(
            compute_api, dict(ks.authtoken_options('nova', 'nova-pw',
                                                   project),
                              delay_auth_decision='false'))
        own_session = ks.session('reaper', 'reaper-pw', project_id=project)
        options = types.SimpleNamespace(preemption=types.SimpleNamespace(
            preemptible_extra_spec='x', priority_extra_spec='y'))
        cloud = openstack.OpenStackCloud(
            options, ks_adapter.Adapter(own_session), None)

        for auth in (broker.auth(trust_id), None):
            token = (auth or own_session.auth).get_token(own_session)
            request = webob.Request.blank(
                '/v2.1/servers', method='POST',
                headers={'X-Auth-Token': token})
            self.assertEqual(200, request.get_response(nova_api).status_int)
            self.assertEqual((cloud.creator(auth=auth), project),
                             seen[-1])
        self.assertEqual([(alice['id'], project), (reaper['id'], project)],
                         seen)
