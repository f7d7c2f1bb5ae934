"""The device grant's rules without a server: user codes, what a poll
obtains, the limit on wrong codes, the anti-CSRF token."""

import hypothesis
from hypothesis import strategies
import testtools

from federation_proxy.oidc import device


class TestUserCodes(testtools.TestCase):

    def test_new_codes_are_in_the_alphabet_and_shown_with_a_dash(self):
        code = device.new_user_code()
        self.assertEqual(8, len(code))
        self.assertTrue(set(code) <= set(device.USER_CODE_ALPHABET))
        self.assertEqual(code[:4] + '-' + code[4:], device.display(code))

    def test_typing_variants_normalise_to_the_code(self):
        for typed in ('BCDF-GHJK', 'bcdfghjk', ' bcdf ghjk ', 'Bc-Df-Gh-Jk'):
            self.assertEqual('BCDFGHJK', device.normalise(typed))

    def test_impossible_codes_are_none(self):
        for typed in (None, '', 'BCDF-GHJ', 'BCDF-GHJKL', 'ABCD-EFGH',
                      'BCDF-GHJ0', 'B' * 40, 5):
            self.assertIsNone(device.normalise(typed))

    @hypothesis.given(strategies.text(max_size=40))
    def test_normalised_codes_are_always_well_formed(self, typed):
        code = device.normalise(typed)
        if code is not None:
            self.assertEqual(8, len(code))
            self.assertTrue(set(code) <= set(device.USER_CODE_ALPHABET))


class TestPollOutcome(testtools.TestCase):

    def test_outcomes(self):
        cases = [
            # status, expired, polled_ago, interval -> outcome
            (device.PENDING, False, None, 5, device.AUTHORIZATION_PENDING),
            (device.PENDING, False, 5, 5, device.AUTHORIZATION_PENDING),
            (device.PENDING, False, 4.9, 5, device.SLOW_DOWN),
            (device.PENDING, True, 1, 5, device.EXPIRED_TOKEN),
            (device.APPROVED, False, 1, 5, device.ISSUE),
            (device.APPROVED, True, None, 5, device.EXPIRED_TOKEN),
            (device.DENIED, False, 1, 5, device.ACCESS_DENIED),
            (device.DENIED, True, 1, 5, device.EXPIRED_TOKEN),
            (device.USED, False, 100, 5, device.REPLAYED),
            (device.USED, True, 100, 5, device.REPLAYED),
        ]
        for status, expired, ago, interval, outcome in cases:
            self.assertEqual(outcome, device.poll_outcome(
                status, expired, ago, interval),
                (status, expired, ago, interval))


class TestAttemptLimiter(testtools.TestCase):

    def test_limit_per_person_within_the_window(self):
        limiter = device.AttemptLimiter(limit=3, window=60)
        for second in range(3):
            self.assertTrue(limiter.allowed('m', second))
            limiter.failed('m', second)
        self.assertFalse(limiter.allowed('m', 10))
        self.assertTrue(limiter.allowed('alice', 10))
        # The first failure leaves the window at 60.
        self.assertFalse(limiter.allowed('m', 59.5))
        self.assertTrue(limiter.allowed('m', 60))

    def test_memory_is_bounded(self):
        limiter = device.AttemptLimiter(limit=1, window=60, max_people=2)
        for who in ('a', 'b', 'c'):
            limiter.failed(who, 0)
        self.assertTrue(limiter.allowed('a', 1))
        self.assertFalse(limiter.allowed('c', 1))


class TestCsrfToken(testtools.TestCase):

    def test_bound_to_session_and_key(self):
        token = device.csrf_token('key', 'session-1')
        self.assertTrue(device.same_csrf_token(token, token))
        self.assertFalse(device.same_csrf_token(
            token, device.csrf_token('key', 'session-2')))
        self.assertFalse(device.same_csrf_token(
            token, device.csrf_token('other', 'session-1')))
        self.assertFalse(device.same_csrf_token(token, None))
        self.assertFalse(device.same_csrf_token(token, '\u00e9'))
