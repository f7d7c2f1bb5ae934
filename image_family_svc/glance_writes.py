"""The engine's retry of the Glance writes that did not happen.

Every change of an image records it until the ``glance`` driver has made
Glance say the image's current state
(:mod:`image_family_svc.db.glance_writes`).  The record stays when that
write failed (Glance down, a 5xx, a timeout, a refusal), when the image
was still uploading, or when the process that made the change stopped
before it wrote (an engine killed with announcements queued).

:func:`retry` is a periodic task of the engine's leader: it writes again
up to ``[glance] write_retry_batch`` images recorded more than
:data:`GRACE` seconds ago (the process that made the change writes it
within that time), those recorded first first, each through
:meth:`image_family_svc.glance.GlanceApiDriver.sync`: the current state,
under the image's lock.  A write that fails again puts the image behind
the others; a 5xx or no answer from Glance ends the pass, and the
outage is logged once (a warning at the first failure, an info line at
the first answer after it: the driver's ``outage_log``), not at each
pass.  An image still uploading is put off longer at each check that
finds it so, up to about an hour
(:meth:`image_family_svc.db.glance_writes.Ledger.still_uploading`).
With the ``noop`` driver nothing is written and the records are
forgotten.
"""

import datetime
import logging

from keystoneauth1 import exceptions as ks_exc

from image_family_svc.db import families as families_db
from image_family_svc.db import glance_writes as glance_writes_db
from image_family_svc import glance
from svc_common import context
from svc_common import outage

LOG = logging.getLogger(__name__)

#: Seconds after its change before an image is written by the retry.
GRACE = 60


def retry(conf, db, driver, now=None):
    """One pass; returns the IDs of the images Glance now shows as the
    database has them."""
    ctx = context.admin_context()
    ctx.user_id = 'image-family-engine'
    if not isinstance(driver, glance.GlanceApiDriver):
        glance_writes_db.clear(db, ctx)
        return []
    now = now or families_db.now()
    before = now - datetime.timedelta(seconds=GRACE)
    written = []
    for image_id in glance_writes_db.due(
            db, ctx, conf.glance.write_retry_batch, before):
        try:
            ops = driver.sync(image_id)
        except (glance.GlanceDriverError, ks_exc.ClientException) as error:
            if outage.passing(error):
                # Glance away: every image would fail alike.  Once per
                # outage, not once per pass.
                driver.outage_log.failed(
                    error, 'the next pass retries its writes, first image '
                           '%s' % image_id)
                break
            if isinstance(error, glance.GlanceDriverError):
                LOG.warning('Glance refused a write of image %s; the next '
                            'pass retries it: %s', image_id, error)
                continue
            LOG.warning('Glance could not be asked to write image %s; the '
                        'next pass retries it: %s', image_id, error)
            break
        if ops is None:
            continue
        if ops:
            LOG.info('Image %s in Glance brought up to date on retry.',
                     image_id)
        written.append(image_id)
    return written
