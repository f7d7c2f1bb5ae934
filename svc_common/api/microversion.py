"""The microversion a request negotiated, for handlers.

:mod:`svc_common.deploy` negotiates the ``OpenStack-API-Version`` header
before the handler runs and leaves the answer in
``environ['<service_type>.microversion']``.  Handlers read it here instead
of knowing that key::

    from svc_common.api import microversion

    if microversion.is_at_least('1.2'):
        body['new_field'] = ...

    microversion.require('1.3')   # a route that exists from 1.3 on

Versions are ``microversion_parse.Version`` tuples, so they compare as
numbers (``1.10`` is later than ``1.9``), and they print as ``X.Y``.
"""

import microversion_parse
import pecan

from svc_common import errors


def environ_key(service_type):
    """Where :mod:`svc_common.deploy` puts the negotiated version."""
    return '%s.microversion' % service_type


def parse(version):
    """``'X.Y'`` (or an already parsed version) as a comparable version.

    :raises ValueError: for anything that is not ``X.Y``.
    """
    if isinstance(version, microversion_parse.Version):
        return version
    try:
        return microversion_parse.parse_version_string(version)
    except TypeError as exc:
        raise ValueError(str(exc))


def from_environ(environ, service_type):
    """The version negotiated for the request of this WSGI ``environ``.

    :raises LookupError: when no negotiation happened (the environ did not
        go through the service's middleware chain).
    """
    try:
        return parse(environ[environ_key(service_type)])
    except KeyError:
        raise LookupError('no microversion was negotiated for this '
                          'request (%s missing)' % environ_key(service_type))


def current(request=None):
    """The version of the request being handled (pecan's by default)."""
    request = pecan.request if request is None else request
    return from_environ(request.environ, request.spec.service_type)


def is_at_least(minimum, request=None):
    """True when the request asked for ``minimum`` (``'X.Y'``) or later."""
    return current(request) >= parse(minimum)


def require(minimum, request=None):
    """Refuse a request made at a version older than ``minimum``.

    For a route or an action that does not exist before ``minimum``: the
    answer is a 404 as for any URL that does not exist at the version
    asked for (what placement and nova do), with a detail naming the
    version to ask for.

    :raises svc_common.errors.NotFound: ``<namespace>.not_found``
    """
    minimum = parse(minimum)
    version = current(request)
    if version < minimum:
        raise errors.NotFound(
            'This is available from microversion %s on; the request asked '
            'for %s (send "OpenStack-API-Version: %s %s" or later).'
            % (minimum, version, _service_type(request), minimum),
            code='not_found')
    return version


def _service_type(request):
    request = pecan.request if request is None else request
    return request.spec.service_type
