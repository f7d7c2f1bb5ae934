"""The OIDC provider's form endpoints and the charset of a form body.

Form fields are read as UTF-8; a form body declared in another charset
is refused with a 415 on every form path.  It was a 500: webob, through
which pecan reads the fields again, raises on any charset but UTF-8.
"""

from federation_proxy.oidc import endpoints
from federation_proxy.tests.functional import base


class TestFormCharsets(base.FederationTestCase):

    def test_every_form_path_refuses_another_charset(self):
        for path in endpoints.FORM_PATHS:
            resp = self.app.post(
                path, 'grant_type=authorization_code&code=x',
                headers={'Content-Type': 'application/x-www-form-urlencoded;'
                                         ' charset=ISO-8859-1'},
                expect_errors=True)
            self.assertEqual(415, resp.status_int, (path, resp.body))
            self.assertIn('UTF-8', resp.json['errors'][0]['detail'])

    def test_utf8_form_is_read(self):
        resp = self.app.post(
            endpoints.TOKEN, 'grant_type=authorization_code&code=x',
            headers={'Content-Type': 'application/x-www-form-urlencoded; '
                                     'charset=UTF-8'},
            expect_errors=True)
        # Read as form fields: the OAuth error of an unknown client.
        self.assertEqual(401, resp.status_int, resp.body)
        self.assertEqual('invalid_client', resp.json['error'])
