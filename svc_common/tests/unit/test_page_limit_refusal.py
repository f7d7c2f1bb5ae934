"""A list's ``limit`` that is not a count is refused in words.

``GET /v1/projects?limit=abc`` (and every list of every service) said
``Invalid field limit: "abc" does not match "^[0-9]{1,16}$"``.
"""

import testtools

from svc_common.api import validation
from svc_common import errors
from svc_common.schemas import parameter_types


class TestPageLimitRefusal(testtools.TestCase):

    def test_not_a_count(self):
        for value in ('abc', '-1', '1.5', '12345678901234567'):
            error = self.assertRaises(
                errors.BadRequest, validation.validate,
                parameter_types.PAGINATION, {'limit': value})
            self.assertEqual(
                'Invalid field limit: "%s" is not a count written with '
                'ASCII digits (at most 16 of them).' % value, error.detail)
            self.assertEqual('limit', error.extra['field'])

    def test_a_pattern_without_description_keeps_jsonschema_words(self):
        error = self.assertRaises(
            errors.BadRequest, validation.validate,
            {'type': 'object', 'properties': {
                'id': {'type': 'string', 'pattern': '^[a-z]+$'}}},
            {'id': 'A'})
        self.assertEqual('Invalid field id: "A" does not match "^[a-z]+$"',
                         error.detail)
