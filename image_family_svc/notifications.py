"""What image_family_svc announces on the bus, and the Glance driver call
that goes with each state change.

The database layer returns :class:`Event` values for what it changed; the
caller (an API handler or the engine) calls :func:`publish` once the
transaction has committed, so that nothing is announced that did not
happen.  Event types:

* ``image_family.transition``: an image changed state (asked, scheduled,
  retention, or deletion once unused);
* ``image_family.membership.join`` / ``image_family.membership.leave``.
"""

import collections
import logging

from svc_common.messaging import bus

LOG = logging.getLogger(__name__)

TRANSITION = 'image_family.transition'
JOIN = 'image_family.membership.join'
LEAVE = 'image_family.membership.leave'

Event = collections.namedtuple('Event', ['event_type', 'payload'])


def publish(notifier, ctx, events, driver=None):
    """Announce ``events`` through ``notifier`` (which may be None) and
    tell the Glance ``driver`` (see :mod:`image_family_svc.glance`).

    A failure of either is logged and does not undo the change, which is
    committed already; the driver is told again by a later change.
    """
    for event in events:
        if driver is not None:
            try:
                driver.event(event)
            except Exception:
                LOG.exception('The Glance driver failed on %s of %s',
                              event.event_type,
                              event.payload.get('image_id'))
        if notifier is None:
            continue
        try:
            notifier.info(ctx, event.event_type,
                          bus.to_payload(event.payload))
        except Exception:
            LOG.exception('Could not announce %s of %s', event.event_type,
                          event.payload.get('image_id'))
