"""svc_common.isotime: how every service writes a time."""

import datetime

import testtools

from svc_common import isotime


class TestIsoformat(testtools.TestCase):

    def test_whole_seconds_with_z(self):
        self.assertEqual('2024-05-01T12:30:59Z', isotime.isoformat(
            datetime.datetime(2024, 5, 1, 12, 30, 59, 999999)))
        self.assertEqual('2024-05-01T12:30:00Z', isotime.isoformat(
            datetime.datetime(2024, 5, 1, 12, 30)))

    def test_an_aware_time_in_utc(self):
        zone = datetime.timezone(datetime.timedelta(hours=-5))
        self.assertEqual('2024-05-01T17:00:00Z', isotime.isoformat(
            datetime.datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=zone)))

    def test_none(self):
        self.assertIsNone(isotime.isoformat(None))
