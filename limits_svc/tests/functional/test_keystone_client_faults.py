"""limits_svc's Keystone client when Keystone hangs.

A port on 127.0.0.1 that takes connections and never answers plays a hung
Keystone; the client is built from a ``[keystone]`` group as
``limits-manage sync`` and ``limits-engine`` build it.
"""

import time

import fixtures
from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg
import testtools

from limits_svc.clients import keystone as keystone_client
from limits_svc.conf import keystone as keystone_conf
from svc_common.tests.fixtures import ports


class TestHungKeystone(testtools.TestCase):

    def test_a_sync_gives_up_after_the_timeout(self):
        # keystoneauth1 waits for ever by default: a sync held the
        # engine's graceful stop (it joins the sync) and its leader lock,
        # or limits-manage sync, as long as Keystone hung.
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.useFixture(fixtures.MockPatchObject(
            keystone_conf, 'DEFAULT_TIMEOUT', 1))
        conf = cfg.ConfigOpts()
        conf([])
        keystone_conf.register_opts(conf)
        conf.set_override('endpoint_override',
                          self.useFixture(ports.HangingPort()).url + '/v3',
                          group=keystone_conf.GROUP)
        self.assertEqual(1, conf[keystone_conf.GROUP].timeout)
        started = time.monotonic()
        self.assertRaises(ks_exc.ConnectTimeout, keystone_client.fetch,
                          keystone_client.adapter_from_conf(conf))
        self.assertLess(time.monotonic() - started, 10)

    def test_the_default_timeout_is_in_the_sample(self):
        [(group, opts)] = keystone_conf.list_opts()
        [timeout] = [opt for opt in opts if opt.dest == 'timeout']
        self.assertEqual(keystone_conf.DEFAULT_TIMEOUT, timeout.default)
