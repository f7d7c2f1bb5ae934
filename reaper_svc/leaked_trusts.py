"""The clean-up of leaked trusts, run by the engine's leader.

A trust is taken by the API when a pending request is submitted, before
the request is queued, and given up when the request ends (see
:mod:`reaper_svc.trusts`).  Two ways leaked it, leaving in Keystone a
trust that lets the reaper's service user act as the requester in the
project, with no end:

* an API worker stopped (killed, its host lost) between taking the
  trust and queueing the request: no request names it;
* Keystone failed its deletion when the request ended (withdrawn,
  built, failed or expired): that was only logged.

Every ``[trustee] leaked_trust_interval`` seconds the leader lists the
trusts whose trustee is the reaper's service user
(``GET /v3/OS-TRUST/trusts?trustee_user_id=...``) and deletes those that
no unfinished request (queued or building) names once it has seen them
so for ``[trustee] leaked_trust_grace`` seconds.  Keystone does not
date trusts: the grace is counted from the first pass of this leader
that saw the trust unnamed, so that a submission in flight (its trust
taken, its request not yet queued) is never raced; a host that becomes
the leader counts from its own passes only.  A trust that a request
names again is forgotten.  At most ``[trustee]
leaked_trusts_per_pass`` trusts are deleted per pass.

Keystone away (unreachable, 502, 503, 504, timeouts) ends the pass with
the outage raised, for the engine's runner to log once
(:mod:`svc_common.outage`); what was seen is kept for the next pass.
A deletion that Keystone refuses (the trustor deleted or without its
roles any more: the trust cannot be used, nor deleted by the reaper)
is logged once per trust, as a warning, and tried again at every pass.
"""

import time

from oslo_log import log as logging

from reaper_svc.db import pending as pending_db
from reaper_svc import trusts as trusts_mod
from svc_common import context
from svc_common import outage

LOG = logging.getLogger(__name__)


class LeakedTrusts(object):
    """The leader's clean-up of leaked trusts (see the module).

    :param trusts: the :class:`reaper_svc.trusts.TrustBroker` (None, or
        one that cannot list trusts: nothing is cleaned up)
    :param grace: seconds a trust must have been seen unnamed
    :param per_pass: the most trusts one pass deletes
    :param clock: a monotonic clock in seconds (tests move it)
    """

    def __init__(self, db, trusts, grace, per_pass, clock=None):
        self.db = db
        self.trusts = trusts
        self.grace = grace
        self.per_pass = per_pass
        self.clock = clock or time.monotonic
        self.ctx = context.admin_context()
        #: ``{trust id: when first seen named by no unfinished request}``
        self._unnamed_since = {}
        #: Trusts whose refused deletion was logged already.
        self._refused = set()

    @classmethod
    def from_conf(cls, conf, db, trusts):
        options = conf.trustee
        return cls(db, trusts, options.leaked_trust_grace,
                   options.leaked_trusts_per_pass)

    def sweep(self):
        """One pass; the ids of the trusts deleted.

        :raises: Keystone's or the database's outage (see the module)
        """
        if self.trusts is None:
            return []
        # Listed before the requests are read: a trust listed whose
        # request is queued meanwhile is seen named.
        listed = self.trusts.list_trust_ids()
        if listed is None:
            return []
        named = pending_db.live_trust_ids(self.db, self.ctx)
        now = self.clock()
        unnamed = [trust_id for trust_id in listed if trust_id not in named]
        self._unnamed_since = {
            trust_id: self._unnamed_since.get(trust_id, now)
            for trust_id in unnamed}
        self._refused &= set(unnamed)
        due = sorted((since, trust_id)
                     for trust_id, since in self._unnamed_since.items()
                     if now - since >= self.grace)
        deleted = []
        for _since, trust_id in due[:self.per_pass]:
            if self._delete(trust_id):
                deleted.append(trust_id)
        if deleted:
            LOG.info('Deleted %d leaked trust(s) of the reaper\'s service '
                     'user, named by no unfinished pending request for '
                     '%d s or more: %s', len(deleted), self.grace,
                     ', '.join(deleted))
        if len(due) > self.per_pass:
            LOG.info('%d more leaked trust(s) are left for the next '
                     'passes ([trustee] leaked_trusts_per_pass)',
                     len(due) - self.per_pass)
        return deleted

    def _delete(self, trust_id):
        """Delete one trust; whether it is gone."""
        try:
            self.trusts.delete_trust(trust_id)
        except trusts_mod.TrustError as exc:
            if outage.passing(exc):
                raise
            if getattr(exc, 'http_status', None) == 404:
                # Deleted meanwhile (the request's own give-up).
                self._unnamed_since.pop(trust_id, None)
                return False
            if trust_id not in self._refused:
                self._refused.add(trust_id)
                LOG.warning('Leaked trust %s could not be deleted (%s); it '
                            'is tried again at every pass, without this '
                            'warning', trust_id, exc)
            return False
        self._unnamed_since.pop(trust_id, None)
        self._refused.discard(trust_id)
        return True
