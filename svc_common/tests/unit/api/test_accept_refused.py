"""A request whose Accept header does not take JSON, in each service's
real app: ``406 <namespace>.not_acceptable`` saying what the API answers.

Its detail was webob's, "The resource could not be generated that was
acceptable to your browser (content of type text/html." (sic).
"""

import testtools

from svc_common.cmd import all_in_one
from svc_common.tests.fixtures import api as af

EVERYTHING = af.identity(['admin', 'member', 'reader', 'service'],
                         system=True)


class TestAcceptRefused(testtools.TestCase):

    def test_every_service(self):
        for spec in all_in_one.load_specs():
            app = self.useFixture(af.ServiceApp(spec)).app
            for path in ('/', '/v1'):
                for accept in ('text/html', 'application/xml',
                               '*/*;q=0'):
                    resp = app.get(path, status=406, headers=dict(
                        EVERYTHING, Accept=accept))
                    err, = resp.json['errors']
                    self.assertEqual(
                        (spec.namespace + '.not_acceptable',
                         'The API answers in JSON only (application/json), '
                         "which the request's Accept header does not "
                         'take.'),
                        (err['code'], err['detail']),
                        (spec.package, path, accept))
            # The microversion's 406 keeps its own detail.
            resp = app.get('/', status=406, headers={
                'OpenStack-API-Version': '%s 9.99' % spec.service_type})
            self.assertIn('asks for a version this service does not have',
                          resp.json['errors'][0]['detail'])
