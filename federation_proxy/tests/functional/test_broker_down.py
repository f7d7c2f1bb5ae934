"""The federation API while its RabbitMQ is down, and after it is back.

The API announces every membership change on the bus once the change is
committed (``federation.membership.*``).  Built as a deployment builds it
(:func:`svc_common.wsgi_app.make_application`, the ``messagingv2``
driver) on a private broker: with the broker stopped, a change must
still be answered (its announcement is dropped and logged) instead of
holding the request and its WSGI worker until the broker is back; once
the broker is back, announcements flow again.
"""

import threading
import time

import fixtures
import testtools
import webtest

from federation_proxy import service
from federation_proxy.tests.functional import base
from svc_common import config
from svc_common.db import migration
from svc_common.messaging import bus
from svc_common.tests.fixtures import notifications
from svc_common.tests.fixtures import rabbitmq
from svc_common import wsgi_app

#: Longer than a change takes with the broker down (about 3 s: a
#: connection attempt, one retry, then the announcement is dropped).
ANSWER_WITHIN = 20


class TestBrokerDown(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = self.useFixture(rabbitmq.RabbitMQ(name='fed-down'))
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = config.build_conf(service.SPEC, overrides={
            (None, 'state_path'): tmp, ('api', 'auth_strategy'): 'noauth',
            (None, 'transport_url'): self.broker.url,
            ('oslo_messaging_notifications', 'driver'): ['messagingv2']})
        migration.upgrade(service.SPEC, conf.database.connection)
        self.useFixture(fixtures.MonkeyPatch(
            'svc_common.messaging.bus.get_notification_transport',
            self._closed_at_cleanup(bus.get_notification_transport)))
        self.app = webtest.TestApp(wsgi_app.make_application(service.SPEC,
                                                             conf))
        self.capture = self.useFixture(notifications.NotificationCapture(
            self.broker.url, ['notifications'], exchange='openstack'))
        for user_id in ('bob', 'carol'):
            self.app.post_json('/v1/users', {
                'id': user_id, 'issuer': 'https://idp.example.org',
                'subject': user_id}, headers=base.ADMIN)
        self.vo = self.app.post_json('/v1/vos', {
            'name': 'astro', 'managers': []}, headers=base.ADMIN).json[
                'vo']['id']

    def _closed_at_cleanup(self, make_transport):
        """``make_transport``, whose transports are cleaned up when the
        test ends: the app's notifier's connection would otherwise retry
        the stopped broker from its heartbeat thread for the rest of the
        test run."""
        def make(*args, **kwargs):
            transport = make_transport(*args, **kwargs)
            self.addCleanup(transport.cleanup)
            return transport
        return make

    def _add(self, user_id):
        """``(status, seconds)`` of adding ``user_id`` to the VO, or None
        when the request is still running after :data:`ANSWER_WITHIN`."""
        answers = []

        def add():
            began = time.monotonic()
            resp = self.app.post_json(
                '/v1/vos/%s/memberships' % self.vo,
                {'user_id': user_id, 'role': 'member'}, headers=base.ADMIN,
                expect_errors=True)
            answers.append((resp.status_int, time.monotonic() - began))

        thread = threading.Thread(target=add, daemon=True)
        thread.start()
        thread.join(ANSWER_WITHIN)
        return answers[0] if answers else None

    def _announced(self, user_id, timeout=60):
        return self.capture.wait_for(
            lambda m: m.event_type == 'federation.membership.create' and
            m.payload.get('user_id') == user_id, timeout=timeout)

    def _members(self):
        return sorted(m['user_id'] for m in self.app.get(
            '/v1/vos/%s/memberships' % self.vo, headers=base.ADMIN).json[
                'memberships'])

    def test_changes_are_answered_while_the_broker_is_down(self):
        self.assertEqual(201, self._add('bob')[0])
        self._announced('bob')
        self.broker.stop()
        answer = self._add('carol')
        self.assertIsNotNone(answer, 'still waiting for the broker after '
                                     '%d s' % ANSWER_WITHIN)
        self.assertEqual(201, answer[0])
        self.assertEqual(['bob', 'carol'], self._members())
        self.broker.start()
        # The capture's listener binds its queue again once it has
        # reconnected: what is announced before is not routed to it.
        # Some change made after the restart must be announced.
        for attempt in range(6):
            user_id = 'dan-%d' % attempt
            self.app.post_json('/v1/users', {
                'id': user_id, 'issuer': 'https://idp.example.org',
                'subject': user_id}, headers=base.ADMIN)
            self.assertEqual(201, self._add(user_id)[0])
            try:
                self._announced(user_id, timeout=10)
                break
            except AssertionError:
                continue
        else:
            self.fail('nothing announced after the broker came back')
