"""Values quoted by validation errors are spelled as JSON.

A client sends JSON: ``null``, ``true``, ``"abc"``, ``{"a": 1}``.  The
400 quoted them as Python spells them (``None``, ``True``, ``'abc'``,
``{'a': 1}``), since the message was jsonschema's.
"""

import datetime
import types

import jsonschema
import testtools

from image_family_svc.db import members
from image_family_svc import properties_schema
from svc_common.api import validation
from svc_common import errors


def schema_of(field):
    return {'type': 'object', 'properties': {'a': field}}


INTEGER = schema_of({'type': 'integer'})


class TestFieldValues(testtools.TestCase):

    def detail(self, schema, value):
        error = self.assertRaises(errors.BadRequest, validation.validate,
                                  schema, {'a': value})
        return error.detail

    def test_literals(self):
        for value, shown in ((None, 'null'), (True, 'true'),
                             (False, 'false'), ('abc', '"abc"'),
                             ("it's", '"it\'s"'), (1.5, '1.5'),
                             ({'a': 1}, '{"a": 1}'),
                             ([None, True, 'x'], '[null, true, "x"]')):
            self.assertEqual(
                "Invalid field a: %s is not of type 'integer'" % shown,
                self.detail(INTEGER, value))

    def test_non_ascii_is_escaped_as_json_does(self):
        self.assertEqual(
            'Invalid field a: "caf\\u00e9 \\ud83d\\ude00" is not of type '
            "'integer'", self.detail(INTEGER, 'caf\u00e9 \U0001f600'))

    def test_a_long_value_is_shortened(self):
        self.assertEqual(
            'Invalid field a: {"k": ["' + 'x' * 69 + "... is not of type "
            "'integer'", self.detail(INTEGER, {'k': ['x' * 5000]}))

    def test_a_nested_value_in_a_nullable_field(self):
        schema = schema_of({'anyOf': [{'type': 'null'}, {
            'type': 'object', 'properties': {'b': {'type': 'boolean'}}}]})
        error = self.assertRaises(errors.BadRequest, validation.validate,
                                  schema, {'a': {'b': None}})
        self.assertEqual("Invalid field a/b: null is not of type 'boolean'",
                         error.detail)

    def test_keywords_that_quote_the_value(self):
        for field, value, said in (
                ({'type': 'string', 'maxLength': 2}, 'abc',
                 '"abc" is too long'),
                ({'type': 'array', 'minItems': 3}, [None],
                 '[null] is too short'),
                ({'type': 'array', 'uniqueItems': True}, [False, False],
                 '[false, false] has non-unique elements'),
                ({'type': 'object', 'maxProperties': 0}, {'x': None},
                 '{"x": null} is expected to be empty'),
                ({'anyOf': [{'type': 'string'}, {'type': 'integer'}]}, True,
                 'true is not valid under any of the given schemas'),
                ({'enum': ['on', 'off']}, None,
                 'null is not one of ["on", "off"]'),
                ({'const': 'on'}, False, '"on" was expected'),
                ({'not': {'type': 'null'}}, None,
                 'null should not be valid under {"type": "null"}'),
                ({'oneOf': [{'type': 'string'}, {'maxLength': 3},
                            {'type': 'null'}]}, 'x',
                 '"x" is valid under each of {"type": "string"}, '
                 '{"maxLength": 3}'),
                ({'type': 'array', 'contains': {'type': 'null'}},
                 [True, 'x'],
                 'None of [true, "x"] are valid under the given schema'),
                ({'type': 'array', 'items': [{}], 'additionalItems': False},
                 [1, None, True],
                 'Additional items are not allowed (null, true were '
                 'unexpected)')):
            self.assertEqual('Invalid field a: ' + said,
                             self.detail(schema_of(field), value))

    def test_a_false_schema(self):
        error = self.assertRaises(
            errors.BadRequest, validation.validate,
            {'type': 'array', 'items': False}, [None])
        self.assertIn('false schema does not allow null', error.detail)

    def test_schema_words_are_left_as_they_are(self):
        error = self.assertRaises(
            errors.BadRequest, validation.validate,
            {'type': 'object', 'required': ['name']}, {})
        self.assertEqual("Invalid field (body): 'name' is a required "
                         'property', error.detail)

    def test_error_message_of_a_schema_error(self):
        error = self.assertRaises(jsonschema.SchemaError,
                                  validation.Validator.check_schema,
                                  {'type': 'strin'})
        self.assertEqual('"strin" is not valid under any of the given '
                         'schemas', validation.error_message(error))

    def test_future_time(self):
        error = self.assertRaises(errors.BadRequest, validation.future_time,
                                  "it's \u00e9", 'at',
                                  datetime.datetime(2030, 1, 1))
        self.assertEqual('Invalid field at: "it\'s \\u00e9" is not an ISO '
                         '8601 time such as 2030-01-15T00:00:00Z.',
                         error.detail)


class TestJsonText(testtools.TestCase):

    def test_values(self):
        for value, text in ((None, 'null'), (True, 'true'),
                            ('\u00e9\n', '"\\u00e9\\n"'),
                            ({'a': [1, 2.5]}, '{"a": [1, 2.5]}'),
                            ((1, 'x'), '[1, "x"]'),
                            (b'ab\xff', '"ab\\ufffd"'),
                            (float('inf'), 'Infinity')):
            self.assertEqual(text, validation.json_text(value))

    def test_shortened(self):
        self.assertEqual('"' + 'x' * 36 + '...',
                         validation.json_text('x' * 100, 40))
        self.assertEqual('"x"', validation.json_text('x', 3))

    def test_no_json_spelling(self):
        self.assertEqual('a dict value', validation.json_text({(1, 2): 3}))


class TestImagePropertiesRefused(testtools.TestCase):
    """image_family_svc builds its own message from jsonschema's."""

    def test_valid_under_several_schemas_of_a_one_of(self):
        # The schemas listed are those the value is valid under, however
        # they are written: the message was read back from jsonschema's
        # Python text, where {'maxLength': 5} is part of {'not':
        # {'maxLength': 5}}, and where a value may write what follows
        # "is valid under each of".
        one_of = [{'maxLength': 5}, {'not': {'maxLength': 5}},
                  {'type': 'string'}]
        for value in ('abcdefg', "x is valid under each of {'maxLength': 5}"):
            family = types.SimpleNamespace(name='f', properties_schema={
                'type': 'object', 'properties': {'v': {'oneOf': one_of}}})
            error = self.assertRaises(members.PropertiesInvalid,
                                      members.check_properties, family,
                                      {'v': value})
            self.assertEqual(
                'The image does not carry the properties image family f '
                'requires: %s is valid under each of {"not": {"maxLength": '
                '5}}, {"type": "string"}' % validation.json_text(value),
                error.detail)
            error = self.assertRaises(errors.BadRequest, validation.validate,
                                      schema_of({'oneOf': one_of}),
                                      {'a': value})
            self.assertEqual(
                'Invalid field a: %s is valid under each of {"not": '
                '{"maxLength": 5}}, {"type": "string"}'
                % validation.json_text(value), error.detail)

    def test_property_value_in_json(self):
        family = types.SimpleNamespace(name='ubuntu', properties_schema={
            'type': 'object',
            'properties': {'os_distro': {'enum': ['ubuntu', 'debian']}}})
        error = self.assertRaises(members.PropertiesInvalid,
                                  members.check_properties, family,
                                  {'os_distro': 'caf\u00e9'})
        self.assertEqual(
            'The image does not carry the properties image family ubuntu '
            'requires: "caf\\u00e9" is not one of ["ubuntu", "debian"]',
            error.detail)

    def test_reference_to_no_schema(self):
        refused = properties_schema.refusal({
            'definitions': {'x': {'type': 'strin'}},
            'properties': {'a': {'$ref': '#/definitions/x'}}})
        self.assertIsNotNone(refused)
        self.assertIn('"strin" is not valid under any of the given schemas',
                      refused[1])
