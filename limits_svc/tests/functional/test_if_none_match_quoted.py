"""A malformed ``If-None-Match`` is quoted as JSON in its 400.

It was Python's repr: ``'5'``, or ``"it's"`` for a value holding an
apostrophe.
"""

from limits_svc.tests.functional import base
from svc_common.tests.fixtures import api as af


class TestIfNoneMatchQuoted(base.LimitsApiTestCase):

    def test_detail_quotes_the_header_as_json(self):
        self.tree()
        self.allocate('vm-1', 'leaf', cores=2)
        for value, shown in (('5', '"5"'), ("it's", '"it\'s"'),
                             ('x' * 500, '"' + 'x' * 76 + '...')):
            error = self.app.get(
                '/v1/allocations/vm-1', status=400,
                headers=dict(af.SERVICE, **{'If-None-Match': value})
            ).json['errors'][0]
            self.assertEqual(
                'Invalid header If-None-Match: %s is neither * nor a '
                'comma-separated list of ETags such as "5", W/"5".' % shown,
                error['detail'])
