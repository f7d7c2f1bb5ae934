"""A path no service route has is answered with where the paths are
listed, in each service's real app; it said only "The resource could
not be found."."""

import testtools

from svc_common.cmd import all_in_one
from svc_common.tests.fixtures import api as af


class _UnknownPathTests(object):

    SPEC = None

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(af.ServiceApp(self.SPEC)).app

    def test_unknown_path_says_where_paths_are_listed(self):
        for path in ('/v1/no-such-thing', '/v2', '/v1/openapi.yaml'):
            resp = self.app.get(path, headers=af.SYSTEM_READER, status=404)
            err, = resp.json['errors']
            self.assertEqual('%s.not_found' % self.SPEC.namespace,
                             err['code'])
            self.assertEqual(
                'The resource could not be found. GET /v1 lists the '
                'resources of this API, GET /v1/openapi.json every path.',
                err['detail'])


def _make_classes():
    for spec in all_in_one.load_specs():
        name = spec.package.title().replace('_', '')
        cls_name = 'Test%sUnknownPath' % name
        globals()[cls_name] = type(cls_name,
                                   (_UnknownPathTests, testtools.TestCase),
                                   {'SPEC': spec})


_make_classes()
