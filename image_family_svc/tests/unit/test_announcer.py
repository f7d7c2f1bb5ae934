"""notifications.Announcer: the engine's Glance writes and announcements
from threads of their own, in order, drained on stop, surviving a failing
or a held notifier."""

import threading
import time

import fixtures
import testtools

from image_family_svc import notifications


class Recorder(object):
    """A notifier (and a Glance driver) that records what it is told;
    ``gate`` holds every call until set."""

    def __init__(self, fail_on=()):
        self.sent = []
        self.seen_by_driver = []
        self.threads = set()
        self.fail_on = fail_on
        self.gate = threading.Event()
        self.gate.set()

    def info(self, ctxt, event_type, payload):
        self.gate.wait(10)
        self.threads.add(threading.current_thread().name)
        if payload['image_id'] in self.fail_on:
            raise RuntimeError('bus down')
        self.sent.append((event_type, payload['image_id']))

    def event(self, event):
        self.seen_by_driver.append(event.payload['image_id'])


def events(*image_ids):
    return [notifications.Event(notifications.JOIN, {'image_id': i})
            for i in image_ids]


class TestAnnouncer(testtools.TestCase):

    def test_in_order_from_its_own_thread_and_drained_on_stop(self):
        recorder = Recorder()
        announcer = notifications.Announcer(recorder, recorder)
        announcer.start()
        self.addCleanup(announcer.stop)
        recorder.gate.clear()
        for n in range(50):
            # Returns at once although the notifier is held.
            announcer.submit(None, events('img-%02d-a' % n,
                                          'img-%02d-b' % n))
        self.assertEqual([], recorder.sent)
        recorder.gate.set()
        announcer.stop()
        expected = ['img-%02d-%s' % (n, x) for n in range(50)
                    for x in 'ab']
        self.assertEqual(expected, [i for _, i in recorder.sent])
        self.assertEqual(expected, recorder.seen_by_driver)
        self.assertEqual({'image-family-announcer'}, recorder.threads)

    def test_failing_notifier_does_not_stop_the_others(self):
        recorder = Recorder(fail_on=('img-2',))
        announcer = notifications.Announcer(recorder, recorder)
        announcer.start()
        announcer.submit(None, events('img-1', 'img-2', 'img-3'))
        announcer.submit(None, events('img-4'))
        announcer.stop()
        self.assertEqual(['img-1', 'img-3', 'img-4'],
                         [i for _, i in recorder.sent])
        self.assertEqual(['img-1', 'img-2', 'img-3', 'img-4'],
                         recorder.seen_by_driver)

    def test_not_started_or_stopped_publishes_at_once(self):
        recorder = Recorder()
        announcer = notifications.Announcer(recorder)
        announcer.submit(None, events('img-1'))
        self.assertEqual(['img-1'], [i for _, i in recorder.sent])
        announcer.start()
        announcer.stop()
        announcer.submit(None, events('img-2'))
        self.assertEqual(['img-1', 'img-2'], [i for _, i in recorder.sent])

    def test_nothing_to_announce(self):
        announcer = notifications.Announcer(None)
        announcer.start()
        announcer.submit(None, [])
        announcer.stop()

    def test_a_held_notifier_does_not_hold_the_glance_driver(self):
        recorder = Recorder()
        announcer = notifications.Announcer(recorder, recorder)
        announcer.start()
        self.addCleanup(announcer.stop)
        recorder.gate.clear()
        announcer.submit(None, events('img-1'))
        announcer.submit(None, events('img-2', 'img-3'))
        deadline = time.monotonic() + 10
        while (len(recorder.seen_by_driver) < 3 and
               time.monotonic() < deadline):
            time.sleep(0.01)
        # The notifier still holds img-1's announcement.
        self.assertEqual(['img-1', 'img-2', 'img-3'],
                         recorder.seen_by_driver)
        self.assertEqual([], recorder.sent)
        self.assertEqual(3, announcer.unannounced())
        recorder.gate.set()
        announcer.stop()
        self.assertEqual(['img-1', 'img-2', 'img-3'],
                         [i for _, i in recorder.sent])

    def test_stop_does_not_wait_for_ever_for_the_notifier(self):
        recorder = Recorder()
        log = self.useFixture(fixtures.FakeLogger())
        announcer = notifications.Announcer(recorder, recorder,
                                            stop_wait=0.5)
        announcer.start()
        self.addCleanup(recorder.gate.set)
        recorder.gate.clear()
        announcer.submit(None, events('img-1', 'img-2'))
        started = time.monotonic()
        announcer.stop()
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(['img-1', 'img-2'], recorder.seen_by_driver)
        self.assertIn('image-family-announcer stopped with 2 '
                      'announcement(s) not sent', log.output)

    def test_the_oldest_unannounced_go_beyond_the_bound(self):
        recorder = Recorder()
        log = self.useFixture(fixtures.FakeLogger())
        announcer = notifications.Announcer(recorder, recorder,
                                            max_unannounced=3)
        recorder.gate.clear()
        announcer.start()
        announcer.submit(None, events('img-1'))
        deadline = time.monotonic() + 10
        while announcer.unannounced() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        announcer.submit(None, events('img-2', 'img-3', 'img-4', 'img-5'))
        while (len(recorder.seen_by_driver) < 5 and
               time.monotonic() < deadline):
            time.sleep(0.01)
        recorder.gate.set()
        announcer.stop()
        # img-1 was being announced; of the 4 behind it 3 were kept.
        self.assertEqual(['img-1', 'img-3', 'img-4', 'img-5'],
                         [i for _, i in recorder.sent])
        self.assertEqual(1, announcer.dropped)
        self.assertIn('image-family-announcer: 1 announcement(s) dropped',
                      log.output)
