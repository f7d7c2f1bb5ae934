"""What a client is told when it asks for a microversion a service
cannot give, in each service's real app.

A version the service does not have (``406``) names the versions it
has and where they are listed; a malformed one (``400``) the form the
header takes.  They said "Unacceptable version header: 9.9" and
"invalid version string: one.two; invalid literal for int() with base
10: 'one'".
"""

import testtools

from svc_common.cmd import all_in_one
from svc_common.tests.fixtures import api as af


class _MicroversionErrorTests(object):
    """Mixed into one ``testtools.TestCase`` per service (``SPEC``)."""

    SPEC = None

    def setUp(self):
        super().setUp()
        self.app = self.useFixture(af.ServiceApp(self.SPEC)).app

    def detail(self, version, status):
        header = '%s %s' % (self.SPEC.service_type, version)
        resp = self.app.get('/', status=status,
                            headers={'OpenStack-API-Version': header})
        err, = resp.json['errors']
        return err['detail']

    def test_unknown_version_names_the_versions_there_are(self):
        st = self.SPEC.service_type
        self.assertEqual(
            'Invalid microversion: OpenStack-API-Version header '
            '"%s 9.99" asks for a version this service does not have; it '
            'supports %s %s to %s (its version document, GET /, lists '
            'them) and "%s latest".' % (st, st, self.SPEC.min_version,
                                        self.SPEC.max_version, st),
            self.detail('9.99', 406))

    def test_malformed_version_names_the_form(self):
        st = self.SPEC.service_type
        for version in ('one.two', '1', '1.0.0', 'LATEST'):
            self.assertEqual(
                'Invalid microversion: OpenStack-API-Version header '
                '"%s %s": expected "%s X.Y" or "%s latest".'
                % (st, version, st, st), self.detail(version, 400))

    def test_header_quoted_as_json_and_shortened(self):
        # It was Python's repr, quoted '...' or "..." by whether the
        # value held an apostrophe, and as long as the header.
        st = self.SPEC.service_type
        self.assertEqual(
            'Invalid microversion: OpenStack-API-Version header '
            '"%s it\'s": expected "%s X.Y" or "%s latest".' % (st, st, st),
            self.detail("it's", 400))
        detail = self.detail('1.' + '0' * 5000, 400)
        self.assertIn('header "%s 1.000' % st, detail)
        self.assertLess(len(detail), 400)


def _make_classes():
    for spec in all_in_one.load_specs():
        name = spec.package.title().replace('_', '')
        cls_name = 'Test%sMicroversionErrors' % name
        globals()[cls_name] = type(
            cls_name, (_MicroversionErrorTests, testtools.TestCase),
            {'SPEC': spec})


_make_classes()
