"""The device authorization grant (RFC 8628), without HTTP and without a
database.

A command-line tool that cannot open a browser asks the provider for a
``device_code`` (a 256-bit secret it keeps) and a ``user_code`` (short,
for a person to type); it shows the person the verification URI and the
user code, and polls the token endpoint with the device code.  The person
opens the URI in a browser where they are logged in to the proxy, enters
the user code and approves or denies.

User codes (RFC 8628 6.1): eight characters of twenty consonants without
vowels (no words, no 0/O or 1/I/L confusion), shown as ``XXXX-XXXX``;
case, dashes and spaces do not matter when typed.  That is 20^8, about
2.6e10 codes (34.5 bits): with at most :data:`MAX_USER_CODE_FAILURES`
wrong codes per person per :data:`USER_CODE_FAILURE_WINDOW` seconds (see
:class:`AttemptLimiter`), guessing one of the few codes pending at a time
takes centuries.

Polling (RFC 8628 3.5): :func:`poll_outcome` says what the token endpoint
answers for a device code in a given state.  A client that polls faster
than the interval is told ``slow_down`` and its interval grows by
:data:`SLOW_DOWN_SECONDS` for the rest of the grant.

This module imports neither pecan nor SQLAlchemy.
"""

import base64
import collections
import hashlib
import hmac
import secrets
import threading

#: RFC 8628 6.1's example alphabet: consonants only.
USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
USER_CODE_LENGTH = 8

#: Seconds added to a client's polling interval at each ``slow_down``.
SLOW_DOWN_SECONDS = 5

#: Wrong user codes a person may enter per window, per API process.
MAX_USER_CODE_FAILURES = 10
USER_CODE_FAILURE_WINDOW = 300

# The states of a device code as stored.
PENDING = 'pending'
APPROVED = 'approved'
DENIED = 'denied'
USED = 'used'

# What the token endpoint answers (see poll_outcome).
ISSUE = 'issue'
AUTHORIZATION_PENDING = 'authorization_pending'
SLOW_DOWN = 'slow_down'
ACCESS_DENIED = 'access_denied'
EXPIRED_TOKEN = 'expired_token'
REPLAYED = 'replayed'


def new_user_code():
    """A fresh user code, normalised (no dash)."""
    return ''.join(secrets.choice(USER_CODE_ALPHABET)
                   for _ in range(USER_CODE_LENGTH))


def display(user_code):
    """The user code as shown to a person: ``BCDF-GHJK``."""
    half = USER_CODE_LENGTH // 2
    return user_code[:half] + '-' + user_code[half:]


def normalise(typed):
    """The user code a person typed, as stored; None when it cannot be
    one (wrong length or characters): such a typo is not a guess."""
    if not isinstance(typed, str) or len(typed) > 32:
        return None
    code = ''.join(c for c in typed.upper() if c not in '- ')
    if len(code) != USER_CODE_LENGTH or any(
            c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def poll_outcome(status, expired, polled_ago, interval):
    """What a poll of the token endpoint obtains.

    :param status: the stored state (:data:`PENDING`, :data:`APPROVED`,
        :data:`DENIED`, :data:`USED`).
    :param expired: whether the device code is past its lifetime.
    :param polled_ago: seconds since the previous poll, or None for the
        first.
    :param interval: the client's current polling interval (seconds).
    :returns: :data:`REPLAYED` for a code already exchanged (whatever its
        age: a replay is a replay), :data:`EXPIRED_TOKEN`,
        :data:`ACCESS_DENIED`, :data:`SLOW_DOWN` for a poll that came
        sooner than ``interval`` after the previous one while the person
        has not approved yet, :data:`AUTHORIZATION_PENDING`, or
        :data:`ISSUE` for the one poll that obtains the tokens.
    """
    if status == USED:
        return REPLAYED
    if expired:
        return EXPIRED_TOKEN
    if status == DENIED:
        return ACCESS_DENIED
    if status == APPROVED:
        return ISSUE
    if polled_ago is not None and polled_ago < interval:
        return SLOW_DOWN
    return AUTHORIZATION_PENDING


class AttemptLimiter(object):
    """Counts the wrong user codes each person entered, per process.

    A person may enter :attr:`limit` wrong codes in :attr:`window`
    seconds; beyond that every attempt is refused until the oldest
    failure leaves the window.  Per process: with N API processes a
    person gets at most N times the limit, which changes the guessing
    odds by a factor N only.
    """

    def __init__(self, limit=MAX_USER_CODE_FAILURES,
                 window=USER_CODE_FAILURE_WINDOW, max_people=10000):
        self.limit = limit
        self.window = window
        self.max_people = max_people
        self._lock = threading.Lock()
        self._failures = collections.OrderedDict()

    def _recent(self, who, now):
        kept = [t for t in self._failures.get(who, ()) if
                now - t < self.window]
        if kept:
            self._failures[who] = kept
        else:
            self._failures.pop(who, None)
        return kept

    def allowed(self, who, now):
        """Whether ``who`` may try a user code at ``now`` (seconds)."""
        with self._lock:
            return len(self._recent(who, now)) < self.limit

    def failed(self, who, now):
        """Count a wrong code entered by ``who``."""
        with self._lock:
            recent = self._recent(who, now)
            self._failures[who] = recent + [now]
            self._failures.move_to_end(who)
            while len(self._failures) > self.max_people:
                self._failures.popitem(last=False)


def csrf_token(secret_key, session_token):
    """The anti-CSRF token of the verification form for the proxy
    session ``session_token``: an HMAC of the session under a key
    derived from ``[federation] secret_key``.

    A page of another site can make the browser send the session cookie
    with a form it posts, but cannot read the verification page, so it
    cannot know this value; and the value is worthless with any other
    session.
    """
    key = hashlib.sha256(b'federation-proxy device csrf\0' +
                         secret_key.encode('utf-8')).digest()
    mac = hmac.new(key, session_token.encode('utf-8'), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()


def same_csrf_token(expected, given):
    """Constant-time comparison of the form's token with the session's."""
    return isinstance(given, str) and hmac.compare_digest(
        expected.encode('ascii'), given.encode('utf-8'))
