"""A field of a request body given a value of the wrong type, to each
service: the 400 quotes the value as the client sent it, in JSON.

``{"expires_in": null}`` was told "None is not of type 'integer'",
``true`` "True", ``"1h"`` "'1h'" and ``{"é": null}`` "{'é': None}":
Python's spelling of values the client never wrote so (the message was
jsonschema's; see :func:`svc_common.api.validation.error_message`).
"""

import json

import testtools

from svc_common.cmd import all_in_one
from svc_common.tests.fixtures import api as api_fixture

#: Passes every policy rule these requests meet.
EVERYTHING = api_fixture.identity(['admin', 'member', 'reader', 'service'],
                                  system=True)

#: package -> (method, path, [(body, field, detail after the field)]).
REQUESTS = {
    'limits_svc': ('PUT', '/v1/allocations/c1', [
        ({'project_id': 'p1', 'resources': {'VCPU': 1}, 'expires_in': '1h'},
         'expires_in', '"1h" is not of type \'integer\''),
        ({'project_id': 'p1', 'resources': {'VCPU': True}},
         'resources/VCPU', 'true is not of type \'integer\''),
        ({'project_id': None, 'resources': {}},
         'project_id', 'null is not of type \'string\''),
    ]),
    'reaper_svc': ('POST', '/v1/plans', [
        ({'flavor': 'm1', 'count': '2'},
         'count', '"2" is not of type \'integer\''),
        ({'flavor': 'm1', 'aggregates': [{'a': 1}]},
         'aggregates/0', '{"a": 1} is not of type \'string\''),
        # A flavor or resources: not both.
        ({'flavor': 'm1', 'resources': {'VCPU': 1}},
         '(body)', '{"flavor": "m1", "resources": {"VCPU": 1}} is valid '
         'under each of {"required": ["flavor"]}, {"required": '
         '["resources"]}'),
    ]),
    'image_family_svc': ('POST', '/v1/families', [
        ({'name': 'f', 'keep_superseded': False},
         'keep_superseded', 'false is not of type \'integer\''),
        ({'name': 'f', 'description': {'caf\u00e9': None}},
         'description', '{"caf\\u00e9": null} is not of type \'string\''),
        # The family's own schema, checked against the meta-schema.
        ({'name': 'f', 'properties_schema': {'type': 'strin'}},
         'properties_schema', 'not a JSON schema: "strin" is not valid '
         'under any of the given schemas'),
    ]),
    'federation_proxy': ('POST', '/v1/vos', [
        ({'name': 'v', 'managers': [None]},
         'managers/0', 'null is not of type \'string\''),
        ({'name': 'v', 'managers': [], 'description': ['x' * 200]},
         'description', '["' + 'x' * 75 + '... is not of type \'string\''),
    ]),
}


class TestFieldValuesInJson(testtools.TestCase):

    def assertQuotedInJson(self, package):
        specs = {spec.package: spec for spec in all_in_one.load_specs()}
        spec = specs[package]
        method, path, cases = REQUESTS[package]
        app = self.useFixture(api_fixture.ServiceApp(spec)).app
        for body, field, said in cases:
            headers = dict(EVERYTHING, **{'Content-Type': 'application/json'})
            resp = app.request(path, method=method, headers=headers,
                               body=json.dumps(body).encode(),
                               expect_errors=True)
            error = resp.json['errors'][0]
            self.assertEqual(
                (400, spec.namespace + '.invalid_input', field,
                 'Invalid field %s: %s' % (field, said)),
                (resp.status_int, error['code'], error['field'],
                 error['detail']), body)

    def test_every_service_is_here(self):
        self.assertEqual(sorted(REQUESTS), sorted(
            spec.package for spec in all_in_one.load_specs()))

    def test_limits(self):
        self.assertQuotedInJson('limits_svc')

    def test_reaper(self):
        self.assertQuotedInJson('reaper_svc')

    def test_image_family(self):
        self.assertQuotedInJson('image_family_svc')

    def test_image_properties_a_family_refuses(self):
        # image_family_svc builds this message from jsonschema's.
        specs = {spec.package: spec for spec in all_in_one.load_specs()}
        app = self.useFixture(api_fixture.ServiceApp(
            specs['image_family_svc'])).app
        headers = dict(EVERYTHING, **{'Content-Type': 'application/json'})
        family = {'name': 'linux', 'properties_schema': {
            'type': 'object',
            'properties': {'os_distro': {'enum': ['centos', 'debian']},
                           'os_version': {'type': 'string'}}}}
        app.post_json('/v1/families', family, headers=headers)
        for properties, field, said in (
                ({'os_distro': 'caf\u00e9', 'os_version': '7'},
                 'properties/os_distro',
                 '"caf\\u00e9" is not one of ["centos", "debian"]'),
                ({'os_distro': 'centos', 'os_version': None},
                 'properties/os_version',
                 "null is not of type 'string'")):
            resp = app.post_json('/v1/families/linux/images',
                                 {'image_id': 'img-1',
                                  'properties': properties},
                                 headers=headers, expect_errors=True)
            error = resp.json['errors'][0]
            self.assertEqual(
                (400, 'image_family.invalid_properties', field,
                 'The image does not carry the properties image family '
                 'linux requires: ' + said),
                (resp.status_int, error['code'], error['field'],
                 error['detail']))

    def test_federation_proxy(self):
        self.assertQuotedInJson('federation_proxy')
