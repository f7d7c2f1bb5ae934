"""reaper-engine while its RabbitMQ is down, and after it is back.

The engine announces each change of an action on the bus
(``preemption.notice``, ``preemption.action.*``).  With a real private
broker stopped while an action is in flight, the engine's work that
needs no bus must go on: the victims are deleted once their grace
period is over, pending requests are built (and the promoter preempts
for them), expired requests expire, and a graceful stop ends.  Before
the announcements had a thread of their own, the first announcement made
while the broker was down held the leader's pass until it came back.
"""

import copy
import datetime
import threading
import time
import uuid

import oslo_messaging
import testtools

from reaper_svc import action_states as states
from reaper_svc.db import actions as actions_db
from reaper_svc.db import pending as pending_db
from reaper_svc.drivers import simulated
from reaper_svc.tests.functional import engine_fixture as ef
from reaper_svc.tests.functional import test_promoter as tp
from svc_common import context
from svc_common.tests.fixtures import rabbitmq

GRACE = 2
#: Longer than the work takes with the broker up (a few passes of one
#: second, the grace period), far shorter than an outage may last.
WITHIN = 30


class TestEngineWhileTheBrokerIsDown(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.broker = self.useFixture(rabbitmq.RabbitMQ(name='reaper-down'))
        self.engine = self.useFixture(ef.ReaperEngine(
            url=self.broker.url, grace_period=GRACE))
        self.engine.conf.set_override('promote_interval', 1, 'preemption')
        # The fixture's API app set the API processes' default (one
        # retry) on the configuration it shares with the engine; an
        # engine process has oslo.messaging's own: for ever.
        self.engine.conf.set_default('retry', -1,
                                     'oslo_messaging_notifications')
        # Four 1-VCPU slots, every one held by a preemptible server.
        self.engine.cloud = simulated.SimulatedCloud(
            tp.cloud(copy.deepcopy(tp.full(flavor='p1', project='batch'))))
        self.ctx = context.admin_context()
        self.down = False

    def queue(self, count, **kwargs):
        return pending_db.create_request(
            self.engine.db, self.ctx, 'physics', 'alice',
            [{'name': 'job', 'flavor': 'm1', 'image': 'img',
              'networks': [], 'count': count}], True, **kwargs)

    def state(self, request):
        return pending_db.get_request(self.engine.db, self.ctx,
                                      request['id'])['state']

    def action_for(self, request):
        found = actions_db.list_actions(
            self.engine.db, self.ctx, 10, trigger='pending_request',
            trigger_id=request['id'])
        return found[0] if found else None

    def announced(self, event_type, action_id, collector=None):
        collector = collector or self.engine.notices
        return any(e == event_type and p.get('action_id') == action_id
                   for e, p in list(collector.received))

    def start_in_flight(self):
        """The engine, and an action noticed (announced) before the
        broker stops; that action's request."""
        self.runner = self.engine.start()
        # Before the engine's stop (cleanups run last first): an engine
        # held by the broker stops once it is back.
        self.addCleanup(self.broker_back)
        first = self.queue(1)
        self.assertTrue(ef.wait_for(
            lambda: self.action_for(first) is not None, WITHIN))
        action = self.action_for(first)
        self.assertTrue(ef.wait_for(
            lambda: self.announced('preemption.notice', action['id']),
            WITHIN))
        return first

    def broker_down(self):
        self.broker.stop()
        self.down = True

    def broker_back(self):
        if self.down:
            self.broker.start()
            self.down = False

    def test_work_goes_on_while_the_broker_is_down(self):
        first = self.start_in_flight()
        self.broker_down()
        began = time.monotonic()
        second = self.queue(2)
        expiring = self.queue(
            4, deadline=actions_db.utcnow() + datetime.timedelta(seconds=1))
        # The first action's victim is deleted after its grace period,
        # and its request is built; the promoter preempts for the second
        # request, whose victims are deleted in turn; the third expires.
        self.assertTrue(ef.wait_for(
            lambda: self.state(second) == pending_db.ACTIVE, WITHIN),
            'the second request is %s after %d s with the broker down'
            % (self.state(second), WITHIN))
        self.assertEqual(pending_db.ACTIVE, self.state(first))
        self.assertEqual(pending_db.EXPIRED, self.state(expiring))
        self.assertEqual([states.DONE, states.DONE], [
            self.action_for(r)['state'] for r in (first, second)])
        self.assertLess(time.monotonic() - began, WITHIN)
        waiting = self.runner.announcer.pending()
        self.assertGreater(waiting, 0)
        # Back: what waited is sent, and new changes are announced.
        self.broker_back()
        self.assertTrue(ef.wait_for(
            lambda: self.runner.announcer.pending() == 0, 90),
            '%d announcements still waiting after the broker came back'
            % self.runner.announcer.pending())
        collector = self.listen_again()
        third = self.queue(1)
        self.assertTrue(ef.wait_for(
            lambda: self.action_for(third) is not None, WITHIN))
        self.assertTrue(ef.wait_for(lambda: self.announced(
            'preemption.notice', self.action_for(third)['id'], collector),
            WITHIN))

    def test_a_stop_while_the_broker_is_down_ends(self):
        first = self.start_in_flight()
        self.broker_down()
        self.assertTrue(ef.wait_for(
            lambda: self.action_for(first)['state'] == states.DONE, WITHIN))
        # The victim's deletion is announced while the broker is down.
        self.assertTrue(ef.wait_for(
            lambda: self.runner.announcer.pending() > 0 or
            self.state(first) == pending_db.ACTIVE, WITHIN))
        stopper = threading.Thread(target=self.runner.stop, daemon=True)
        stopper.start()
        stopper.join(WITHIN)
        self.assertFalse(stopper.is_alive(),
                         'the engine did not stop within %d s' % WITHIN)

    def listen_again(self):
        """A new listener on the operators' topic: the old one's queue
        went with the broker, and is declared again only once it has
        reconnected."""
        collector = ef.Collector()
        transport = oslo_messaging.get_notification_transport(
            self.engine.conf, url=self.broker.url)
        self.addCleanup(transport.cleanup)
        listener = oslo_messaging.get_notification_listener(
            transport,
            [oslo_messaging.Target(topic=self.engine.notices_topic)],
            [collector], executor='threading',
            pool='after-%s' % uuid.uuid4().hex[:6])
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        return collector
