"""Cloud drivers: how the reaper sees and acts on a cloud.

Plugins of the ``reaper_svc.drivers`` entry-point group implementing
:class:`reaper_svc.drivers.base.CloudDriver`: ``simulated`` (an in-memory
cloud from a YAML description) today; ``openstack`` (Nova and Placement)
implements the same interface.
"""

from stevedore import driver as stevedore_driver

NAMESPACE = 'reaper_svc.drivers'


def load(conf):
    """The driver ``[preemption] driver`` names, built from ``conf``."""
    return stevedore_driver.DriverManager(
        NAMESPACE, conf.preemption.driver, invoke_on_load=False).driver(conf)
