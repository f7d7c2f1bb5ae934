"""Trusts against a real Keystone: the reaper's service user acts as the
requesting user, in the request's project, through the trust."""

from keystoneauth1 import session as ks_session
import testtools

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
