"""A value of a nullable field that is not null and fails its schema is
refused with what it failed, as the same field without ``null`` is.

``{"min_runtime": 7776000}`` (90 days, past the 30 the schema allows) was
"Invalid field min_runtime: 7776000 is not valid under any of the given
schemas": neither the limit nor the form the value missed.
"""

import testtools

from reaper_svc.schemas import pending
from svc_common.api import validation
from svc_common import errors
from svc_common.schemas import parameter_types

SERVERS = [{'name': 'sim', 'flavor': 'm1.large', 'image': 'img'}]


class TestNullableFieldErrors(testtools.TestCase):

    def refusal(self, schema, body):
        error = self.assertRaises(errors.BadRequest, validation.validate,
                                  schema, body)
        return error.detail, error.extra['field']

    def test_pending_min_runtime_past_the_limit(self):
        self.assertEqual(
            ('Invalid field min_runtime: 7776000 is greater than the '
             'maximum of 2592000', 'min_runtime'),
            self.refusal(pending.CREATE, {'servers': SERVERS,
                                          'min_runtime': 7776000}))

    def test_pending_min_runtime_of_another_type(self):
        self.assertEqual(
            ('Invalid field min_runtime: "8h" is not of type \'integer\'',
             'min_runtime'),
            self.refusal(pending.CREATE, {'servers': SERVERS,
                                          'min_runtime': '8h'}))

    def test_nested_field_named(self):
        schema = {'type': 'object', 'properties': {
            'spec': parameter_types.nullable({
                'type': 'object',
                'properties': {'count': parameter_types.amount(1, 10)}})}}
        self.assertEqual(
            ('Invalid field spec/count: 11 is greater than the maximum of '
             '10', 'spec/count'),
            self.refusal(schema, {'spec': {'count': 11}}))

    def test_nullable_field_inside_a_nullable_object(self):
        # The object's failing branch is itself a nullable field's
        # refusal: its own failing branch is what the value missed.
        schema = {'type': 'object', 'properties': {
            'spec': parameter_types.nullable({
                'type': 'object',
                'properties': {'count': parameter_types.nullable(
                    parameter_types.amount(1, 10))}})}}
        self.assertEqual(
            ('Invalid field spec/count: "x" is not of type \'integer\'',
             'spec/count'),
            self.refusal(schema, {'spec': {'count': 'x'}}))
        self.assertEqual(
            ('Invalid field spec/count: 11 is greater than the maximum of '
             '10', 'spec/count'),
            self.refusal(schema, {'spec': {'count': 11}}))

    def test_null_and_valid_values_still_pass(self):
        for value in (None, 3600):
            validation.validate(pending.CREATE, {'servers': SERVERS,
                                                 'min_runtime': value})
