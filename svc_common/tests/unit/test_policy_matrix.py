"""The policy-matrix machinery: a rule without a row is found."""

import importlib

import testtools

from svc_common.cmd import all_in_one
from svc_common import personas
from svc_common import policy
from svc_common.tests.functional import policy_matrix as pm

RULES = personas.base_rules() + [
    policy.rule('w', 'widget:get', personas.RULE_ANY_READER, 'Show.',
                [('GET', '/v1/widgets/{widget_id}')], policy.ANY_SCOPE),
    policy.rule('w', 'widget:delete', personas.RULE_SYSTEM_ADMIN, 'Delete.',
                [('DELETE', '/v1/widgets/{widget_id}')], policy.SYSTEM_SCOPE),
]
GET = pm.Row('w:widget:get', 'GET', '/v1/widgets/w1?x=1', {})
DELETE = pm.Row('w:widget:delete', 'DELETE', '/v1/widgets/w1', {})


class TestUncovered(testtools.TestCase):

    def test_complete_matrix(self):
        self.assertEqual([], pm.uncovered(RULES, [GET, DELETE]))

    def test_rule_without_a_row(self):
        self.assertEqual(
            ['no row for w:widget:delete (DELETE /v1/widgets/{widget_id})'],
            pm.uncovered(RULES, [GET]))

    def test_row_of_no_operation(self):
        stray = pm.Row('w:widget:get', 'GET', '/v1/widgets/w1/parts', {})
        self.assertEqual(
            ['row GET /v1/widgets/w1/parts names no operation of '
             'w:widget:get'], pm.uncovered(RULES, [GET, DELETE, stray]))

    def test_write_rules(self):
        self.assertEqual(['w:widget:delete'], pm.write_rules(RULES))

    def test_expect(self):
        table = pm.expect(200, ('system_admin',), hidden=('other_reader',))
        self.assertEqual(set(pm.ALL_PERSONAS), set(table))
        self.assertEqual((200, 404, 403), (table['system_admin'],
                                           table['other_reader'],
                                           table['service']))
        self.assertRaises(ValueError, pm.expect, 200, ('nobody',))


class TestEveryServiceHasAMatrix(testtools.TestCase):

    def test_policy_matrix_per_service(self):
        for spec in all_in_one.load_specs():
            module = importlib.import_module(
                '%s.tests.functional.test_policy' % spec.package)
            matrices = [value for value in vars(module).values()
                        if isinstance(value, type) and
                        issubclass(value, pm.PolicyMatrixTests) and
                        value.SPEC == spec]
            self.assertTrue(matrices, spec.package)
