"""A time that is not ISO 8601 is refused with an example of one.

``openstack image state set <image> deprecated --at tomorrow`` said
"Invalid field at: 'tomorrow' is not an ISO 8601 time." and no more.
"""

import datetime

import testtools

from svc_common.api import validation
from svc_common import errors


class TestNotIso8601(testtools.TestCase):

    def test_refusal_shows_an_accepted_time(self):
        now = datetime.datetime(2030, 1, 1)
        error = self.assertRaises(errors.BadRequest, validation.future_time,
                                  'tomorrow', 'at', now)
        self.assertEqual('Invalid field at: "tomorrow" is not an ISO 8601 '
                         'time such as 2030-01-15T00:00:00Z.', error.detail)
        # The example is one the same check takes.
        self.assertEqual(datetime.datetime(2030, 1, 15),
                         validation.future_time('2030-01-15T00:00:00Z', 'at',
                                                now))
