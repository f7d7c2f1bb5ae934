"""arbiter-all-in-one warns when --host is not a loopback address.

The local run trusts identity headers (noauth); ``--host 0.0.0.0`` gave
every machine that reaches the ports a cloud administrator's powers, and
only the user guide said so.
"""

import testtools

from svc_common.cmd import all_in_one


class TestExposureWarning(testtools.TestCase):

    def test_loopback_addresses_are_quiet(self):
        for host in ('127.0.0.1', '127.0.0.2', '::1', 'localhost'):
            self.assertIsNone(all_in_one.exposure_warning(host), host)

    def test_any_other_address_warns(self):
        for host in ('0.0.0.0', '::', '192.0.2.10', 'myhost.example.org'):
            warning = all_in_one.exposure_warning(host)
            self.assertIsNotNone(warning, host)
            self.assertIn('listening on %s with noauth' % host, warning)
            self.assertIn('127.0.0.1', warning)
