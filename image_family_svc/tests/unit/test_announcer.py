"""notifications.Announcer: the engine's announcements from a thread of
their own, in order, drained on stop, surviving a failing notifier."""

import threading

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
