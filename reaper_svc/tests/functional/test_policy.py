"""Every reaper_svc endpoint × every persona (see
svc_common.tests.functional.policy_matrix): a rule without a row fails.

Project ``p1`` (the ``project_*`` personas) has the pending requests
``own`` and ``spare`` and an action that preempted one of its servers;
the ``other_*`` personas (project ``p2``) get the 404 of an absent object
for those.  Plans name servers of every project: operators and services
only.  The API runs on the sample simulated cloud.
"""

import uuid

import fixtures
import testtools

from reaper_svc import service
from reaper_svc.tests.functional import base
from svc_common.db import database
from svc_common.tests.fixtures import keystone
from svc_common.tests.functional import api_fixture as af
from svc_common.tests.functional import policy_matrix as pm

P1_MEMBER = af.identity(['member', 'reader'], 'p1')
OPERATORS = pm.SYSTEM_PERSONAS + ('service',)
MEMBERS = ('project_admin', 'project_member')
PENDING = {'servers': [base.SERVER]}


def _rule(name):
    return 'preemption:%s' % name


def _queue(test, name):
    test.ids[name] = test.app.post_json(
        '/v1/pending', PENDING, headers=P1_MEMBER).json['pending']['id']


ROWS = [
    pm.root_row(service.SPEC.namespace),
    pm.Row(_rule('action:list'), 'GET', '/v1/actions',
           pm.expect(200, pm.ANY_READER)),
    pm.Row(_rule('action:get'), 'GET', '/v1/actions/{victim_action}',
           pm.expect(200, pm.READERS_OF_OWN, hidden=pm.OTHER_PERSONAS)),
    pm.Row(_rule('action:get'), 'GET', '/v1/actions/{trigger_action}',
           pm.expect(200, pm.READERS_OF_OWN, hidden=pm.OTHER_PERSONAS)),
    pm.Row(_rule('plan:create'), 'POST', '/v1/plans',
           pm.expect(200, OPERATORS),
           body={'flavor': 'm1.large', 'aggregates': ['batch']}),
    pm.Row(_rule('pending:list'), 'GET', '/v1/pending',
           pm.expect(200, pm.ANY_READER)),
    pm.Row(_rule('pending:get'), 'GET', '/v1/pending/{own}',
           pm.expect(200, pm.READERS_OF_OWN, hidden=pm.OTHER_PERSONAS)),
    # Each member queues in the project of its own token.
    pm.Row(_rule('pending:create'), 'POST', '/v1/pending',
           pm.expect(201, MEMBERS + ('other_admin', 'other_member')),
           body=PENDING),
    pm.Row(_rule('pending:delete'), 'DELETE', '/v1/pending/{spare}',
           pm.expect(204, ('system_admin',) + MEMBERS,
                     hidden=pm.OTHER_PERSONAS),
           undo=lambda test, resp: _queue(test, 'spare')),
    pm.Row(_rule('capacity:get'), 'GET', '/v1/capacity',
           pm.expect(200, pm.ANY_READER)),
]


class TestPolicyMatrix(pm.PolicyMatrixTests, testtools.TestCase):

    SPEC = service.SPEC
    ROWS = ROWS

    def setUp(self):
        super().setUp()
        # The same cloud for the app behind auth_token in the Keystone
        # re-run of this matrix, which builds its own config.
        self.useFixture(fixtures.EnvironmentVariable(base.CLOUD_VARIABLE,
                                                     base.CLOUD))
        if isinstance(self, pm.KeystonePolicyMatrixTests):
            # Behind auth_token a submission takes a trust, and is
            # refused without a trustee to give it to.
            self.use_trustee()
        noauth = self.useFixture(af.ServiceApp(self.SPEC))
        self.app = noauth.app
        db = database.Database(noauth.conf)
        _queue(self, 'own')
        _queue(self, 'spare')
        self.ids['victim_action'] = base.add_action(
            db, 'p3', ['p1', 'p3'])['id']
        self.ids['trigger_action'] = base.add_action(
            db, 'p1', [])['id']

    def use_trustee(self):
        """A trustee user in the shared Keystone, named by ``[trustee]``
        of the apps built from now on (through the environment, as the
        cloud is)."""
        ks = self.useFixture(keystone.SharedKeystone()).keystone
        name = 'reaper-trustee-%s' % uuid.uuid4().hex[:8]
        ks.create_user(name, 'trustee-pw')
        for option, value in (('AUTH_URL', ks.url), ('USERNAME', name),
                              ('PASSWORD', 'trustee-pw')):
            self.useFixture(fixtures.EnvironmentVariable(
                'OS_TRUSTEE__' + option, value))
