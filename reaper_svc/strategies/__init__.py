"""Victim selection: which preemptible servers make room for a request.

* :mod:`.model`: the cluster snapshot and the request (pure data);
* :mod:`.rules`: :func:`~.rules.select`, through which every strategy
  runs and which enforces the rules no strategy may break;
* the strategies, stevedore plugins of the ``reaper_svc.strategies``
  entry-point group: ``chance``, ``best_fit``, ``oldest``, ``newest``,
  ``priority``, and ``exhaustive`` (exact, small clusters only).

Nothing in this package imports a driver, a database or pecan.
"""

from stevedore import driver

NAMESPACE = 'reaper_svc.strategies'
NAMES = ('best_fit', 'chance', 'oldest', 'newest', 'priority', 'exhaustive')


def load(name):
    """The strategy registered as ``name`` (an instance).

    :raises stevedore.exception.NoMatches: no such strategy
    """
    return driver.DriverManager(NAMESPACE, name, invoke_on_load=True).driver
