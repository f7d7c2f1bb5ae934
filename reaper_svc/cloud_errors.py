"""What the clients of the reaper's API are told of a failure of the
cloud (keystoneauth1's errors, as the ``openstack`` driver raises them):
the 503 answers of the API and the reasons of pending requests, which
the members of their project read.  keystoneauth1's own text is for the
log only: it names the cloud's internal endpoints, addresses and ports.
"""

import re

from keystoneauth1 import exceptions as ks_exc

from svc_common import errors


#: The services whose name opens the driver's error messages.
_SERVICES = ('Nova', 'Placement', 'Keystone')


def public_reason(exc):
    """What a client of the API is told of the driver's failure ``exc``
    (a 503 ``cloud_unavailable``, the reason of a pending request):
    which service failed and how, without keystoneauth's text.

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
    """``service`` (its name) failed with keystoneauth's ``exc``, as a
    client of the API is told: which way, without keystoneauth's text
    (see :func:`public_reason`), but for the message a service refusing
    a request (HTTP 4xx) wrote for its client ("Invalid imageRef
    provided.")."""
    if isinstance(exc, ks_exc.HttpError) and exc.http_status:
        # keystoneauth appends " (HTTP 403) (Request-ID: ...)".
        message = _HTTP_SUFFIX.sub('', exc.message or '')
        if (400 <= exc.http_status < 500 and message and
                message != type(exc).message):
            return '%s answered HTTP %d: %s' % (
                service, exc.http_status, errors.quoted_id(message, 200))
        return '%s answered HTTP %d' % (service, exc.http_status)
    if isinstance(exc, ks_exc.ConnectTimeout):
        return '%s did not answer in time' % service
    if isinstance(exc, ks_exc.ConnectionError):
        return '%s could not be reached' % service
    return '%s failed' % service
