"""The Glance driver: how image_family_svc keeps Glance in step.

The engine and the API hand every committed change (a
:class:`image_family_svc.notifications.Event`) to the driver named by
``[image_family] glance_driver``.  What a driver that talks to Glance
does with them (through keystoneauth1):

* ``image_family.transition`` to ``deprecated`` or further: set
  ``os_hidden`` on the image; back to ``active``/``beta``: clear it;
* ``image_family.membership.join``: write the family properties on the
  image;
* an image newly ``active``: queue it for the image cache of the
  configured Glance API nodes;
* ``image_family.transition`` to ``deleted``: delete the image through
  Glance's API (it is unused by then).

Glance's deactivate is never used for ``obsolete``: it would stop Nova
from downloading the image for a live migration.

Only the ``noop`` driver exists so far: the service keeps its own record
and announces changes on the bus, and Glance is not changed.
"""

import abc


class GlanceDriver(metaclass=abc.ABCMeta):
    """Keeps Glance in step with the lifecycle."""

    @abc.abstractmethod
    def event(self, event):
        """Act on one committed change (an ``Event``)."""


class NoopDriver(GlanceDriver):
    """Leaves Glance alone."""

    def event(self, event):
        pass


DRIVERS = {'noop': NoopDriver}


def load_driver(conf):
    """The driver ``[image_family] glance_driver`` names."""
    return DRIVERS[conf.image_family.glance_driver]()
