"""Outages of what a loop depends on, logged once each.

A loop of an engine (a periodic task, a resync thread) that reads
another service (Nova, Placement, Keystone, Glance) or the database
fails at every pass for as long as that service is away.  A traceback
at every pass said nothing more than the first one, and buried what
else the log had to say.  :class:`OutageLog` logs an outage as two
lines: one warning, without a traceback, when the first pass fails,
and one info line when a pass succeeds again; the passes in between
are debug lines.  A failure that is not an outage (a bug, a refusal
that will not pass by itself) is the caller's to log, with its
traceback.

What counts as an outage (:func:`passing`): a service reached through
keystoneauth1 that cannot be reached (connection refused or timed out,
no endpoint in the catalog, version discovery failed), answers 502,
503 or 504 (a proxy or balancer with nothing behind it, a service
restarting) or times a request out (408); and the database failures of
:func:`svc_common.db.failures.passing`.  An exception raised *from* one
of these (``raise DriverError(...) from exc``, as drivers wrap
keystoneauth1's errors) counts as well.  A 500 is not an outage: it is
the service's answer to that request (a bug, a request it cannot
handle), and the same request is usually answered 500 again however
long one waits; it is the caller's to report as a failure.

An outage that lasts is not silent for good: :class:`OutageLog` logs a
reminder warning every :data:`REMINDER_INTERVAL` seconds while it
lasts (a permanent misconfiguration, a TLS error or a missing catalog
entry, looks like an outage that never ends), and a new warning when
what fails changes (the database back but Nova away, with no success
in between).
"""

import threading
import time

from keystoneauth1 import exceptions as ks_exc
from urllib3 import exceptions as urllib3_exc

from svc_common.db import failures

#: keystoneauth1's exceptions of a service away for a while.
REMOTE_PASSING = (
    ks_exc.ConnectionError,     # refused, timed out, TLS, unknown
    ks_exc.EndpointNotFound,    # the catalog lacks it (Keystone half up)
    ks_exc.DiscoveryFailure,    # version discovery could not be done
    ks_exc.BadGateway,          # 502: a proxy with nothing behind it
    ks_exc.ServiceUnavailable,  # 503: restarting, a balancer's refusal
    ks_exc.GatewayTimeout,      # 504
    ks_exc.RequestTimeout,      # 408
)

#: Of those, the failures after which the service certainly never got
#: the request: the catalog or the discovery failed before any request,
#: or a balancer answered 503 itself.  A ``ConnectFailure`` is one only
#: when it was raised while connecting (see :func:`never_received`):
#: keystoneauth1 raises ``ConnectFailure`` for a connection reset or
#: closed after the request was sent as well.  After the others (a
#: timeout, 502, 504, a TLS or unknown connection error) the service
#: may have received the request and acted on it, its answer lost on
#: the way back.
REMOTE_NEVER_RECEIVED = (
    ks_exc.EndpointNotFound,
    ks_exc.DiscoveryFailure,
    ks_exc.ServiceUnavailable,
)

#: Seconds between the reminder warnings of an outage that lasts.
REMINDER_INTERVAL = 600


def _chain(exc):
    """``exc`` and the exceptions it was raised from (``__cause__``)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__


def remote_unreachable(exc):
    """Whether ``exc``, or one it was raised from, says that a service
    reached through keystoneauth1 is away for now (see the module
    documentation); a 4xx other than 408 is not: the same request is
    refused again."""
    return any(isinstance(one, REMOTE_PASSING) for one in _chain(exc))


def _while_connecting(exc):
    """Whether ``exc`` (keystoneauth1's ``ConnectFailure``) was raised
    while the connection was being made (refused, no route, a name that
    does not resolve: urllib3's ``NewConnectionError``, which
    keystoneauth1 raised it while handling), so before anything was
    sent.  A connection reset or closed once the request was sent
    (``Connection aborted.``, ``RemoteDisconnected``) is not."""
    seen = set()
    pending = [exc.__cause__, exc.__context__]
    while pending:
        one = pending.pop()
        if one is None or id(one) in seen:
            continue
        seen.add(id(one))
        if isinstance(one, urllib3_exc.NewConnectionError):
            return True
        pending.extend([one.__cause__, one.__context__,
                        getattr(one, 'reason', None)])
        pending.extend(arg for arg in one.args
                       if isinstance(arg, BaseException))
    return False


def never_received(exc):
    """Whether ``exc`` (an outage of a remote service, see
    :func:`remote_unreachable`) says that the service certainly never
    got the request (see :data:`REMOTE_NEVER_RECEIVED`; a
    ``ConnectFailure`` raised while connecting).  A request that creates
    something may be sent again after such a failure; after the others
    it may have been carried out."""
    remote = [one for one in _chain(exc) if isinstance(one, REMOTE_PASSING)]
    return bool(remote) and all(
        isinstance(one, REMOTE_NEVER_RECEIVED)
        or (isinstance(one, ks_exc.ConnectFailure)
            and _while_connecting(one))
        for one in remote)


def server_error(exc):
    """Whether ``exc``, or one it was raised from, is a 5xx answer that
    is no outage (a 500, say): the service's answer to that request,
    but also what Keystone or Nova answer while their database or cache
    fails for a moment."""
    return not remote_unreachable(exc) and any(
        isinstance(one, ks_exc.HttpServerError) for one in _chain(exc))


def kind(exc):
    """What failed, coarsely: ``'database'`` or ``'remote'`` (another
    service); an outage of another kind than the one going on is a new
    one for :class:`OutageLog`."""
    if any(failures.passing(one) for one in _chain(exc)):
        return 'database'
    return 'remote'


def passing(exc):
    """Whether the same work is expected to succeed once what failed is
    back: another service away (:func:`remote_unreachable`) or the
    database away or busy."""
    return remote_unreachable(exc) or any(
        failures.passing(one) for one in _chain(exc))


def one_line(exc):
    """What failed, in one line for a warning: ``the database failed
    (...)`` or ``a service it depends on failed (<class>: ...)``, with the
    first line of the message."""
    if any(failures.passing(one) for one in _chain(exc)):
        return 'the database failed (%s)' % failures.one_line(exc)
    text = str(exc).strip()
    first = text.splitlines()[0] if text else repr(exc)
    return 'a service it depends on failed (%s: %s)' % (
        type(exc).__name__, first)


class OutageLog(object):
    """The log lines of one loop's outages: a warning when one starts,
    debug lines while it lasts, a reminder warning every ``reminder``
    seconds while it lasts, a new warning when what fails changes
    (:func:`kind`), an info line when it ends.

    :param logger: where to log (the loop's module logger)
    :param what: what fails, as the lines name it (``"Periodic task
        preemption-promoter"``)
    :param reminder: seconds between reminder warnings
        (:data:`REMINDER_INTERVAL` by default)
    :param clock: a monotonic clock in seconds (tests move it)

    Thread-safe: a loop may be woken from another thread.
    """

    def __init__(self, logger, what, reminder=None, clock=None):
        self.logger = logger
        self.what = what
        self.reminder = REMINDER_INTERVAL if reminder is None else reminder
        self.clock = clock or time.monotonic
        self._lock = threading.Lock()
        #: Failures since the outage started (0: no outage).
        self.failures = 0
        self._kind = None
        self._started = None
        self._warned = None

    @property
    def ongoing(self):
        return self.failures > 0

    def failed(self, exc, then=''):
        """A pass (or a step of one) failed with ``exc``, an outage
        (:func:`passing`).

        :param then: what happens next, appended to the warning (``"it
            runs again in 60 s"``)
        :returns: True when this pass started an outage (it was logged
            as a warning): the first failure, or one of another
            :func:`kind` than the outage going on
        """
        now = self.clock()
        this_kind = kind(exc)
        with self._lock:
            changed = self.failures > 0 and this_kind != self._kind
            if changed or self.failures == 0:
                if changed:
                    before = self.failures
                self.failures = 0
                self._started = self._warned = now
                self._kind = this_kind
            self.failures += 1
            first = self.failures == 1
            remind = (not first
                      and now - self._warned >= self.reminder)
            if remind:
                self._warned = now
            failures, lasted = self.failures, now - self._started
        suffix = '; %s' % then if then else ''
        if first and changed:
            self.logger.warning(
                '%s failed, %s%s, after %d failure(s) of another kind '
                '(nothing more is logged until it succeeds again)',
                self.what, one_line(exc), suffix, before)
        elif first:
            self.logger.warning(
                '%s failed, %s%s (nothing more is logged until it '
                'succeeds again)', self.what, one_line(exc), suffix)
        elif remind:
            self.logger.warning(
                '%s is still failing: %d failures over %d s, the last: %s%s',
                self.what, failures, lasted, one_line(exc), suffix)
        else:
            self.logger.debug('%s failed again (%d failures so far): %s',
                              self.what, failures, one_line(exc))
        return first

    def succeeded(self, how='succeeded again'):
        """A pass succeeded; an outage that was going on ends (one info
        line).  Whether one did.

        :param how: what the line says of the pass (a pass that reached
            the service again but failed otherwise must not say that it
            succeeded)
        """
        with self._lock:
            failed, self.failures = self.failures, 0
        if failed:
            self.logger.info('%s %s, after %d failure(s)',
                             self.what, how, failed)
        return bool(failed)

    def forget(self):
        """Forget an outage going on without a line: the loop stops
        running here (another host leads now) and will not see its end;
        when it runs again, a failure is a new outage, and a warning."""
        with self._lock:
            self.failures = 0
