"""The pieces of request validation: body parsing, schema semantics,
the request guard and the shared parameter types."""

import datetime
import io
from unittest import mock
import urllib.parse

import testtools
import webob.multidict

from svc_common.api import request_guard
from svc_common.api import validation
from svc_common import errors
from svc_common.schemas import parameter_types as types


class TestParseJson(testtools.TestCase):

    def assertRefused(self, raw, code, field=None):
        exc = self.assertRaises(errors.BadRequest, validation.parse_json,
                                raw)
        self.assertEqual(code, exc.code)
        if field is not None:
            self.assertEqual(field, exc.extra['field'])
        return exc

    def test_plain_json(self):
        self.assertEqual({'a': [1, 'b', None, 2.5]},
                         validation.parse_json(b'{"a": [1, "b", null, 2.5]}'))

    def test_empty_body_is_none(self):
        self.assertIsNone(validation.parse_json(b''))

    def test_deep_nesting_beyond_the_stack(self):
        exc = self.assertRefused(b'[' * 100000 + b']' * 100000,
                                 'malformed_body')
        self.assertIn('nested', exc.detail)

    def test_deep_nesting_within_the_stack(self):
        depth = validation.MAX_DEPTH + 1
        self.assertRefused(b'{"a":' * depth + b'1' + b'}' * depth,
                           'invalid_input')

    def test_nesting_at_the_limit(self):
        depth = validation.MAX_DEPTH
        self.assertIsNotNone(validation.parse_json(b'[' * depth +
                                                   b']' * depth))

    def test_nul_in_a_value_names_the_field(self):
        exc = self.assertRefused(b'{"a": {"b": ["x", "y\\u0000"]}}',
                                 'invalid_input', 'a/b/1')
        self.assertIn('NUL', exc.detail)

    def test_nul_in_a_member_name(self):
        self.assertRefused(b'{"a": {"b\\u0000": 1}}', 'invalid_input', 'a')

    def test_lone_surrogates(self):
        for raw in (b'{"n": "\\ud800"}', b'{"n": "x\\udfff"}',
                    b'{"n": "\\udc00\\ud800"}'):
            exc = self.assertRefused(raw, 'invalid_input', 'n')
            self.assertIn('surrogate', exc.detail)

    def test_surrogate_pair_is_one_character(self):
        self.assertEqual({'n': '\U0001f600'},
                         validation.parse_json(b'{"n": "\\ud83d\\ude00"}'))

    def test_utf8_only(self):
        exc = self.assertRefused(b'{"n": "\xff"}', 'malformed_body')
        # Not Python's "'utf-8' codec can't decode byte 0xff in position
        # 7: invalid start byte".
        self.assertEqual('The body is not UTF-8: byte 0xff at offset 7 '
                         '(invalid start byte).', exc.detail)
        self.assertRefused(b'{"n": "\xed\xa0\x80"}', 'malformed_body')
        self.assertRefused('{"n": 1}'.encode('utf-16'), 'malformed_body')

    def test_non_json_numbers(self):
        for raw in (b'NaN', b'[Infinity]', b'{"a": -Infinity}',
                    b'{"a": 1e400}', b'{"a": -1e400}'):
            self.assertRefused(raw, 'malformed_body')

    def test_huge_integer_literal(self):
        exc = self.assertRefused(b'[' + b'9' * 5000 + b']', 'malformed_body')
        # Python's "Exceeds the limit (4300 digits) for integer string
        # conversion ...; use sys.set_int_max_str_digits() ..." is not
        # the client's business.
        self.assertEqual('The body is not valid JSON: number ' + '9' * 37 +
                         '... (5000 digits) is out of range', exc.detail)

    def test_integer_too_large_for_a_float(self):
        # As a float literal is (the API reference says so of both).
        exc = self.assertRefused(b'{"a": -' + b'9' * 309 + b'}',
                                 'malformed_body')
        self.assertIn('(309 digits) is out of range', exc.detail)
        self.assertEqual({'a': 10 ** 308},
                         validation.parse_json(b'{"a": 1' + b'0' * 308 + b'}'))

    def test_integers_of_every_request_parsed_by_json(self):
        # Integers go through a Python function only in a body with 309
        # digits in a row: three calls per integer were a cost of every
        # request (tools/request_path_profile.py counts them).
        body = (b'{"project_id": "p1", "resources": {"cores": 1, "ram": '
                b'512}, "x": "' + b'9' * 308 + b'", "y": 1e5}')
        with mock.patch.object(validation, '_finite_integer',
                               side_effect=AssertionError):
            self.assertEqual({'cores': 1, 'ram': 512},
                             validation.parse_json(body)['resources'])
        # Digits in a string, too, only make them go through it.
        self.assertEqual(
            {'x': '9' * 309, 'y': 1},
            validation.parse_json(b'{"x": "' + b'9' * 309 + b'", "y": 1}'))

    def test_byte_order_mark_with_a_long_integer(self):
        exc = self.assertRefused(b'\xef\xbb\xbf[' + b'9' * 400 + b']',
                                 'malformed_body')
        self.assertIn('byte order mark', exc.detail)

    def test_byte_order_mark(self):
        # Python's message said "decode using utf-8-sig".
        exc = self.assertRefused(b'\xef\xbb\xbf{}', 'malformed_body')
        self.assertEqual('The body is not valid JSON: it begins with a byte '
                         'order mark (U+FEFF), which JSON sent over a '
                         'network must not have.', exc.detail)

    def test_duplicate_keys(self):
        exc = self.assertRefused(b'{"id": "a", "x": {"k": 1, "k": 2}}',
                                 'malformed_body')
        self.assertIn('"k"', exc.detail)


class TestValidator(testtools.TestCase):

    def assertInvalid(self, schema, data, field=None):
        exc = self.assertRaises(errors.BadRequest, validation.validate,
                                schema, data)
        self.assertEqual('invalid_input', exc.code)
        if field is not None:
            self.assertEqual(field, exc.extra['field'])
        return exc

    def test_a_write_only_value_is_not_repeated(self):
        # A secret the schema refused was repeated in the 400 (and so in
        # the CLI's error, without --debug).
        schema = {'type': 'object', 'properties': {
            'secret': dict(types.nullable({
                'type': 'string', 'pattern': '^[\\x21-\\x7e]+$'}),
                writeOnly=True),
            'name': {'type': 'string', 'pattern': '^[a-z]+$'}}}
        exc = self.assertInvalid(schema, {'secret': 'S3CRET VALUE'},
                                 'secret')
        self.assertNotIn('S3CRET', str(exc))
        self.assertIn('pattern', str(exc))
        exc = self.assertInvalid(schema, {'secret': 42}, 'secret')
        self.assertNotIn('42', str(exc))
        # Other fields are still quoted.
        exc = self.assertInvalid(schema, {'name': 'Bob'}, 'name')
        self.assertIn('"Bob"', str(exc))

    def test_dollar_is_the_end_of_input(self):
        for bad in ('x\n', 'x\r\n', '\nx', 'x\n\n', ''):
            self.assertInvalid(types.ID, bad)
        validation.validate(types.ID, 'vm-1:a@b.c_d')

    def test_dollar_inside_a_class_and_escaped(self):
        schema = {'type': 'string', 'pattern': '^[$]\\$x$'}
        validation.validate(schema, '$$x')
        self.assertInvalid(schema, '$$x\n')

    def test_pattern_properties_and_additional_properties(self):
        schema = {'type': 'object', 'patternProperties': {'^a$': {
            'type': 'integer'}}, 'additionalProperties': False}
        validation.validate(schema, {'a': 1})
        self.assertInvalid(schema, {'a\n': 1})
        self.assertInvalid(schema, {'a': 'x'}, 'a')

    def test_additional_properties_schema(self):
        schema = {'type': 'object', 'properties': {'k': {}},
                  'additionalProperties': types.AMOUNT}
        validation.validate(schema, {'k': 'anything', 'n': 3})
        self.assertInvalid(schema, {'n': 3.0}, 'n')

    def test_digits_are_ascii(self):
        schema = {'type': 'string', 'pattern': '^\\d+$'}
        validation.validate(schema, '123')
        self.assertInvalid(schema, '\u0661\u0662')

    def test_integer_means_an_integer_literal(self):
        for bad in (5.0, -0.0, 1e18, True, '5', None):
            self.assertInvalid(types.AMOUNT, bad)
        for good in (0, 5, types.MAX_SAFE_INTEGER):
            validation.validate(types.AMOUNT, good)

    def test_amount_is_a_safe_integer(self):
        exc = self.assertInvalid({'type': 'object', 'properties': {
            'resources': {'additionalProperties': types.AMOUNT}}},
            {'resources': {'cores': 2 ** 53}}, 'resources/cores')
        self.assertIn('resources/cores', exc.detail)
        self.assertInvalid(types.AMOUNT, -1)

    def test_limit_value(self):
        for good in (-1, 0, types.MAX_SAFE_INTEGER):
            validation.validate(types.LIMIT_VALUE, good)
        for bad in (-2, types.MAX_SAFE_INTEGER + 1, -1.0):
            self.assertInvalid(types.LIMIT_VALUE, bad)

    def test_name_refuses_control_characters(self):
        validation.validate(types.NAME, 'Research cloud: é ü 研究')
        for bad in ('a\n', 'a\t', 'a\x7f', 'a\x85', 'x' * 256):
            self.assertInvalid(types.NAME, bad)

    def test_description_may_span_lines(self):
        validation.validate(types.DESCRIPTION, 'one\ntwo')
        validation.validate(types.DESCRIPTION, None)
        self.assertInvalid(types.DESCRIPTION, 'x' * 2049)

    def test_id_with_another_character_set(self):
        schema = types.id_string('a-z/', max_length=3)
        validation.validate(schema, 'a/b')
        self.assertInvalid(schema, 'a/b\n')
        self.assertInvalid(schema, 'abcd')

    def test_detail_of_a_huge_value_is_short(self):
        exc = self.assertInvalid(types.ID, 'x' * 100000)
        self.assertLess(len(exc.detail), 400)


class TestFutureTime(testtools.TestCase):

    NOW = datetime.datetime(2030, 1, 1, 12, 0, 0)

    def refusal(self, text):
        error = self.assertRaises(errors.BadRequest, validation.future_time,
                                  text, 'deadline', self.NOW)
        self.assertEqual('deadline', error.extra['field'])
        self.assertEqual('invalid_input', error.code)
        return error.detail

    def test_times_become_naive_utc(self):
        for text, expected in [
                ('2030-01-01T12:00:01',
                 datetime.datetime(2030, 1, 1, 12, 0, 1)),
                ('2030-01-01T12:00:01Z',
                 datetime.datetime(2030, 1, 1, 12, 0, 1)),
                ('2030-01-01T14:00:01+02:00',
                 datetime.datetime(2030, 1, 1, 12, 0, 1)),
                ('9999-12-31T23:59:59Z',
                 datetime.datetime(9999, 12, 31, 23, 59, 59))]:
            self.assertEqual(expected, validation.future_time(
                text, 'deadline', self.NOW), text)

    def test_not_iso_8601(self):
        self.assertIn('is not an ISO 8601 time', self.refusal('tomorrow'))

    def test_outside_the_years_1_to_9999_in_utc(self):
        for text in ('9999-12-31T23:59:59-14:00',
                     '0001-01-01T00:00:00+14:00'):
            self.assertIn('is not a time between the years 1 and 9999 in '
                          'UTC', self.refusal(text))

    def test_now_and_the_past_are_refused(self):
        for text in ('2030-01-01T12:00:00', '2030-01-01T13:00:00+01:00',
                     '2001-01-01T00:00:00Z'):
            self.assertIn('is not in the future', self.refusal(text))

    def test_a_long_value_is_shortened_in_the_message(self):
        message = self.refusal('x' * 10000)
        self.assertLess(len(message), 200)


class TestPage(testtools.TestCase):

    def params(self, **kwargs):
        return webob.multidict.MultiDict(kwargs)

    def test_defaults_and_cap(self):
        self.assertEqual((50, None), validation.page(self.params(), 50))
        self.assertEqual((50, 'm'), validation.page(
            self.params(limit='1000', marker='m'), 50))

    def test_limit_is_ascii_digits(self):
        for bad in ('\u0665', ' 5', '+5', '1_0', '5.0', '0x10', '1' * 17,
                    '-1', '0'):
            exc = self.assertRaises(errors.BadRequest, validation.page,
                                    self.params(limit=bad), 50)
            self.assertEqual('limit', exc.extra['field'])

    def test_marker_refuses_control_characters(self):
        exc = self.assertRaises(errors.BadRequest, validation.page,
                                self.params(marker='a\n'), 50)
        self.assertEqual('marker', exc.extra['field'])

    def test_next_link_is_encoded(self):
        links = validation.links_for_page(
            [{'id': 'a:b@c'}], 1, 'id', '/v1/x', {'name': 'a&limit=9'})
        self.assertEqual('/v1/x?limit=1&marker=a:b@c&name=a%26limit%3D9',
                         links[0]['href'])


def _environ(path='/v1/x', query='', body=b'', content_type=None,
             **extra):
    environ = {'PATH_INFO': path, 'QUERY_STRING': query,
               'REQUEST_METHOD': 'POST', 'wsgi.input': io.BytesIO(body)}
    if body:
        environ['CONTENT_LENGTH'] = str(len(body))
    if content_type is not None:
        environ['CONTENT_TYPE'] = content_type
    environ.update(extra)
    return environ


class TestRequestGuard(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.seen = []
        self.guard = request_guard.RequestGuard(self._app, 1000)

    def _app(self, environ, start_response):
        self.seen.append(environ)
        return [b'ok']

    def call(self, environ):
        return self.guard(environ, None)

    def refused(self, environ, status=400):
        exc = self.assertRaises(errors.ApiError, self.call, environ)
        self.assertEqual(status, exc.status)
        self.assertEqual([], self.seen)
        return exc

    def test_passes_a_json_body_parsed_and_readable(self):
        self.call(_environ(body=b'{"a": 1}', content_type='application/json'))
        environ = self.seen[0]
        self.assertEqual({'a': 1}, environ[validation.PARSED_BODY_KEY])
        self.assertEqual(b'{"a": 1}', environ['wsgi.input'].read())

    def test_path(self):
        self.refused(_environ(path='/v1/x/\x00'))
        self.refused(_environ(path='/v1/x/\xff'))
        self.refused(_environ(path='/v1/x/\xed\xa0\x80'))
        self.call(_environ(path='/v1/x/\xc3\xa9'))

    def test_query(self):
        exc = self.refused(_environ(query='marker=%00'))
        self.assertEqual('marker', exc.extra['field'])
        self.refused(_environ(query='%00=1'))
        self.refused(_environ(query='a=%ff'))
        for query in ('_method=delete', 'a=1;_method=delete',
                      'a=1&_method=PATCH'):
            exc = self.refused(_environ(query=query))
            self.assertEqual('_method', exc.extra['field'])

    def test_a_query_parameter_given_twice(self):
        for query in ('limit=1&limit=500', 'limit=1&limit=1',
                      'marker=a;marker=b', 'a=1&limit=2&b=&limit=3'):
            exc = self.refused(_environ(query=query))
            self.assertEqual('limit' if 'limit' in query else 'marker',
                             exc.extra['field'])
            self.assertIn('more than once', str(exc))

    def test_a_hostile_query_parameter_name_is_quoted(self):
        """A name given twice, or whose value holds a NUL character, is
        quoted as errors.quoted_id quotes a path's ID: the detail
        repeated it whole, line breaks and escape sequences included."""
        name = urllib.parse.quote('a\nb\x1b[2J' + 'x' * 4990)
        for query, detail in (
                ('%s=1&%s=2' % (name, name), 'is given more than once.'),
                ('%s=%%00' % name, 'contains a NUL character.')):
            exc = self.refused(_environ(query=query))
            self.assertEqual('Query parameter "a\\nb\\u001b[2J%s"... %s'
                             % ('x' * 62, detail), exc.detail)
        exc = self.refused(_environ(query='limit=1&limit=2'))
        self.assertEqual('Query parameter "limit" is given more than '
                         'once.', exc.detail)
        self.call(_environ(query='limit=1&marker=a&Limit=2'))
        self.assertEqual(1, len(self.seen))

    def test_media_types(self):
        for content_type in ('text/plain', 'application/xml',
                             'multipart/form-data; boundary=x',
                             'application/json; charset=latin-1'):
            self.refused(_environ(body=b'{}', content_type=content_type),
                         415)
        for content_type in (None, 'application/x-www-form-urlencoded',
                             'application/json; charset=UTF-8',
                             'Application/JSON'):
            self.call(_environ(body=b'{}', content_type=content_type))
            self.assertEqual('application/json'
                             if content_type is None or 'form' in
                             content_type else content_type,
                             self.seen[-1]['CONTENT_TYPE'])

    def test_content_encoding(self):
        for encoding in ('gzip', 'deflate', 'br', 'gzip, identity'):
            exc = self.refused(_environ(body=b'{}',
                                        HTTP_CONTENT_ENCODING=encoding), 415)
            self.assertIn('Content-Encoding', str(exc))
        for encoding in ('identity', 'Identity', ''):
            self.call(_environ(body=b'{}', HTTP_CONTENT_ENCODING=encoding))
        # Without a body, there is nothing encoded.
        self.call(_environ(HTTP_CONTENT_ENCODING='gzip'))
        self.assertEqual(4, len(self.seen))

    def test_size(self):
        self.refused(_environ(body=b'[' + b'1,' * 600 + b'1]'), 413)
        exc = self.refused(_environ(body=b'{}', CONTENT_LENGTH='-5'))
        self.assertIn('not "-5".', str(exc))
        self.refused(_environ(body=b'{}', CONTENT_LENGTH='x'))
        # Digits to str.isdigit(), not to int(): a ValueError (a 500).
        for length, shown in (('\u00b2', '"\\u00b2"'),
                              ('1\u00b9', '"1\\u00b9"')):
            exc = self.refused(_environ(body=b'{}', CONTENT_LENGTH=length))
            self.assertIn('not %s.' % shown, str(exc))
        self.refused(_environ(body=b'{}', CONTENT_LENGTH='5'))
        # More digits than int() converts (4300): its ValueError was a
        # 500; it is a body larger than any, leading zeros apart.
        exc = self.refused(_environ(body=b'{}', CONTENT_LENGTH='9' * 5000),
                           413)
        self.assertIn('larger than 1000 bytes', str(exc))
        self.refused(_environ(body=b'{}', CONTENT_LENGTH='1' + '0' * 20),
                     413)
        self.call(_environ(body=b'{}', CONTENT_LENGTH='0' * 5000 + '2'))
        self.assertEqual(b'{}', self.seen[0]['wsgi.input'].read())

    def test_chunked(self):
        body = b'{"a": 1}'
        self.refused(_environ(HTTP_TRANSFER_ENCODING='chunked',
                              **{'wsgi.input': io.BytesIO(body)}), 411)
        self.call(_environ(HTTP_TRANSFER_ENCODING='chunked',
                           **{'wsgi.input': io.BytesIO(body),
                              'wsgi.input_terminated': True}))
        self.assertEqual({'a': 1}, self.seen.pop()[validation.PARSED_BODY_KEY])
        self.refused(_environ(HTTP_TRANSFER_ENCODING='chunked',
                              **{'wsgi.input': io.BytesIO(b' ' * 1001),
                                 'wsgi.input_terminated': True}), 413)

    def test_hostile_bodies(self):
        self.refused(_environ(body=b'[' * 900))
        self.refused(_environ(body=b'{"a": "\\u0000"}'))
