"""POST /v1/pending takes a Keystone trust when the API runs behind
auth_token: real Keystone, real tokens, the reaper's API in-process."""

import uuid

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from oslo_db import exception as db_exc
import testtools

from reaper_svc.db import pending as pending_db
from reaper_svc import service
from reaper_svc.tests.functional import base
from reaper_svc import trusts
from svc_common import context
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import keystone
from svc_common.tests.functional import policy_matrix

BODY = {'servers': [dict(base.SERVER, count=2)]}


class TestPendingTrusts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ks = self.useFixture(keystone.SharedKeystone()).keystone
        suffix = uuid.uuid4().hex[:8]
        self.project = self.ks.create_project('pending-' + suffix)['id']
        self.alice = self.ks.create_user(
            'alice-' + suffix, 'alice-pw',
            roles_on_project={self.project: ['member']})
        self.alice_token = self.ks.token('alice-' + suffix, 'alice-pw',
                                         project_id=self.project)
        self.reaper_user = 'reaper-' + suffix
        self.ks.create_user(self.reaper_user, 'reaper-pw')
        # The noauth app migrates the database the Keystone app uses.
        self.noauth = self.useFixture(base.ReaperApp())
        self.broker = trusts.KeystoneTrusts(self.ks.url, self.reaper_user,
                                            'reaper-pw')

    def token_app(self, **trustee):
        overrides = {('trustee', 'auth_url'): self.ks.url,
                     ('trustee', 'username'): self.reaper_user,
                     ('trustee', 'password'): 'reaper-pw'}
        overrides.update({('trustee', k): v for k, v in trustee.items()})
        return self.useFixture(policy_matrix.TokenApp(
            service.SPEC, self.noauth.conf.database.connection,
            self.ks.authtoken_options('admin', self.ks.admin_password,
                                      self.ks.admin_project_id),
            overrides=overrides)).app

    def submit(self, app):
        made = app.post_json('/v1/pending', BODY, status=201, headers={
            'X-Auth-Token': self.alice_token}).json['pending']
        self.assertNotIn('trust_id', made)
        return made

    def trust_of(self, made):
        [stored] = [r for r in pending_db.queued(
            self.noauth.db, context.admin_context()) if r['id'] == made['id']]
        return stored['trust_id']

    def access(self, trust_id):
        session = ks_session.Session(auth=self.broker.auth(trust_id))
        return session.auth.get_access(session)

    def test_member_submission_is_trusted_with_the_callers_roles(self):
        made = self.submit(self.token_app())
        self.assertTrue(made['trusted'])
        trust_id = self.trust_of(made)
        access = self.access(trust_id)
        # The promoter acts as alice, in the request's project, with the
        # roles her token had there (member implies reader) and no more.
        self.assertEqual((self.alice['id'], self.project, trust_id),
                         (access.user_id, access.project_id,
                          access.trust_id))
        self.assertEqual(['member', 'reader'], sorted(access.role_names))

    def test_configured_roles_are_the_only_ones_delegated(self):
        made = self.submit(self.token_app(roles=['reader']))
        access = self.access(self.trust_of(made))
        self.assertEqual(['reader'], access.role_names)

    def test_withdrawing_deletes_the_trust(self):
        app = self.token_app()
        made = self.submit(app)
        trust_id = self.trust_of(made)
        app.delete('/v1/pending/%s' % made['id'], status=204,
                   headers={'X-Auth-Token': self.alice_token})
        self.assertRaises(ks_exceptions.ClientException, self.access,
                          trust_id)

    def test_a_submission_the_database_refuses_gives_its_trust_up(self):
        """The trust is taken before the insert; when the insert failed
        (the database away, a deadlock), only a request over the
        project's limit gave it up: the others left in Keystone a trust
        that lets the reaper's user act as the member in the project,
        with no end and no request to end it."""
        taken = []
        real_create = trusts.KeystoneTrusts.create_trust

        def create_trust(broker, *args):
            taken.append(real_create(broker, *args))
            return taken[-1]

        def database_away(*args, **kwargs):
            raise db_exc.DBConnectionError('the database is away')

        self.useFixture(fixtures.MockPatchObject(
            trusts.KeystoneTrusts, 'create_trust', create_trust))
        self.useFixture(fixtures.MockPatchObject(
            pending_db, 'create_request', database_away))
        app = self.token_app()
        resp = app.post_json('/v1/pending', BODY, expect_errors=True,
                             headers={'X-Auth-Token': self.alice_token})
        self.assertGreaterEqual(resp.status_int, 500)
        self.assertEqual(1, len(taken))
        self.assertRaises(ks_exceptions.ClientException, self.access,
                          taken[0])

    def test_roles_the_user_lacks_are_refused_with_503(self):
        app = self.token_app(roles=['admin'])
        app.post_json('/v1/pending', BODY, status=503, headers={
            'X-Auth-Token': self.alice_token})
        self.assertEqual([], pending_db.list_requests(
            self.noauth.db, context.admin_context(), 10,
            project_id=self.project))

    def test_noauth_takes_no_trust(self):
        made = self.noauth.app.post_json(
            '/v1/pending', BODY, headers=af.PROJECT_MEMBER,
            status=201).json['pending']
        self.assertFalse(made['trusted'])
        self.assertIsNone(self.trust_of(made))

    def test_no_trustee_configured_refuses_the_submission(self):
        """Without [trustee], the request was queued untrusted, and the
        promoter built it with the cloud driver's credentials: in the
        reaper's own project, with an admin's rights over the image and
        networks the member named.  It is refused, nothing queued."""
        app = self.token_app(auth_url=None)
        resp = app.post_json('/v1/pending', BODY, status=503, headers={
            'X-Auth-Token': self.alice_token})
        error = resp.json['errors'][0]
        self.assertEqual('preemption.trust_unavailable', error['code'])
        self.assertIn('[trustee]', error['detail'])
        self.assertEqual([], pending_db.list_requests(
            self.noauth.db, context.admin_context(), 10,
            project_id=self.project))
