"""Every federation_proxy endpoint × every persona (see
svc_common.tests.functional.policy_matrix): a rule without a row fails."""

import testtools

from federation_proxy import service
from svc_common.tests.functional import api_fixture as af
from svc_common.tests.functional import policy_matrix


class TestPolicyMatrix(policy_matrix.PolicyMatrixTests, testtools.TestCase):

    SPEC = service.SPEC
    ROWS = [policy_matrix.root_row(service.SPEC.namespace)]

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(af.ServiceApp(self.SPEC)).app
