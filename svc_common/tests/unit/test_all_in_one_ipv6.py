"""``arbiter-all-in-one --host ::1``.

The local run's servers are IPv4 ones; an IPv6 address, even the
loopback ``::1``, was refused as "--host ::1 is not an address of this
machine", which it is.  (Nothing is bound: the address cannot be.)
"""

import testtools

from limits_svc import service
from svc_common.cmd import all_in_one


class TestIPv6Host(testtools.TestCase):

    def test_ipv6_address_is_named_as_such(self):
        for host in ('::1', 'fe80::1'):
            error = self.assertRaises(all_in_one.StartError,
                                      all_in_one.bind_ports,
                                      [service.SPEC], host, [9870])
            self.assertEqual(
                'cannot listen on %s (for limits). --host %s is an IPv6 '
                'address, and the local run listens on IPv4 only; leave '
                '--host out to listen on 127.0.0.1. Nothing was created.'
                % (host, host), str(error))

    def test_a_name_that_does_not_resolve_is_still_not_an_address(self):
        error = self.assertRaises(all_in_one.StartError,
                                  all_in_one.bind_ports, [service.SPEC],
                                  'no-such-host.invalid', [9870])
        self.assertIn('--host no-such-host.invalid is not an address of '
                      'this machine', str(error))
