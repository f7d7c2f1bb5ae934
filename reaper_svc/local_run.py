"""What reaper_svc needs to be tried in ``arbiter-all-in-one``.

The ``simulated`` driver, the default, sees an empty cloud until
``[preemption] simulated_cloud`` names a description; in the local run
that left every command of the preemption CLI guide failing ("the cloud
has no flavor m1.large").  The local run therefore gives the reaper a
small simulated cloud shipped with the package (``local-run-cloud.yaml``:
two aggregates, three hosts, preemptible servers of project ``physics``)
as a *default*: an operator's own ``simulated_cloud``, from a file of
``--config-dir`` or the environment, is used instead.
"""

import os

CLOUD = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     'local-run-cloud.yaml')


def set_defaults(conf):
    """Make :data:`CLOUD` the default of ``[preemption] simulated_cloud``
    on ``conf`` (a value the operator set still wins)."""
    conf.set_default('simulated_cloud', CLOUD, group='preemption')
