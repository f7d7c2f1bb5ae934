"""How every Arbiter service writes a time: ISO 8601, UTC, whole
seconds, ``Z`` (``2024-05-01T12:00:00Z``).

The services keep times as naive UTC ``datetime`` values, with whatever
precision the writer had: microseconds from Python or PostgreSQL,
milliseconds from SQLite's ``strftime('%f')``, seconds from SQLite's
``CURRENT_TIMESTAMP``.  Written as they were kept, one service's answers
showed seconds and another's microseconds, and the same service changed
from one database to the other.  Whatever a service keeps, it writes
times in its answers (:func:`svc_common.api.controller.isoformat`) and
notifications through :func:`isoformat`.  The fraction is cut, not
rounded: a time shown is never later than the time kept.  Code that
orders or pages by a time keeps the precise value and never reads it
back from what was written.
"""

import datetime


def isoformat(value):
    """``value`` (a ``datetime``, naive UTC or aware; or None) as
    ``YYYY-MM-DDTHH:MM:SSZ`` (None for None)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + 'Z'
