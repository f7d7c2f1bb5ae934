"""image-family-engine announces everything through its one Announcer:
what the leader's periodic tasks (the schedule, the usage
reconciliation) change is announced after what the listener changed
before, even while the listener's announcements are still queued."""

import datetime
import threading

from image_family_svc.cmd import engine
from image_family_svc import notifications
from image_family_svc.tests.functional import base
from image_family_svc.tests.functional import test_engine
from image_family_svc.tests.functional import test_usage_reconcile
from image_family_svc import usage_reconcile
from svc_common.db import database


class HeldNotifier(object):
    """Records what it is told; its first announcement is held (as by a
    slow broker) until :attr:`release` is set."""

    def __init__(self):
        self.sent = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def info(self, ctxt, event_type, payload):
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(30)
        self.sent.append((event_type, payload['image_id'],
                          payload.get('to_state')))


class TestOneAnnouncerPerEngine(base.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.fixture.conf.set_override('enabled', 'false', group='cinder')
        self.family('centos-7')
        self.db = database.Database(self.fixture.conf)
        self.addCleanup(self.db.dispose)
        self.notifier = HeldNotifier()
        self.runner = engine.build_runner(self.fixture.conf, self.db,
                                          notifier=self.notifier)
        [self.announcer] = [w for w in self.runner.workers if isinstance(
            w, notifications.Announcer)]
        [listener] = [w for w in self.runner.workers
                      if isinstance(w, engine.BatchListener)]
        self.glance, self.nova = [e.endpoint for e in listener.endpoints]
        self.tasks = {t.name: t for t in self.runner.tasks}
        # The announcer alone: the listener's endpoint and the tasks'
        # functions are called by the test, as the engine calls them.
        self.announcer.start()
        self.addCleanup(self.announcer.stop)
        self.addCleanup(self.notifier.release.set)

    def join_held(self, image_id):
        """An image.create through the engine's listener; its join is
        being announced, held."""
        self.glance.info({}, 'image.localhost', 'image.create',
                         test_engine.glance_payload(image_id,
                                                    os_version='7.9'),
                         test_engine.meta())
        self.assertTrue(self.notifier.entered.wait(10))

    def announced(self):
        self.notifier.release.set()
        self.announcer.stop()
        return self.notifier.sent

    def test_scheduled_transition_after_the_listeners_join(self):
        self.join_held('img-1')
        at = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(hours=1))
        self.move('img-1', 'active', at=at.isoformat(), reason='planned')
        later = (at + datetime.timedelta(minutes=1)).replace(tzinfo=None)
        events = self.tasks[engine.SCHEDULE_TASK].function(now=later)
        self.assertEqual(['image_family.transition'],
                         [e.event_type for e in events])
        # Applied, but not announced ahead of the join still held.
        self.assertEqual('active', self.image('img-1')['state'])
        self.assertEqual([], self.notifier.sent)
        self.assertEqual(
            [('image_family.membership.join', 'img-1', None),
             ('image_family.transition', 'img-1', 'active')],
            self.announced())

    def test_reconciled_deletion_after_the_listeners_join(self):
        # The engine's reconciler announces through the engine's
        # announcer; one with a Nova double does the same here.
        reconcile = self.tasks[engine.RECONCILE_TASK].function
        self.assertIs(self.announcer, reconcile.__self__.announcer)
        self.add('centos-7', 'img-0', '7.0', state='active')
        self.move('img-0', 'obsolete')
        self.nova.info({}, 'nova-compute:host', 'instance.create.end',
                       test_engine.nova_payload('vm-1', 'img-0'),
                       test_engine.meta())
        self.assertEqual('pending_delete',
                         self.move('img-0', 'deleted')['image']['state'])
        self.join_held('img-1')
        reconciler = usage_reconcile.Reconciler(
            self.fixture.conf, self.db, announcer=self.announcer,
            nova=test_usage_reconcile.nova_double({}))
        self.assertEqual({'img-0': (1, 0)}, reconciler.run())
        self.assertEqual([], self.notifier.sent)
        self.assertEqual(
            [('image_family.membership.join', 'img-1', None),
             ('image_family.transition', 'img-0', 'deleted')],
            self.announced())
