"""A body that is not UTF-8 JSON is told so in the API's words, not in
Python's, by every service.

A byte that is not UTF-8 was "'utf-8' codec can't decode byte 0xff in
position 0: invalid start byte"; a byte order mark "Unexpected UTF-8 BOM
(decode using utf-8-sig)"; an integer of 5000 digits "Exceeds the limit
(4300 digits) for integer string conversion: value has 5000 digits; use
sys.set_int_max_str_digits() to increase the limit".
"""

import testtools

from svc_common.cmd import all_in_one
from svc_common.tests.fixtures import api as api_fixture

#: Passes every policy rule these requests meet.
EVERYTHING = api_fixture.identity(['admin', 'member', 'reader', 'service'],
                                  system=True)

#: package -> (method, path) of a request that takes a JSON object.
REQUESTS = {'limits_svc': ('PUT', '/v1/allocations/c1'),
            'reaper_svc': ('POST', '/v1/plans'),
            'image_family_svc': ('POST', '/v1/families'),
            'federation_proxy': ('POST', '/v1/vos')}

BODIES = [
    (b'{"name": "caf\xe9"}',
     'The body is not UTF-8: byte 0xe9 at offset 13 (invalid continuation '
     'byte).'),
    (b'\xef\xbb\xbf{"name": "x"}',
     'The body is not valid JSON: it begins with a byte order mark '
     '(U+FEFF), which JSON sent over a network must not have.'),
    (b'{"count": ' + b'1' * 5000 + b'}',
     'The body is not valid JSON: number ' + '1' * 37 + '... (5000 digits) '
     'is out of range'),
]


class TestMalformedBodyDetail(testtools.TestCase):

    def test_every_service(self):
        specs = {spec.package: spec for spec in all_in_one.load_specs()}
        self.assertEqual(sorted(REQUESTS), sorted(specs))
        for package, (method, path) in sorted(REQUESTS.items()):
            spec = specs[package]
            app = self.useFixture(api_fixture.ServiceApp(spec)).app
            for raw, detail in BODIES:
                headers = dict(EVERYTHING,
                               **{'Content-Type': 'application/json'})
                resp = app.request(path, method=method, headers=headers,
                                   body=raw, expect_errors=True)
                error = resp.json['errors'][0]
                self.assertEqual(
                    (400, spec.namespace + '.malformed_body', detail),
                    (resp.status_int, error['code'], error['detail']),
                    (package, raw[:20]))
