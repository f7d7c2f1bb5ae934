"""The WSGI application of a service, with its middleware chain.

:func:`deploy` is the one place where the order of the middleware is
decided.  From the outside in:

1. ``request_id``: every request and response gets ``X-OpenStack-Request-ID``;
2. ``http_proxy_to_wsgi``: honour ``X-Forwarded-Proto`` behind a proxy;
3. CORS, for browser clients;
4. ``healthcheck``: ``GET /healthcheck`` answers without a token;
5. JSON errors: every error below this point gets DESIGN.md's JSON shape;
6. microversion negotiation (406 for a version the service does not have);
7. authentication: keystonemiddleware ``auth_token`` or ``noauth``, skipped
   only for the version document ``GET /``;
8. the pecan application, whose hooks build the request context.
"""

from keystonemiddleware import auth_token
import microversion_parse
import microversion_parse.middleware as mv_middleware
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
import pecan

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


class _Microversion(mv_middleware.MicroversionMiddleware):
    """microversion-parse's middleware, with errors in our JSON shape."""

    def __init__(self, application, spec):
        super().__init__(application, spec.service_type, list(spec.versions))
        self.prefix = spec.namespace

    def __call__(self, environ, start_response):
        headers = microversion_parse.headers_from_wsgi_environ(environ)
        try:
            microversion_parse.extract_version(headers, self.service_type,
                                               self.versions)
        except ValueError as exc:
            raise errors.ApiError('Invalid microversion: %s' % exc,
                                  status=406)
        except TypeError as exc:
            raise errors.ApiError('Invalid microversion: %s' % exc,
                                  status=400)
        return super().__call__(environ, start_response)


def _microversion_middleware(app, spec):
    return _Microversion(app, spec)


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
    app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    app = request_id.RequestId(app)
    return app
