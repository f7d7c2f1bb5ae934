"""The engine's retry of the Glance deletes that failed.

When an image's lifecycle reaches ``deleted``, the ``glance`` driver
deletes it in Glance once, as it announces the change
(:mod:`image_family_svc.glance`); a failure there (Glance down, a 5xx,
a timeout) is only logged.  Without a retry the image stayed in Glance
for ever: hidden and refused by the Nova filter, but taking storage.

:func:`retry` is a periodic task of the engine's leader: it sends the
DELETE again for the ``deleted`` images that Glance has not been found
without (a 204 or a 404 answer records that, and the image is not
tried again), at most ``[glance] delete_retry_batch`` per pass, those
deleted first first.  Before each DELETE it reads the image's server
count again and skips the image while a server uses it: an image in use
is never deleted, however it came to be counted.  An image deleted in
its family less than :data:`GRACE` seconds ago is left to the
announcement's own DELETE.  A 5xx or no answer from Glance ends the
pass (the next one tries again), and the outage is logged once (a
warning at the first failure, an info line at the first answer after
it: :attr:`image_family_svc.glance.GlanceDriver.outage_log`), not at
each pass; another refusal (403, 409) skips the image, with a warning.
"""

import datetime
import logging

from keystoneauth1 import exceptions as ks_exc

from image_family_svc.db import families as families_db
from image_family_svc.db import glance_deletes as glance_deletes_db
from image_family_svc import glance
from svc_common import context
from svc_common import outage

LOG = logging.getLogger(__name__)

#: Seconds after its deletion in the family before an image is retried.
GRACE = 60


def retry(conf, db, driver, now=None):
    """One pass; returns the IDs of the images found gone from Glance
    (deleted now, or already absent).

    Does nothing unless ``driver`` is Glance's API and ``[glance]
    delete_images`` is on.
    """
    if (not isinstance(driver, glance.GlanceApiDriver) or
            not conf.glance.delete_images):
        return []
    ctx = context.admin_context()
    ctx.user_id = 'image-family-engine'
    now = now or families_db.now()
    before = now - datetime.timedelta(seconds=GRACE)
    gone = []
    for image_id in glance_deletes_db.unconfirmed(
            db, ctx, conf.glance.delete_retry_batch, before):
        servers = glance_deletes_db.servers_if_deleted(db, ctx, image_id)
        if servers is None:
            continue
        if servers:
            LOG.warning('Image %s is deleted in its family but %d '
                        'server(s) use it: it is left in Glance until none '
                        'does.', image_id, servers)
            continue
        try:
            deleted = driver.delete_image(image_id)
        except (glance.GlanceDriverError, ks_exc.ClientException) as error:
            if outage.passing(error):
                # Glance away: every image would fail alike.  Once per
                # outage, not once per pass.
                driver.outage_log.failed(
                    error, 'the next pass retries its deletions, first '
                           'image %s' % image_id)
                break
            if isinstance(error, glance.GlanceDriverError):
                LOG.warning('Glance refused to delete image %s (deleted '
                            'in its family): %s', image_id, error)
                continue
            LOG.warning('Glance could not be asked to delete image %s; '
                        'the next pass retries it: %s', image_id, error)
            break
        glance_deletes_db.confirm(db, ctx, image_id)
        if deleted:
            LOG.info('Deleted image %s in Glance on retry: an earlier '
                     'deletion had failed.', image_id)
        gone.append(image_id)
    return gone
