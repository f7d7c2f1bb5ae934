"""The life of a preemption action, as a state machine.

::

                 lock + stop every victim,
                 send preemption.notice
    +---------+ ------------------------> +---------+
    | planned |                           | noticed |
    +---------+                           +---------+
      |     |                               |     |
      |     | cancelled (operator,          |     | grace period over
      |     | or no victim left)            |     v
      |     +-------------+  +--------------+  +----------+
      |                   v  v                 | deleting |
      |              +-----------+             +----------+
      |              | cancelled |               |      |
      |              +-----------+     all gone  |      | the cloud
      |                                          v      | keeps failing
      |   the cloud refuses (every step)    +------+    |
      +-----------------------------------> | done |    |
                         +--------+         +------+    |
                         | failed | <-------------------+
                         +--------+

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
    NOTICED: frozenset([DELETING, FAILED, CANCELLED]),
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
