"""A write request sent without its body, or with a body that is no
JSON object (``null``, ``true``, ...), to each service.

``curl -X PUT .../v1/allocations/c1`` (the ``-d`` forgotten) was told
"Invalid field (body): None is not of type 'object'": a Python value the
client never sent.  It is told that the request has no body, and what
it takes, by every service (the check is
:func:`svc_common.api.validation.json_body`).  A body of ``null`` was
told the same Python words ("None is not of type 'object'"; ``true``
was "True"): it is told what the body is in JSON's words.
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


class TestMissingBody(testtools.TestCase):

    def test_every_service_says_the_body_is_missing(self):
        specs = {spec.package: spec for spec in all_in_one.load_specs()}
        self.assertEqual(sorted(REQUESTS), sorted(specs))
        for package, (method, path) in sorted(REQUESTS.items()):
            spec = specs[package]
            app = self.useFixture(api_fixture.ServiceApp(spec)).app
            for content_type in (None, 'application/json'):
                headers = dict(EVERYTHING)
                if content_type:
                    headers['Content-Type'] = content_type
                resp = app.request(path, method=method, headers=headers,
                                   expect_errors=True)
                error = resp.json['errors'][0]
                self.assertEqual(
                    (400, spec.namespace + '.invalid_input', '(body)',
                     'Invalid field (body): the request has no body; it '
                     'takes a JSON object.'),
                    (resp.status_int, error['code'], error['field'],
                     error['detail']), (package, content_type))

    def test_every_service_says_what_a_body_that_is_no_object_is(self):
        specs = {spec.package: spec for spec in all_in_one.load_specs()}
        bodies = [(b'null', 'null'), (b'true', 'true'),
                  (b' false\n', 'false'), (b'0', 'a JSON number'),
                  (b'"{}"', 'a JSON string'), (b'[{}]', 'a JSON array')]
        for package, (method, path) in sorted(REQUESTS.items()):
            spec = specs[package]
            app = self.useFixture(api_fixture.ServiceApp(spec)).app
            for raw, said in bodies:
                headers = dict(EVERYTHING,
                               **{'Content-Type': 'application/json'})
                resp = app.request(path, method=method, headers=headers,
                                   body=raw, expect_errors=True)
                error = resp.json['errors'][0]
                self.assertEqual(
                    (400, spec.namespace + '.invalid_input', '(body)',
                     'Invalid field (body): the body is %s; it takes a '
                     'JSON object.' % said),
                    (resp.status_int, error['code'], error['field'],
                     error['detail']), (package, raw))
