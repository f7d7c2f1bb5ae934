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
no endpoint in the catalog, version discovery failed), answers a server
error (5xx, 503 included) or times a request out (408); and the
database failures of :func:`svc_common.db.failures.passing`.  An
exception raised *from* one of these (``raise DriverError(...) from
exc``, as drivers wrap keystoneauth1's errors) counts as well.
"""

import threading

from keystoneauth1 import exceptions as ks_exc

from svc_common.db import failures

#: keystoneauth1's exceptions of a service away for a while.
REMOTE_PASSING = (
    ks_exc.ConnectionError,     # refused, timed out, TLS, unknown
    ks_exc.EndpointNotFound,    # the catalog lacks it (Keystone half up)
    ks_exc.DiscoveryFailure,    # version discovery could not be done
    ks_exc.HttpServerError,     # 5xx: 500, 502, 503, 504 ...
    ks_exc.RequestTimeout,      # 408
)


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
    debug lines while it lasts, an info line when it ends.

    :param logger: where to log (the loop's module logger)
    :param what: what fails, as the lines name it (``"Periodic task
        preemption-promoter"``)

    Thread-safe: a loop may be woken from another thread.
    """

    def __init__(self, logger, what):
        self.logger = logger
        self.what = what
        self._lock = threading.Lock()
        #: Failures since the outage started (0: no outage).
        self.failures = 0

    @property
    def ongoing(self):
        return self.failures > 0

    def failed(self, exc, then=''):
        """A pass (or a step of one) failed with ``exc``, an outage
        (:func:`passing`).

        :param then: what happens next, appended to the warning (``"it
            runs again in 60 s"``)
        :returns: True when this pass started the outage (it was logged
            as a warning)
        """
        with self._lock:
            self.failures += 1
            first = self.failures == 1
        if first:
            self.logger.warning(
                '%s failed, %s%s (nothing more is logged until it '
                'succeeds again)', self.what, one_line(exc),
                '; %s' % then if then else '')
        else:
            self.logger.debug('%s failed again (%d failures so far): %s',
                              self.what, self.failures, one_line(exc))
        return first

    def succeeded(self):
        """A pass succeeded; an outage that was going on ends (one info
        line).  Whether one did."""
        with self._lock:
            failed, self.failures = self.failures, 0
        if failed:
            self.logger.info('%s succeeded again, after %d failure(s)',
                             self.what, failed)
        return bool(failed)
