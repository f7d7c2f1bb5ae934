"""The WSGI application of a service, with its middleware chain.

:func:`deploy` is the one place where the order of the middleware is
decided.  From the outside in:

1. ``request_id``: every request and response gets ``X-OpenStack-Request-ID``;
2. ``http_proxy_to_wsgi``: honour ``X-Forwarded-Proto`` behind a proxy
   (only when ``[oslo_middleware] enable_proxy_headers_parsing`` is on);
3. CORS, for browser clients;
4. ``healthcheck``: ``GET /healthcheck`` answers without a token;
5. JSON errors: every error below this point gets DESIGN.md's JSON shape;
6. microversion negotiation (406 for a version the service does not have);
7. authentication: keystonemiddleware ``auth_token`` or ``noauth``, skipped
   only for the version document ``GET /``;
8. the pecan application, whose hooks build the request context.
"""

import collections
import functools
import inspect

from keystonemiddleware import auth_token
import microversion_parse
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
import pecan
import pecan.compat
import pecan.util
import webob.exc

from svc_common.api import hooks
from svc_common import context
from svc_common import errors

HEALTHCHECK_PATH = '/healthcheck'


class _PathSwitch(object):
    """Send requests for a few exact paths to another application."""

    def __init__(self, default, routes):
        self.default = default
        self.routes = routes

    def __call__(self, environ, start_response):
        app = self.routes.get(environ.get('PATH_INFO', ''), self.default)
        return app(environ, start_response)


def _auth_middleware(app, conf):
    if conf.api.auth_strategy == 'noauth':
        authenticated = context.NoAuthMiddleware(app)
    else:
        authenticated = auth_token.AuthProtocol(
            app, {'oslo_config_config': conf})
    # The version document is public, as in every OpenStack service.
    return _PathSwitch(authenticated, {'': app, '/': app})


class _Microversion(object):
    """Microversion negotiation, with errors in our JSON shape.

    What microversion-parse's ``MicroversionMiddleware`` does (the version
    in ``environ['<service_type>.microversion']``, the
    ``OpenStack-API-Version`` and ``Vary`` headers on the answer), with the
    header parsed once per request instead of twice, and plain WSGI
    instead of a webob request and response around every call.
    """

    def __init__(self, application, spec):
        self.application = application
        self.service_type = spec.service_type
        self.versions = list(spec.versions)
        self.environ_key = '%s.microversion' % spec.service_type

    def _version(self, environ):
        headers = microversion_parse.headers_from_wsgi_environ(environ)
        try:
            return microversion_parse.extract_version(
                headers, self.service_type, self.versions)
        except ValueError as exc:
            raise errors.ApiError('Invalid microversion: %s' % exc,
                                  status=406)
        except TypeError as exc:
            raise errors.ApiError('Invalid microversion: %s' % exc,
                                  status=400)

    def __call__(self, environ, start_response):
        version = self._version(environ)
        environ[self.environ_key] = version
        header = (microversion_parse.STANDARD_HEADER,
                  '%s %s' % (self.service_type, version))

        def start(status, headers, exc_info=None):
            return start_response(
                status, headers + [header, ('vary', header[0])], exc_info)

        try:
            return self.application(environ, start)
        except webob.exc.HTTPError as exc:
            # The answer microversion-parse's middleware (a webob.dec
            # application) turns such an exception into.
            exc.headers.add(*header)
            return exc(environ, start_response)


def _microversion_middleware(app, spec):
    return _Microversion(app, spec)


_ArgSpec = collections.namedtuple('ArgSpec', 'args varargs keywords defaults')


@functools.lru_cache(maxsize=1024)
def _function_argspec(function):
    args, varargs, keywords, defaults = inspect.getfullargspec(function)[:4]
    return _ArgSpec(args, varargs, keywords, defaults)


def _argspec(method):
    """``pecan.compat.getargspec``, remembered per function.

    pecan reads the argspec of the controller method six times to route
    and call one request, and its ``getargspec`` builds a new namedtuple
    *class* each time: 50 us a call, 0.3 ms a request.  A function's
    signature does not change, and a bound method has its function's
    (``self`` included), so the answer is kept per function; pecan copies
    the lists before changing them (and keeps such an argspec per exposed
    function itself).
    """
    function = getattr(method, '__func__', method)
    try:
        return _function_argspec(function)
    except TypeError:  # an unhashable callable object
        return pecan.compat.getargspec(function)


if pecan.util._getargspec is pecan.compat.getargspec:
    pecan.util._getargspec = _argspec


def _proxy_headers_middleware(app, conf):
    """``http_proxy_to_wsgi``, in the chain only when ``[oslo_middleware]
    enable_proxy_headers_parsing`` is on.

    Off (the default) the middleware does nothing but still costs a webob
    request and response, 45 us a request.  The option is not mutable, so
    reading it once here is the same as reading it on every request.
    """
    proxy = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)  # registers it
    return proxy if conf.oslo_middleware.enable_proxy_headers_parsing else app


def pecan_app(spec, conf, enforcer, db, notifier=None, root=None):
    if root is None:
        root = spec.module('api.root').RootController()
    return pecan.make_app(
        root,
        hooks=[hooks.ContextHook(),
               hooks.ServiceHook(spec, conf, enforcer, db, notifier)],
        force_canonical=False,
        guess_content_type_from_ext=False)


def deploy(spec, conf, enforcer, db, notifier=None, root=None):
    """Build the complete WSGI application of one service.

    :param root: a pecan root controller to use instead of the service's
        own (tests use it to look at what handlers receive).
    """
    app = pecan_app(spec, conf, enforcer, db, notifier, root)
    app = _auth_middleware(app, conf)
    app = _microversion_middleware(app, spec)
    app = errors.JsonErrorMiddleware(app, spec.namespace)
    app = _PathSwitch(app, {
        HEALTHCHECK_PATH: healthcheck.Healthcheck(None, conf)})
    app = cors.CORS(app, conf)
    app = _proxy_headers_middleware(app, conf)
    app = request_id.RequestId(app)
    return app
