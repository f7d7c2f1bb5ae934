"""The engine's clients of Glance, Nova and Cinder against a service that
never answers (a port on 127.0.0.1 that takes connections and says
nothing)."""


import fixtures
from keystoneauth1 import exceptions as ks_exceptions
import testtools

from image_family_svc.clients import compute
from image_family_svc import conf as conf_mod
from image_family_svc.conf import client_timeout
from image_family_svc import service
from image_family_svc import usage_reconcile
from svc_common import config
from svc_common.tests.fixtures import ports


class TestClientTimeout(testtools.TestCase):

    def test_a_nova_that_never_answers_fails_the_reconciliation(self):
        # keystoneauth1 waits for ever by default: the leader's usage
        # reconciliation waited with it, and every task after it.
        self.useFixture(fixtures.Timeout(30, gentle=True))
        self.useFixture(fixtures.MockPatchObject(
            client_timeout, 'DEFAULT_TIMEOUT', 1))
        conf = config.build_conf(service.SPEC, args=[])
        conf.set_override('auth_type', 'none', 'nova')
        conf.set_override('endpoint_override',
                          self.useFixture(ports.HangingPort()).url, 'nova')
        self.assertEqual(1, conf.nova.timeout)
        nova = usage_reconcile.adapter_from_conf(conf, 'nova', 'compute')
        self.assertRaises(ks_exceptions.ConnectTimeout,
                          compute.servers_of_image, nova, 'img-1')

    def test_every_client_group_has_the_default(self):
        conf = config.build_conf(service.SPEC, args=[])
        shown = dict(conf_mod.list_opts())
        for group in ('glance', 'nova', 'cinder'):
            self.assertEqual(client_timeout.DEFAULT_TIMEOUT,
                             conf[group].timeout, group)
            [opt] = [o for o in shown[group] if o.dest == 'timeout']
            self.assertEqual(client_timeout.DEFAULT_TIMEOUT, opt.default,
                             group)
