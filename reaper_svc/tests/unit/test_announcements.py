"""The engine's announcer with a notifier that cannot reach its broker:
the caller never waits, the order is kept, the backlog and a stop are
bounded."""

import threading
import time

import testtools

from reaper_svc import announcements


class StuckNotifier(object):
    """Sends nothing until :attr:`back` is set, as oslo.messaging's
    notifier retrying a broker that is down."""

    def __init__(self):
        self.back = threading.Event()
        self.sent = []

    def info(self, ctxt, event_type, payload):
        self.back.wait()
        self.sent.append((event_type, payload['action_id']))


class TestAnnouncer(testtools.TestCase):

    def announcer(self, **kwargs):
        self.notifier = StuckNotifier()
        announcer = announcements.Announcer(self.notifier, **kwargs)
        announcer.start()
        self.addCleanup(self.notifier.back.set)
        return announcer

    def announce(self, announcer, count):
        began = time.monotonic()
        for index in range(count):
            announcer.info({}, 'preemption.notice', {'action_id': index})
        return time.monotonic() - began

    def test_callers_do_not_wait_and_the_order_is_kept(self):
        announcer = self.announcer()
        self.assertLess(self.announce(announcer, 50), 1.0)
        self.assertEqual([], self.notifier.sent)
        self.notifier.back.set()
        announcer.stop()
        self.assertEqual(list(range(50)),
                         [action for _e, action in self.notifier.sent])

    def test_beyond_the_backlog_announcements_are_dropped(self):
        announcer = self.announcer(backlog=3)
        # One is taken by the thread (being sent), three wait.
        announcer.info({}, 'preemption.notice', {'action_id': 'first'})
        self.assertTrue(_wait(lambda: announcer.pending() == 0))
        self.assertLess(self.announce(announcer, 5), 1.0)
        self.assertEqual(2, announcer.dropped)
        self.notifier.back.set()
        announcer.stop()
        self.assertEqual(['first', 0, 1, 2],
                         [action for _e, action in self.notifier.sent])

    def test_a_stop_waits_a_bounded_time(self):
        announcer = self.announcer(drain_seconds=0.5)
        self.announce(announcer, 3)
        began = time.monotonic()
        announcer.stop()
        self.assertLess(time.monotonic() - began, 5)
        self.assertEqual([], self.notifier.sent)

    def test_before_start_it_sends_at_once(self):
        notifier = StuckNotifier()
        notifier.back.set()
        announcements.Announcer(notifier).info({}, 'preemption.notice',
                                               {'action_id': 'a'})
        self.assertEqual([('preemption.notice', 'a')], notifier.sent)


def _wait(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
