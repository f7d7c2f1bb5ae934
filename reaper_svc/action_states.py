"""The life of a preemption action, as a state machine.

Its picture is doc/source/admin/figures/action-states.svg (the admin
guide's "Action states"); reaper_svc.tests.unit.test_action_states checks
that the picture's arrows are exactly :data:`TRANSITIONS`.  The events
that move an action (all in :mod:`reaper_svc.reaper`):

* ``planned`` -> ``noticed``: every victim locked with the reason and
  stopped (soft shutdown), ``preemption.notice`` sent;
* ``planned`` -> ``cancelled``: every victim was gone before its notice
  (its owner deleted it): nothing to preempt; or, as an action planned
  earlier is resumed, a victim is no candidate any more (not
  preemptible, or protected by a guarantee), or the pending request it
  was planned for has ended: nothing more is stopped;
* ``planned`` -> ``cancelled`` or ``failed`` unlocks the victims noticed
  before (they are ``released``, not deleted);
* ``planned`` -> ``failed``: the cloud kept refusing to lock a victim for
  an hour after the plan (each pass of the leader tries again until
  then; one it locks but will not stop, e.g. paused, had its notice by
  the lock);
  an unsatisfiable request is also recorded ``failed`` as it is planned;
* ``noticed`` -> ``deleting``: the grace period is over (the leader's
  pass over unfinished actions);
* ``deleting`` -> ``done``: every victim deleted (or gone already, or
  spared: the cloud showed it no candidate any more when it was to be
  deleted; it is unlocked), ``preemption.action.done`` sent; or, for
  the promoter's action of a pending request that ended during the
  grace period, every victim left unlocked (``released``), none deleted;
* ``deleting`` -> ``failed``: the cloud kept refusing to delete a
  victim for an hour after the grace period (each pass of the leader
  tries again until then).

``done``, ``failed`` and ``cancelled`` are final: the action releases
its victims' claims.  An engine that stops at any point resumes from the
state persisted last; each step is safe to repeat (locking a locked
server, stopping a stopped one, deleting one that is gone).
"""

PLANNED = 'planned'
NOTICED = 'noticed'
DELETING = 'deleting'
DONE = 'done'
FAILED = 'failed'
CANCELLED = 'cancelled'

STATES = (PLANNED, NOTICED, DELETING, DONE, FAILED, CANCELLED)
FINAL = frozenset([DONE, FAILED, CANCELLED])
UNFINISHED = (PLANNED, NOTICED, DELETING)

TRANSITIONS = {
    PLANNED: frozenset([NOTICED, FAILED, CANCELLED]),
    NOTICED: frozenset([DELETING]),
    DELETING: frozenset([DONE, FAILED]),
    DONE: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


class InvalidTransition(Exception):
    """An action was asked to move where its state machine does not go."""


def check_transition(current, new):
    """Raise :class:`InvalidTransition` unless ``current`` -> ``new`` is
    an edge of the state machine."""
    if new not in TRANSITIONS.get(current, ()):
        raise InvalidTransition('an action cannot go from %s to %s'
                                % (current, new))
