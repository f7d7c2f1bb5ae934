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
import testtools

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
