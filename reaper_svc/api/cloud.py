"""The cloud driver behind the API, and its failures as HTTP answers.

The API uses the driver that ``[preemption] driver`` names, built once
per application config by :func:`reaper_svc.drivers.get` — the same
factory the engine uses, so that an API and an engine in one process
(the local run) see one simulated cloud.
"""

import contextlib

from oslo_log import log as logging
import pecan

from reaper_svc import cloud_errors
from reaper_svc import drivers
from reaper_svc.drivers import base as driver_base
from reaper_svc.strategies import model
from svc_common import errors

LOG = logging.getLogger(__name__)


def driver():
    """The cloud driver of this application's config."""
    return drivers.get(pecan.request.conf, pecan.request.db)


@contextlib.contextmanager
def answering_for_cloud():
    """Turn a failure of the cloud into a 503 that says so."""
    try:
        yield
    except driver_base.DriverError as exc:
        LOG.warning('The cloud driver failed: %s', exc)
        raise errors.ApiError('The cloud did not answer: %s. Try again '
                              'later.' % cloud_errors.public_reason(exc),
                              code='cloud_unavailable', status=503)


def flavor_resources(flavor, field):
    """``(resources, required traits, forbidden traits)`` of the driver's
    flavor ``flavor``; a 400 naming ``field`` when the cloud has no such
    flavor."""
    with answering_for_cloud():
        flavors = driver().flavors()
    found = flavors.get(flavor)
    if found is None:
        raise errors.BadRequest(
            'Invalid field %s: the cloud has no flavor %s.' % (field, flavor),
            code='unknown_flavor', field=field)
    required, forbidden = model.flavor_traits(found['extra_specs'])
    return dict(found['resources']), required, forbidden


def check_server_spec(spec, field):
    """A 400 naming the field (under ``field``, the spec's path) when the
    cloud would refuse to build servers of ``spec`` (see
    :meth:`~reaper_svc.drivers.base.CloudDriver.spec_problem`)."""
    problem = driver().spec_problem(spec)
    if problem is not None:
        name, reason = problem
        raise errors.BadRequest(
            'Invalid field %s/%s: %s' % (field, name, reason),
            code='invalid_input', field='%s/%s' % (field, name))
