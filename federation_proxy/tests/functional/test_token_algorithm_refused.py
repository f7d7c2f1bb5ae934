"""A bearer token whose JOSE header names another algorithm than the
proxy's is refused without repeating the header's value.

``{"alg": null}`` was told "Algorithm None is not accepted." (``true``
"True", ``{"a": null}`` "{'a': None}"): Python's spelling of what the
client sent, repeated however long, and with ``"``, ``\\`` or characters
outside ASCII when the value held them, which RFC 6749 (5.2) and RFC
6750 (3) keep out of an ``error_description``.
"""

import base64
import json
import re

import testtools

from federation_proxy import service
from svc_common.tests.fixtures import api as api_fixture

#: The characters RFC 6749 (5.2) allows in an error_description.
DESCRIPTION = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')


def _part(value):
    return base64.urlsafe_b64encode(
        json.dumps(value).encode()).rstrip(b'=').decode()


class TestTokenAlgorithmRefused(testtools.TestCase):

    def test_algorithm_is_not_repeated(self):
        app = self.useFixture(api_fixture.ServiceApp(service.SPEC)).app
        for alg in (None, True, {'a': None}, 'caf\u00e9"\\', ['x'] * 100,
                    'HS256', 'none'):
            token = '%s.%s.abc' % (_part({'alg': alg, 'typ': 'at+jwt'}),
                                   _part({}))
            resp = app.get('/oidc/userinfo', expect_errors=True,
                           headers={'Authorization': 'Bearer ' + token})
            self.assertEqual(
                (401, 'invalid_token', 'The token is not signed with '
                 'RS256, the only algorithm accepted.'),
                (resp.status_int, resp.json['error'],
                 resp.json['error_description']), alg)
            self.assertTrue(
                DESCRIPTION.fullmatch(resp.json['error_description']))
