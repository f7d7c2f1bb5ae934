"""Cloud drivers: how the reaper sees and acts on a cloud.

Plugins of the ``reaper_svc.drivers`` entry-point group implementing
:class:`reaper_svc.drivers.base.CloudDriver`: ``simulated`` (an in-memory
cloud from a YAML description) today; ``openstack`` (Nova and Placement)
implements the same interface.
"""

import threading
import weakref

from stevedore import driver as stevedore_driver

from reaper_svc.db import guarantees as guarantees_db
from svc_common import context

NAMESPACE = 'reaper_svc.drivers'


def load(conf):
    """The driver ``[preemption] driver`` names, built from ``conf``."""
    return stevedore_driver.DriverManager(
        NAMESPACE, conf.preemption.driver, invoke_on_load=False).driver(conf)


_BY_CONF = {}
_LOCK = threading.Lock()


def get(conf, db=None):
    """The one driver of ``conf`` in this process, loaded on first use:
    an API and an engine running in one process (the local run) share
    one simulated cloud.

    :param db: the reaper's Database: the driver's snapshots then carry
        the guaranteed minimum runtimes recorded there
    """
    with _LOCK:
        # ConfigOpts is a Mapping, hence unhashable: keyed by id, and
        # dropped when the ConfigOpts goes.
        key = id(conf)
        if key not in _BY_CONF:
            _BY_CONF[key] = load(conf)
            weakref.finalize(conf, _BY_CONF.pop, key, None)
        driver = _BY_CONF[key]
        if db is not None and not driver.has_guarantee_source:
            driver.set_guarantee_source(guarantees_db.GuaranteeSource(
                db, context.admin_context(), conf))
        return driver
