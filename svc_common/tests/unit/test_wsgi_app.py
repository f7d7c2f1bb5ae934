"""The API's notifier comes from the one factory, :mod:`bus`."""

import fixtures
import testtools

from limits_svc import service
from svc_common import config
from svc_common.messaging import bus
from svc_common.messaging import routing_notifier
from svc_common import wsgi_app


class TestApplicationNotifier(testtools.TestCase):

    def _conf(self, **notifications):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = config.build_conf(service.SPEC, overrides={
            (None, 'state_path'): tmp, ('api', 'auth_strategy'): 'noauth'})
        for name, value in notifications.items():
            conf.set_override(name, value,
                              group='oslo_messaging_notifications')
        return conf

    def test_publisher_is_prog_and_host(self):
        self.assertEqual('limits.host1',
                         bus.publisher_id(service.SPEC, 'host1'))

    def test_unusable_routing_file_stops_the_api_at_start(self):
        # Before, the API built its own notifier, which only logged this
        # and then dropped every notification.
        conf = self._conf(driver=[routing_notifier.DRIVER_NAME],
                          transport_url='fake://')
        routing_notifier.register_opts(conf)
        conf.set_override('routing_config', '/nonexistent/routes.yaml',
                          group=routing_notifier.GROUP_NAME)
        exc = self.assertRaises(routing_notifier.RoutingConfigError,
                                wsgi_app.make_application, service.SPEC,
                                conf)
        self.assertIn('/nonexistent/routes.yaml', str(exc))

    def test_no_driver_builds_an_app(self):
        self.assertIsNotNone(wsgi_app.make_application(service.SPEC,
                                                       self._conf()))

    def test_api_drops_a_notification_after_one_retry_by_default(self):
        # oslo.messaging's default (-1) held a request while the broker
        # was down; an operator's own value still wins.
        conf = self._conf()
        wsgi_app.make_application(service.SPEC, conf)
        self.assertEqual(wsgi_app.API_NOTIFICATION_RETRY,
                         conf.oslo_messaging_notifications.retry)
        conf = self._conf(retry=-1)
        wsgi_app.make_application(service.SPEC, conf)
        self.assertEqual(-1, conf.oslo_messaging_notifications.retry)
