"""The request guard's form bodies: parsed on the paths a service names
in ``ServiceSpec.form_paths`` only."""

import io

import testtools

from svc_common.api import request_guard
from svc_common.api import validation
from svc_common import errors


class TestFormPaths(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.seen = {}

        def app(environ, start_response):
            self.seen.update(environ)
            return []
        self.guard = request_guard.RequestGuard(app, 1000,
                                                form_paths=('/token',))

    def call(self, path, body, content_type):
        environ = {'PATH_INFO': path, 'REQUEST_METHOD': 'POST',
                   'CONTENT_TYPE': content_type,
                   'CONTENT_LENGTH': str(len(body)),
                   'wsgi.input': io.BytesIO(body)}
        self.guard(environ, lambda *a: None)
        return self.seen

    def test_form_on_a_form_path(self):
        seen = self.call('/token', b'grant_type=x&scope=a+b',
                         request_guard.FORM_TYPE)
        self.assertEqual({'grant_type': 'x', 'scope': 'a b'},
                         seen[request_guard.FORM_BODY_KEY])
        self.assertIsNone(seen[validation.PARSED_BODY_KEY])
        self.assertEqual(request_guard.FORM_TYPE, seen['CONTENT_TYPE'])

    def test_form_elsewhere_is_read_as_json(self):
        error = self.assertRaises(errors.ApiError, self.call, '/other',
                                  b'a=1', request_guard.FORM_TYPE)
        self.assertEqual(400, error.status)

    def test_json_on_a_form_path_is_still_json(self):
        seen = self.call('/token', b'{"a": 1}', 'application/json')
        self.assertEqual({'a': 1}, seen[validation.PARSED_BODY_KEY])
        self.assertIsNone(seen[request_guard.FORM_BODY_KEY])

    def test_hostile_forms_refused(self):
        for body in (b'a=1&a=2', b'a=%00', b'a=%ff', b'\xff=1', b'a',
                     b'&'.join(b'f%d=1' % i for i in range(100))):
            error = self.assertRaises(errors.BadRequest, self.call,
                                      '/token', body,
                                      request_guard.FORM_TYPE)
            self.assertEqual(400, error.status, body)

    def test_a_hostile_field_name_given_twice_is_quoted(self):
        """Quoted as errors.quoted_id quotes a path's ID: the detail
        repeated the name whole, line breaks included."""
        name = b'a%0Ab' + b'x' * 400
        error = self.assertRaises(errors.BadRequest, self.call, '/token',
                                  b'%s=1&%s=2' % (name, name),
                                  request_guard.FORM_TYPE)
        self.assertEqual('Form field "a\\nb%s"... is given more than '
                         'once.' % ('x' * 71), error.detail)

    def test_form_in_another_charset_refused(self):
        for content_type in ('%s; charset=ISO-8859-1',
                             '%s;charset="latin-1"', '%s; charset=utf-16'):
            error = self.assertRaises(errors.ApiError, self.call, '/token',
                                      b'grant_type=x',
                                      content_type % request_guard.FORM_TYPE)
            self.assertEqual(415, error.status, content_type)

    def test_form_in_utf8_taken(self):
        for content_type in ('%s; charset=UTF-8', '%s; charset="utf8"'):
            seen = self.call('/token', b'grant_type=x',
                             content_type % request_guard.FORM_TYPE)
            self.assertEqual({'grant_type': 'x'},
                             seen[request_guard.FORM_BODY_KEY])
