"""The openstack driver's stop, with Nova's answers stood in for (a test
double: the real Nova runs in test_real_nova; a conflict that passes is
hard to bring about there on purpose)."""

import testtools

from reaper_svc.drivers import base
from reaper_svc.drivers import openstack


class _Stopping(openstack.OpenStackCloud):
    """Only what stop() uses: the action call and the server's state."""

    STOP_RETRY_SECONDS = 0

    def __init__(self, conflicts, status='ACTIVE'):
        self.conflicts = conflicts
        self.status = status
        self.calls = 0

    def _action(self, server_id, name, body=None):
        self.calls += 1
        if self.calls <= self.conflicts:
            raise base.DriverError('HTTP 409')
        self.status = 'SHUTOFF'

    def server_state(self, server_id):
        return {'status': self.status}


class TestStop(testtools.TestCase):

    def test_a_passing_conflict_is_tried_again(self):
        driver = _Stopping(conflicts=3)
        driver.stop('s1')
        self.assertEqual(4, driver.calls)
        self.assertEqual('SHUTOFF', driver.status)

    def test_already_stopped_is_done(self):
        driver = _Stopping(conflicts=1, status='SHUTOFF')
        driver.stop('s1')
        self.assertEqual(1, driver.calls)

    def test_a_lasting_conflict_is_a_failure(self):
        driver = _Stopping(conflicts=1000)
        self.assertRaises(base.DriverError, driver.stop, 's1')
        self.assertEqual(driver.STOP_ATTEMPTS, driver.calls)

    def test_a_paused_server_is_not_tried_again(self):
        # Nova refuses it for as long as it is paused: twenty tries a
        # second apart only delayed the notice of the other victims.
        driver = _Stopping(conflicts=1000, status='PAUSED')
        self.assertRaises(base.DriverError, driver.stop, 's1')
        self.assertEqual(1, driver.calls)
