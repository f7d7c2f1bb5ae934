"""svc_common.messaging.announcer with a notifier that cannot reach its
broker (a stand-in: it blocks as oslo.messaging's notifier does while it
retries a broker that is down): the caller never waits, the order is
kept, the backlog and a stop are bounded."""

import threading
import time

import testtools

from svc_common.messaging import announcer as announcer_mod


class StuckNotifier(object):
    """Sends nothing until :attr:`back` is set."""

    def __init__(self, fail=()):
        self.back = threading.Event()
        self.called = threading.Event()
        self.sent = []
        self.fail = set(fail)

    def info(self, ctxt, event_type, payload):
        self.called.set()
        self.back.wait()
        if payload['n'] in self.fail:
            raise RuntimeError('refused')
        self.sent.append(payload['n'])


class TestAnnouncer(testtools.TestCase):

    def announcer(self, **kwargs):
        self.notifier = StuckNotifier(kwargs.pop('fail', ()))
        announcer = announcer_mod.Announcer(self.notifier, name='test',
                                            **kwargs)
        announcer.start()
        self.addCleanup(self.notifier.back.set)
        return announcer

    def announce(self, announcer, numbers):
        began = time.monotonic()
        for number in numbers:
            announcer.info({}, 'thing.changed', {'n': number})
        return time.monotonic() - began

    def test_callers_do_not_wait_and_the_order_is_kept(self):
        announcer = self.announcer()
        self.assertLess(self.announce(announcer, range(50)), 1.0)
        self.assertEqual([], self.notifier.sent)
        self.assertEqual(50, announcer.pending())
        self.notifier.back.set()
        announcer.stop()
        self.assertEqual(list(range(50)), self.notifier.sent)
        self.assertEqual(0, announcer.pending())

    def test_beyond_the_backlog_the_oldest_are_dropped(self):
        announcer = self.announcer(backlog=3)
        announcer.info({}, 'thing.changed', {'n': 'first'})
        # The thread takes the first (it is being sent); three may wait.
        self.assertTrue(self.notifier.called.wait(5))
        self.assertLess(self.announce(announcer, range(5)), 1.0)
        self.assertEqual(2, announcer.dropped)
        self.notifier.back.set()
        announcer.stop()
        self.assertEqual(['first', 2, 3, 4], self.notifier.sent)

    def test_a_failed_announcement_does_not_stop_the_others(self):
        announcer = self.announcer(fail=[1])
        self.announce(announcer, range(3))
        self.notifier.back.set()
        announcer.stop()
        self.assertEqual([0, 2], self.notifier.sent)

    def test_a_stop_waits_a_bounded_time(self):
        announcer = self.announcer(drain_seconds=0.3)
        self.announce(announcer, range(3))
        began = time.monotonic()
        announcer.stop()
        self.assertLess(time.monotonic() - began, 5)
        self.assertEqual([], self.notifier.sent)
        self.assertEqual(3, announcer.pending())
        # What was left still goes once the broker is back.
        self.notifier.back.set()
        self.assertTrue(_wait(lambda: len(self.notifier.sent) == 3))

    def test_before_start_and_after_stop_it_sends_at_once(self):
        notifier = StuckNotifier()
        notifier.back.set()
        announcer = announcer_mod.Announcer(notifier)
        announcer.info({}, 'thing.changed', {'n': 'before'})
        self.assertEqual(['before'], notifier.sent)
        announcer.start()
        announcer.stop()
        announcer.info({}, 'thing.changed', {'n': 'after'})
        self.assertEqual(['before', 'after'], notifier.sent)


def _wait(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
