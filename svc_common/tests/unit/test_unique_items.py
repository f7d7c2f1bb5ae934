"""``uniqueItems`` is checked in time linear in the size of the array,
with JSON Schema's meaning of equal.

jsonschema compares every pair of items that do not sort (objects, or
arrays holding them): ``{"flavor": "m1", "aggregates": [{"k": 0}, {"k":
1}, ...]}``, 8,000 objects in a body of 100 KB, held the reaper API for
over four minutes before its 400 (the federation proxy's ``managers``
three).  The guards below only stop a hang; the check takes well under a
second.
"""

import fixtures
import jsonschema
import testtools
from testtools import matchers

from svc_common.api import validation
from svc_common.cmd import all_in_one
from svc_common import errors
from svc_common.tests.fixtures import api as api_fixture

SCHEMA = {'type': 'object',
          'properties': {'a': {'type': 'array', 'uniqueItems': True}}}

EVERYTHING = api_fixture.identity(['admin', 'member', 'reader', 'service'],
                                  system=True)


class TestUniqueItems(testtools.TestCase):

    def refused(self, items):
        try:
            validation.validate(SCHEMA, {'a': items})
        except errors.BadRequest as exc:
            return exc.detail
        return None

    def test_equal_as_json_schema_says(self):
        for items in ([1, 1.0], [{'a': 1, 'b': 2}, {'b': 2, 'a': 1}],
                      [[1, {'x': None}], [1, {'x': None}]],
                      [{'a': [1]}, {'a': [1.0]}], ['x', 'x'], [None, None],
                      [False, False]):
            self.assertEqual('Invalid field a: %s has non-unique elements'
                             % validation.json_text(items),
                             self.refused(items), items)

    def test_different(self):
        for items in ([True, 1], [0, False], [None, False], ['1', 1],
                      [[], {}], [{'a': 1}, {'a': 1, 'b': 1}], [[1, 2], [2, 1]],
                      []):
            self.assertIsNone(self.refused(items), items)

    def test_many_objects(self):
        items = [{'k': i} for i in range(8000)]
        with fixtures.Timeout(60, gentle=True):
            self.assertIsNone(self.refused(items))
            self.assertIsNotNone(self.refused(items + [{'k': 0}]))

    def test_numbers_of_one_hash(self):
        # Python hashes k * (2**61 - 1) to 0 for every k, with no key of
        # the process: a set of such numbers (or of arrays of them) as
        # they are took time quadratic in their count.
        modulus = 2 ** 61 - 1
        for items in ([k * modulus for k in range(1, 60001)],
                      [[k * modulus] for k in range(1, 30001)]):
            with fixtures.Timeout(20, gentle=True):
                self.assertIsNone(self.refused(items))
                self.assertIsNotNone(self.refused(items + items[-1:]))

    def test_numbers_equal_by_value(self):
        for items in ([0, -0.0], [1e16, 10 ** 16], [2.5, 2.5],
                      [{'a': [1, 2.0]}, {'a': [1.0, 2]}]):
            self.assertIsNotNone(self.refused(items), items)
        # Apart, however close (Python compares an int and a float
        # exactly, as jsonschema does).
        for items in ([2 ** 53 + 1, float(2 ** 53)], [1, 1.5],
                      [10 ** 300, 1e300], [True, 1.0]):
            self.assertIsNone(self.refused(items), items)

    def test_services(self):
        # The fields of the services' schemas that are uniqueItems arrays.
        specs = {spec.package: spec for spec in all_in_one.load_specs()}
        items = [{'k': i} for i in range(8000)]
        for package, path, body, field in (
                ('reaper_svc', '/v1/plans',
                 {'flavor': 'm1', 'aggregates': items}, 'aggregates'),
                ('federation_proxy', '/v1/vos',
                 {'name': 'v', 'managers': items}, 'managers')):
            app = self.useFixture(api_fixture.ServiceApp(specs[package])).app
            with fixtures.Timeout(60, gentle=True):
                resp = app.post_json(path, body, headers=EVERYTHING,
                                     status=400)
            error = resp.json['errors'][0]
            self.assertEqual(
                (field, 'Invalid field %s: [{"k": 0}, {"k": 1},' % field),
                (error['field'], error['detail'][:len(field) + 36]))


class TestUniqueItemsOfUserSchemas(testtools.TestCase):
    """An image family's ``properties_schema`` is checked against draft
    7's meta-schema, whose ``required``, ``type`` and ``dependencies``
    are unique arrays: jsonschema's check_schema ran its own uniqueItems
    there (pair by pair), whatever the validator class's keywords."""

    def post_family(self, properties_schema):
        specs = {spec.package: spec for spec in all_in_one.load_specs()}
        app = self.useFixture(api_fixture.ServiceApp(
            specs['image_family_svc'])).app
        with fixtures.Timeout(20, gentle=True):
            resp = app.post_json('/v1/families', {
                'name': 'f', 'properties_schema': properties_schema},
                headers=EVERYTHING, status=400)
        error = resp.json['errors'][0]
        return error['field'], error['detail']

    def test_meta_schema_of_many_objects(self):
        items = [{'k': i} for i in range(8000)]
        for properties_schema in ({'type': items},
                                  {'dependencies': {'x': items}}):
            field, detail = self.post_family(properties_schema)
            self.assertEqual('properties_schema', field)
            self.assertThat(detail, matchers.StartsWith(
                'Invalid field properties_schema: not a JSON schema: '
                '[{"k": 0}, {"k": 1}, {"k": 2}, '))

    def test_referenced_value_of_many_objects(self):
        # A $ref to a value the meta-schema does not look at (under a
        # name that is no keyword) is checked as a schema on its own
        # (after the 64 KB limit of a properties_schema).
        field, detail = self.post_family({
            'x': {'type': [{'k': i} for i in range(5000)]},
            'properties': {'a': {'$ref': '#/x'}}})
        self.assertEqual('properties_schema/properties/a/$ref', field)
        self.assertThat(detail, matchers.StartsWith(
            'Invalid field properties_schema/properties/a/$ref: $ref '
            '"#/x" points to a value that is not a JSON schema: '
            '[{"k": 0}, {"k": 1}, '))

    def test_same_answers(self):
        # What check_schema() says is what jsonschema's check_schema
        # says, uniqueItems included.
        for schema in ({'type': ['string', 'string']},
                       {'required': ['a', 'a']},
                       {'type': [{'a': 1}, {'a': 1.0}]},
                       {'dependencies': {'x': [{'b': 1}, {'b': 1}]}},
                       {'maxLength': -1}, {'type': 'strin'},
                       {'properties': {'a': {'enum': 5}}},
                       {'maxLength': 5.0}, {'required': ['a', 'b']}):
            expected = actual = None
            try:
                jsonschema.Draft7Validator.check_schema(
                    schema, format_checker=None)
            except jsonschema.SchemaError as exc:
                expected = (validation.error_message(exc), list(exc.path))
            try:
                validation.check_schema(schema)
            except jsonschema.SchemaError as exc:
                actual = (validation.error_message(exc), list(exc.path))
            self.assertEqual(expected, actual, schema)
