"""The cloud driver behind the API, and its failures as HTTP answers.

The API uses the driver that ``[preemption] driver`` names, built once
per application config by :func:`reaper_svc.drivers.get` — the same
factory the engine uses, so that an API and an engine in one process
(the local run) see one simulated cloud.
"""

import contextlib
import re

from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging
import pecan

from reaper_svc import drivers
from reaper_svc.drivers import base as driver_base
from reaper_svc.strategies import model
from svc_common.api import validation
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
                              'later.' % public_reason(exc),
                              code='cloud_unavailable', status=503)


#: The services whose name opens the driver's error messages.
_SERVICES = ('Nova', 'Placement', 'Keystone')


def public_reason(exc):
    """What the client of the API is told of the driver's failure
    ``exc``: which service failed and how, without keystoneauth's text.

    That text is for the service's log (it is logged in full): it names
    the cloud's internal endpoints and addresses and the HTTP library's
    internals (``HTTPConnectionPool(host=...)``, ``[Errno 111]``).  A
    failure of the driver's own (not an HTTP one) keeps its message.
    """
    cause = exc.__cause__
    while cause is not None and not isinstance(cause,
                                               ks_exc.ClientException):
        cause = cause.__cause__
    if cause is None:
        return str(exc)
    service = str(exc).split(':', 1)[0]
    if service not in _SERVICES:
        service = 'a service of the cloud'
    return keystoneauth_failure(service, cause)


_HTTP_SUFFIX = re.compile(r' \(HTTP \d+\)( \(Request-ID: [^()]*\))?$')


def keystoneauth_failure(service, exc):
    """``service`` (its name) failed with keystoneauth's ``exc``, as the
    API's client is told: which way, without keystoneauth's text (see
    :func:`public_reason`), but for the message a Keystone refusing a
    request (HTTP 4xx) wrote for its client."""
    if isinstance(exc, ks_exc.HttpError) and exc.http_status:
        # keystoneauth appends " (HTTP 403) (Request-ID: ...)".
        message = _HTTP_SUFFIX.sub('', exc.message or '')
        if (service == 'Keystone' and 400 <= exc.http_status < 500 and
                message and message != type(exc).message):
            return '%s answered HTTP %d: %s' % (
                service, exc.http_status, validation.json_text(message, 200))
        return '%s answered HTTP %d' % (service, exc.http_status)
    if isinstance(exc, ks_exc.ConnectTimeout):
        return '%s did not answer in time' % service
    if isinstance(exc, ks_exc.ConnectionError):
        return '%s could not be reached' % service
    return '%s failed' % service


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
