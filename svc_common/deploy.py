"""The WSGI application of a service, with its middleware chain.

:func:`deploy` is the one place where the order of the middleware is
decided.  From the outside in:

1. ``request_id`` (oslo.middleware's, in plain WSGI: :class:`_RequestId`):
   every request and response gets ``X-OpenStack-Request-ID``;
2. ``http_proxy_to_wsgi``: honour ``X-Forwarded-Proto`` behind a proxy
   (only when ``[oslo_middleware] enable_proxy_headers_parsing`` is on);
3. CORS, for browser clients (for ``OPTIONS`` only while ``[cors]
   allowed_origin`` names no origin);
4. ``healthcheck``: ``GET /healthcheck`` answers without a token; any
   other method but ``HEAD`` is a JSON ``405``, except for a request the
   check leaves to the service (:class:`_HealthcheckMethods`);
5. JSON errors: every error below this point gets DESIGN.md's JSON shape;
6. microversion negotiation (406 for a version the service does not have,
   400 for a malformed header);
7. the request guard (:mod:`svc_common.api.request_guard`): URL and body
   checks that no endpoint may skip, and the one parse of a JSON body;
8. authentication, skipped only for the version document ``GET /``, the
   OpenAPI document ``GET /v1/openapi.json`` and the service's
   ``public_paths`` (protocol endpoints that authenticate their callers
   themselves; behind keystonemiddleware they never see a client's
   identity headers).  Elsewhere a request without a token
   (``X-Auth-Token``; with ``noauth``, ``X-User-Id``) is first shown to
   the service's ``session_auth`` authenticator, if it
   has one: a user id it answers reaches the application as the only
   identity (every identity header the client sent removed, no project,
   no roles); otherwise, and for every request with a token,
   keystonemiddleware ``auth_token`` or ``noauth`` decides;
9. the pecan application, routed by the table that the OpenAPI document
   is built from (:class:`svc_common.api.routes.Router`), with handler
   arguments from the URL path only; its hooks build the request context.

``HEAD`` (RFC 9110 9.3.2) is answered at the entry of the chain, once for
every layer: the request goes down as the ``GET`` it mirrors, marked with
:data:`HEAD_KEY`, and its answer comes back with the status and headers of
that ``GET`` (``Content-Length`` of its body, ``ETag``, ``304`` to a
matching ``If-None-Match``, the same refusals) and no body (see
:func:`_answer_head`).  A ``GET`` that changes state (a login's start, a
logout: its controller's :class:`~svc_common.api.openapi.Operation` says
``head=False``) is never run for a ``HEAD``, which is a ``405``.  Every
``405`` lists ``HEAD`` in its ``Allow`` header wherever ``GET`` is
answered, and only there.
"""

import inspect
import ipaddress
import re

from keystonemiddleware import auth_token
import microversion_parse
from oslo_context import context as oslo_context
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import opts as middleware_opts
from oslo_middleware import request_id
import pecan
import webob
import webob.exc

from svc_common.api import hooks
from svc_common.api import openapi
from svc_common.api import request_guard
from svc_common.api import routes
from svc_common.api import validation
from svc_common import context
from svc_common import errors

HEALTHCHECK_PATH = '/healthcheck'

#: Set in the environ of a ``HEAD`` request, which the chain below its
#: entry sees as the ``GET`` it mirrors.
HEAD_KEY = 'svc_common.head'

_VERSION_HEADER = 'OpenStack-API-Version'
_VERSION_ENVIRON_KEY = 'HTTP_OPENSTACK_API_VERSION'


class _HealthcheckMethods(object):
    """oslo.middleware's healthcheck for ``GET`` (and ``HEAD``, which
    reaches it as the ``GET`` it mirrors); any other method is refused
    with the ``405`` that a path of the service answers it (the JSON
    error of ``prefix``, ``Allow: GET, HEAD``), without running the
    checks.  oslo.middleware answers every method as it answers ``GET``.

    A request that ``[healthcheck] allowed_source_ranges`` or
    ``ignore_proxied_requests`` keeps from the check goes to ``service``
    whatever its method, as oslo.middleware sends a ``GET`` on: the
    ``405``'s ``Allow`` would tell a client outside the ranges that the
    check is there.

    An ``OPTIONS`` request reaches this ``405`` through CORS, which
    answers it as it answers an ``OPTIONS`` of any other path.
    """

    ALLOW = 'GET, HEAD'

    #: The headers whose presence makes a request proxied for
    #: ``ignore_proxied_requests`` (oslo.middleware's list).
    PROXY_KEYS = tuple('HTTP_X_FORWARDED%s' % suffix for suffix in
                       ('', '_PROTO', '_HOST', '_FOR', '_PREFIX'))

    def __init__(self, healthcheck_app, prefix, service, conf):
        self.healthcheck = healthcheck_app
        self.refusal = errors.JsonErrorMiddleware(self._refuse, prefix)
        self.service = service
        # Registered by oslo.middleware's Healthcheck; not mutable.
        self.source_ranges = [ipaddress.ip_network(text) for text in
                              conf.healthcheck.allowed_source_ranges]
        self.ignore_proxied = conf.healthcheck.ignore_proxied_requests

    def _refuse(self, environ, start_response):
        exc = webob.exc.HTTPMethodNotAllowed(headers={'Allow': self.ALLOW})
        return exc(environ, start_response)

    def _kept_from_check(self, environ):
        """Whether the health check leaves ``environ`` to the service,
        as oslo.middleware's ``Healthcheck.process_request`` decides."""
        if self.source_ranges:
            try:
                address = ipaddress.ip_address(environ.get('REMOTE_ADDR'))
            except ValueError:
                return True
            if not any(address.version == network.version and
                       address in network
                       for network in self.source_ranges):
                return True
        return self.ignore_proxied and any(
            environ.get(key) for key in self.PROXY_KEYS)

    def __call__(self, environ, start_response):
        if environ.get('REQUEST_METHOD') == 'GET':
            return self.healthcheck(environ, start_response)
        if self._kept_from_check(environ):
            return self.service(environ, start_response)
        return self.refusal(environ, start_response)


class _PathSwitch(object):
    """Send requests for a few exact paths to another application."""

    def __init__(self, default, routes):
        self.default = default
        self.routes = routes

    def __call__(self, environ, start_response):
        app = self.routes.get(environ.get('PATH_INFO', ''), self.default)
        return app(environ, start_response)


#: The identity headers of a request, as WSGI environ keys: those
#: keystonemiddleware sets (and removes from what a client sends), for the
#: user and for a service token, their deprecated names, those
#: oslo.context reads, and the ``noauth`` ``X-System-Scope``.
IDENTITY_ENVIRON_KEYS = tuple(sorted(
    ['HTTP_X%s_%s' % (prefix, name)
     for prefix in ('', '_SERVICE')
     for name in ('DOMAIN_ID', 'DOMAIN_NAME', 'PROJECT_ID', 'PROJECT_NAME',
                  'PROJECT_DOMAIN_ID', 'PROJECT_DOMAIN_NAME', 'USER_ID',
                  'USER_NAME', 'USER_DOMAIN_ID', 'USER_DOMAIN_NAME',
                  'ROLES', 'IDENTITY_STATUS', 'SYSTEM_SCOPE')] +
    ['HTTP_X_SERVICE_CATALOG', 'HTTP_X_IS_ADMIN_PROJECT',
     'HTTP_OPENSTACK_SYSTEM_SCOPE', 'HTTP_X_ROLE', 'HTTP_X_USER',
     'HTTP_X_TENANT_ID', 'HTTP_X_TENANT_NAME', 'HTTP_X_TENANT',
     'HTTP_X_STORAGE_TOKEN', 'HTTP_X_SERVICE_TOKEN']))

#: Set in the environ of a request that ``session_auth`` authenticated.
SESSION_AUTH_KEY = 'svc_common.session_auth'


def remove_identity_headers(environ):
    """Remove every identity header a client may have sent."""
    for key in IDENTITY_ENVIRON_KEYS:
        environ.pop(key, None)


class _WithoutIdentity(object):
    """Hand an application a request without identity headers."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        remove_identity_headers(environ)
        return self.application(environ, start_response)


class _SessionAuth(object):
    """A request without a token that ``authenticate`` answers a user id
    for goes to ``application`` as that user alone; any other to
    ``fallback`` (keystonemiddleware or ``noauth``).

    :param token_keys: the environ keys of what counts as a token:
        ``X-Auth-Token`` and ``X-Storage-Token`` (keystonemiddleware
        reads both), and with ``noauth`` ``X-User-Id`` too (its token).
    """

    def __init__(self, application, fallback, authenticate, token_keys):
        self.application = application
        self.fallback = fallback
        self.authenticate = authenticate
        self.token_keys = token_keys

    def __call__(self, environ, start_response):
        if not any(environ.get(key) for key in self.token_keys):
            user_id = self.authenticate(environ)
            if user_id:
                remove_identity_headers(environ)
                environ.update({
                    'HTTP_X_USER_ID': user_id,
                    'HTTP_X_IDENTITY_STATUS': 'Confirmed',
                    # oslo.context takes a request without this header
                    # for one of the admin project.
                    'HTTP_X_IS_ADMIN_PROJECT': 'False',
                    SESSION_AUTH_KEY: True})
                return self.application(environ, start_response)
        return self.fallback(environ, start_response)


def _auth_middleware(app, conf, spec, db):
    token_keys = ('HTTP_X_AUTH_TOKEN', 'HTTP_X_STORAGE_TOKEN')
    if conf.api.auth_strategy == 'noauth':
        authenticated = context.NoAuthMiddleware(app)
        public_app = app
        token_keys += ('HTTP_X_USER_ID',)
    else:
        # keystonemiddleware's include_service_catalog stays at its own
        # default (true) although no Arbiter service reads the caller's
        # catalog: its token cache keys do not depend on the option, so
        # a token validated here without its catalog and cached in a
        # memcached that Nova or Glance share would reach them without
        # theirs.  An operator whose services have a token cache of their
        # own may set it false (see the installation guide).
        authenticated = auth_token.AuthProtocol(
            app, {'oslo_config_config': conf})
        # keystonemiddleware removes the identity headers a client sends;
        # where it does not run, they go too.
        public_app = _WithoutIdentity(app)
    authenticate = spec.authenticator(conf, db)
    if authenticate is not None:
        authenticated = _SessionAuth(app, authenticated, authenticate,
                                     token_keys)
    # The version document is public, as in every OpenStack service, and
    # so is the description of the API.
    # A service's own protocol endpoints authenticate their callers
    # themselves (ServiceSpec.public_paths).
    public = {path: public_app for path in spec.public_paths}
    return _PathSwitch(authenticated, dict(public, **{
        '': public_app, '/': public_app, openapi.DOCUMENT_PATH: public_app}))


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
        value = environ.get(_VERSION_ENVIRON_KEY)
        self._check_header(value)
        headers = microversion_parse.headers_from_wsgi_environ(environ)
        try:
            return microversion_parse.extract_version(
                headers, self.service_type, self.versions)
        except ValueError:
            # microversion-parse's "Unacceptable version header: 9.9"
            # said neither what the service has nor where to look.
            raise errors.ApiError(
                'Invalid microversion: %s header %s asks for a version '
                'this service does not have; it supports %s %s to %s '
                '(its version document, GET /, lists them) and "%s '
                'latest".' % (_VERSION_HEADER, validation.json_text(value),
                              self.service_type,
                              self.versions[0], self.versions[-1],
                              self.service_type), status=406)
        except TypeError:
            # microversion-parse's message ends with Python's own
            # ("invalid literal for int() with base 10: 'one'").
            raise self._malformed(value)

    def _malformed(self, value):
        return errors.ApiError(
            'Invalid microversion: %s header %s: expected "%s X.Y" or '
            '"%s latest".' % (_VERSION_HEADER, validation.json_text(value),
                              self.service_type,
                              self.service_type), status=400)

    def _check_header(self, value):
        """Refuse what microversion-parse lets through as "no version".

        ``OpenStack-API-Version: limits`` (the service without a version)
        and a header naming this service twice with different versions
        are malformed; microversion-parse reads the first as the default
        version and the second as the first version named.
        """
        if value is None:
            return
        asked = set()
        for element in value.split(','):
            words = element.split()
            if not words or words[0].lower() != self.service_type:
                continue
            if len(words) != 2:
                raise self._malformed(element.strip())
            asked.add(words[1].lower())
        if len(asked) > 1:
            raise errors.ApiError(
                'Invalid microversion: %s asks for %s more than once '
                '(%s).' % (_VERSION_HEADER,
                           self.service_type, ', '.join(sorted(asked))),
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


class _OptionsOnly(object):
    """Send ``OPTIONS`` requests to one application, others to another."""

    def __init__(self, default, options_app):
        self.default = default
        self.options_app = options_app

    def __call__(self, environ, start_response):
        if environ.get('REQUEST_METHOD') == 'OPTIONS':
            return self.options_app(environ, start_response)
        return self.default(environ, start_response)


def _cors_middleware(app, conf):
    """oslo.middleware's CORS, for every request when ``[cors]
    allowed_origin`` names an origin, else for ``OPTIONS`` only.

    With no origin allowed it changes nothing of another request's answer
    (it adds headers only for an allowed ``Origin``) but still costs a
    webob request and response; an ``OPTIONS`` request it answers itself
    (a 200 in place of the application's error), so those still go
    through it.  The options are not mutable, so reading them once here
    is the same as at every request.
    """
    cors_app = cors.CORS(app, conf)
    if cors_app.allowed_origins:
        return cors_app
    return _OptionsOnly(app, cors_app)


def _answer_head(application, environ, start_response):
    """Answer a ``HEAD`` request as ``application`` answers the ``GET`` it
    mirrors, without the body (RFC 9110 9.3.2).

    The request goes down as a ``GET`` marked with :data:`HEAD_KEY`, so
    that every layer (healthcheck, CORS, authentication, policy, routing,
    conditional requests) decides as it does for that ``GET``; the status
    and the headers come back as they are, ``Content-Length`` (the length
    of the body a ``GET`` gets) included, and the body is dropped.  Only
    routing looks at the mark: a ``GET`` that changes state is not run
    (:meth:`_PathArgumentsPecan.route`).  The body is read to its end
    before it is dropped, so that an application that starts its answer
    lazily still starts it.
    """
    # A copy: the server's own environ keeps its HEAD, for what it logs
    # from it once the answer is sent (gunicorn's access log does).
    environ = dict(environ, REQUEST_METHOD='GET', **{HEAD_KEY: True})
    result = application(environ, start_response)
    try:
        for _chunk in result:
            pass
    finally:
        close = getattr(result, 'close', None)
        if close is not None:
            close()
    return []


class _RequestId(object):
    """oslo.middleware's ``request_id``, in plain WSGI; the entry of the
    chain, where a ``HEAD`` becomes the ``GET`` it mirrors
    (:func:`_answer_head`: here, so that a non-``HEAD`` request pays a
    string comparison for it and no more).

    The same names and rules (``oslo_middleware.request_id``'s constants):
    a new ``req-<uuid>`` in ``environ['openstack.request_id']``, an
    inbound ``X-OpenStack-Request-ID`` of that form kept as
    ``environ['openstack.global_request_id']``, and the request's id in
    the ``X-OpenStack-Request-ID`` header of the answer unless the answer
    has one.  oslo.middleware's ``RequestId`` does it through a webob
    request and response around every request, which cost as much as the
    rest of the middleware chain above authentication together.
    """

    _GLOBAL_ID = re.compile(request_id.ID_FORMAT)
    _INBOUND_KEY = 'HTTP_' + request_id.INBOUND_HEADER.upper().replace(
        '-', '_')

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if environ['REQUEST_METHOD'] == 'HEAD':
            return _answer_head(self, environ, start_response)
        inbound = environ.get(self._INBOUND_KEY, '')
        if self._GLOBAL_ID.match(inbound):
            environ[request_id.GLOBAL_REQ_ID] = inbound
        req_id = oslo_context.generate_request_id()
        environ[request_id.ENV_REQUEST_ID] = req_id

        def start(status, headers, exc_info=None):
            if not any(name.lower() == request_id.HTTP_RESP_HEADER_REQUEST_ID
                       for name, _value in headers):
                headers = list(headers) + [
                    (request_id.HTTP_RESP_HEADER_REQUEST_ID, req_id)]
            return start_response(status, headers, exc_info)

        return self.application(environ, start)


def _proxy_headers_middleware(app, conf):
    """``http_proxy_to_wsgi``, in the chain only when ``[oslo_middleware]
    enable_proxy_headers_parsing`` is on.

    Off (the default) the middleware does nothing but still costs a webob
    request and response, 45 us a request.  The option is not mutable, so
    reading it once here is the same as reading it on every request.
    """
    proxy = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)  # registers it
    return proxy if conf.oslo_middleware.enable_proxy_headers_parsing else app


class _Request(pecan.Request):
    """pecan's request, whose JSON body is the one the request guard
    parsed (:mod:`svc_common.api.request_guard`).

    pecan reads ``request.json`` of every request with a JSON body to
    offer its members as handler arguments (which :meth:`_PathArgumentsPecan
    .get_args` then ignores): webob parsed the body a second time, as
    large as ``[oslo_middleware] max_request_body_size`` allows.  The
    guard refused any body it could not parse, so what it left is what
    webob would read, duplicate member names aside (refused).
    """

    def _parsed_json(self):
        try:
            return self.environ[validation.PARSED_BODY_KEY]
        except KeyError:
            return webob.Request.json.fget(self)

    def _set_json(self, value):
        self.environ.pop(validation.PARSED_BODY_KEY, None)
        webob.Request.json.fset(self, value)

    json = json_body = property(_parsed_json, _set_json,
                                webob.Request.json.fdel)


#: Statuses whose answer has no body (RFC 9110 15.3.5, 15.4.5).
_NO_BODY_STATUSES = (204, 304)


def _declared_methods(served):
    """``{Route: frozenset of methods}`` of the routes ``served``.

    A RestController's handler answers the method its name says; a plain
    controller's ``index`` the methods its controller declares
    (:func:`svc_common.api.openapi.declarations`); an ``index`` that
    declares none (a test's controller) is left to pecan and not listed.
    """
    found = {}
    for route in served:
        if route.method is not None:
            found[route] = frozenset([route.method])
            continue
        try:
            declared = openapi.declarations(route)
        except ValueError:
            continue
        found[route] = frozenset(operation.method for operation in declared)
    return found


def _head_refused(methods):
    """The routes answering ``GET`` whose declaration says that a ``HEAD``
    may not run them (``Operation(head=False)``: a ``GET`` that changes
    state)."""
    refused = set()
    for route in methods:
        if 'GET' not in methods[route]:
            continue
        try:
            declared = openapi.declarations(route)
        except ValueError:
            continue
        if any(operation.method in (None, 'GET') and not operation.head
               for operation in declared):
            refused.add(route)
    return frozenset(refused)


#: A path parameter of a route's path, whatever its name.
_PARAMETER = re.compile(r'\{[^}]*\}')


def _allow_headers(methods, head_refused):
    """``{Route: the Allow header of its path}``: the methods of every
    route of the path, and ``HEAD`` where ``GET`` is one and a ``HEAD``
    may run it."""
    by_path = {}
    for route, answered in methods.items():
        # Handlers of one path may name its parameters differently.
        by_path.setdefault(_PARAMETER.sub('{}', route.path), []).append(
            (route, answered))
    allow = {}
    for entries in by_path.values():
        names = set()
        for route, answered in entries:
            names.update(answered)
            if 'GET' in answered and route not in head_refused:
                names.add('HEAD')
        header = ', '.join(sorted(names))
        for route, _answered in entries:
            allow[route] = header
    return allow


class _PathArgumentsPecan(pecan.Pecan):
    """pecan, with a handler's arguments taken from the URL path only.

    pecan fills the positional arguments of a handler that the path does
    not give from query parameters, form fields and JSON body members of
    the same name: ``DELETE /v1/projects?project_id=p1`` (or with the body
    ``{"project_id": "p1"}``) deleted project ``p1``, and ``DELETE
    /v1/projects`` without any called the handler one argument short
    (a 500).  Here a handler gets the path's parts and nothing else; a
    path with too few parts is a 404, as one with too many already is.
    """

    def __init__(self, root, *args, **kwargs):
        super().__init__(root, *args, **kwargs)
        self.router = routes.Router(root)
        methods = _declared_methods(self.router.routes)
        #: The ``GET`` routes that a ``HEAD`` may not run.
        self._head_refused = _head_refused(methods)
        #: The routes whose method routing checks itself: a plain
        #: controller's ``index`` that declares its methods, and a
        #: ``GET`` that a ``HEAD`` may not run; ``{Route: methods}``.
        self._checked_methods = {
            route: answered for route, answered in methods.items()
            if route.method is None or route in self._head_refused}
        #: ``{Route: Allow header}``, for the ``405`` of any method that
        #: its path does not answer.
        self._allow = _allow_headers(methods, self._head_refused)

    def route(self, req, node, path):
        """The handler of ``path`` from :class:`routes.Router`'s table,
        and the path parameters to pass it.

        ``405`` for a method its path does not answer, with ``HEAD`` in
        ``Allow`` wherever ``GET`` is, and for a ``HEAD`` (seen here as
        its ``GET``, :func:`_answer_head`) of a ``GET`` that changes
        state.  A plain controller's methods are those it declares
        (:func:`svc_common.api.openapi.declarations`), checked here rather
        than by pecan, whose ``405`` lists them without ``HEAD``.
        """
        method = req.method
        try:
            found, values = self.router.match(method, path)
        except webob.exc.HTTPMethodNotAllowed as exc:
            raise self._not_allowed(path, exc)
        if found in self._checked_methods and (
                method not in self._checked_methods[found] or
                (HEAD_KEY in req.environ and found in self._head_refused)):
            raise webob.exc.HTTPMethodNotAllowed(
                headers={'Allow': self._allow[found]})
        return getattr(found.controller, found.name), values

    def _not_allowed(self, path, exc):
        """The router's ``405`` for ``path``, with ``HEAD`` in its
        ``Allow`` header when the path answers ``GET``."""
        try:
            get, _values = self.router.match('GET', path)
        except webob.exc.HTTPException:
            return exc
        return webob.exc.HTTPMethodNotAllowed(
            headers={'Allow': self._allow[get]})

    def get_args(self, state, all_params, remainder, argspec, im_self):
        args, varargs, kwargs = super().get_args(
            state, {}, remainder, argspec, im_self)
        wanted = list(argspec.args)
        if inspect.ismethod(state.controller) or im_self:
            wanted.pop(0)
        required = len(wanted) - len(argspec.defaults or ())
        given = len(args) - (1 if im_self is not None else 0)
        if given < required:
            pecan.abort(404)
        return args, varargs, kwargs

    def invoke_controller(self, controller, args, kwargs, state):
        """Call the handler and render its JSON answer, without asking
        Python for the handler's signature at every request.

        pecan's own ``invoke_controller`` reads the signature (a new
        ``namedtuple`` class and ``inspect.getfullargspec``: about 50 us
        a request) only to drop keyword arguments the handler does not
        take; :meth:`get_args` never passes any.  What it does besides is
        done here the same way for a handler whose answer is JSON (every
        handler of this project): a ``webob`` response returned as it is,
        ``pecan.override_template`` and ``override_content_type`` obeyed,
        the body rendered by pecan's renderer.  Any other handler goes
        through pecan's own method.  The answer of a JSON handler is
        always rendered with the ``json`` template: a handler must be
        exposed with it (``@pecan.expose('json')``, as all are), not with
        ``content_type='application/json'`` alone and a body it
        serialised itself, which would be rendered a second time.

        An answer whose status says it has no body (``204 No Content``,
        ``304 Not Modified``) gets none, and no ``Content-Length``: pecan
        rendered the handler's ``None`` as ``null``, sent with
        ``Content-Length: 4``.
        """
        pecan_state = state.request.pecan
        if kwargs or pecan_state['content_type'] != 'application/json':
            return super().invoke_controller(controller, args, kwargs, state)
        result = controller(*args)
        if result is pecan.response:
            return
        if isinstance(result, webob.Response):
            state.response = result
            return
        if state.response.status_int in _NO_BODY_STATUSES:
            # Nor a Content-Length: HTTP forbids it in a 204, and in a
            # 304 it would be the length of the representation.
            state.response.headers.pop('Content-Length', None)
            return
        template = pecan_state.get('override_template', 'json')
        content_type = pecan_state.get('override_content_type',
                                       'application/json')
        if template == 'json':
            content_type = 'application/json'
        pecan_state['content_type'] = content_type
        body = self.render(template, result) if template else result
        testing = state.request.environ.get('paste.testing_variables')
        if testing is not None and state.request.environ.get(
                'paste.testing'):
            testing.update(namespace=result, template_name=template,
                           controller_output=body)
        if body and isinstance(body, str):
            state.response.text = body
        elif body:
            state.response.body = body
        if content_type:
            state.response.content_type = content_type


def pecan_app(spec, conf, enforcer, db, notifier=None, root=None):
    """The pecan application of a service (see :class:`_PathArgumentsPecan`).

    Built as :func:`pecan.make_app` builds it (the application, wrapped in
    pecan's recursive middleware; no debug middleware), from a subclass.
    """
    if root is None:
        root = spec.module('api.root').RootController()
    app = _PathArgumentsPecan(
        root,
        hooks=[hooks.ContextHook(),
               hooks.ServiceHook(spec, conf, enforcer, db, notifier)],
        force_canonical=False,
        guess_content_type_from_ext=False,
        request_cls=_Request)
    return pecan.RecursiveMiddleware(app)


def _request_guard(app, conf, spec):
    """:class:`~svc_common.api.request_guard.RequestGuard`, with the body
    size limit of ``[oslo_middleware] max_request_body_size`` (oslo's
    option, registered here as oslo's own size-limit middleware would)."""
    for group, opts in middleware_opts.list_opts_sizelimit():
        conf.register_opts(opts, group=group)
    return request_guard.RequestGuard(
        app, conf.oslo_middleware.max_request_body_size,
        form_paths=spec.form_paths)


def deploy(spec, conf, enforcer, db, notifier=None, root=None):
    """Build the complete WSGI application of one service.

    :param root: a pecan root controller to use instead of the service's
        own (tests use it to look at what handlers receive).
    """
    if db is not None:
        spec.start(conf, db)
    app = pecan_app(spec, conf, enforcer, db, notifier, root)
    app = _auth_middleware(app, conf, spec, db)
    app = _request_guard(app, conf, spec)
    app = _microversion_middleware(app, spec)
    app = errors.JsonErrorMiddleware(app, spec.namespace)
    # A request the health check leaves alone (``[healthcheck]
    # allowed_source_ranges``, ``ignore_proxied_requests``) goes on to
    # the service, as any other path's: given no application, webob
    # forwarded it over HTTP to the host its Host header named.
    app = _PathSwitch(app, {
        HEALTHCHECK_PATH: _HealthcheckMethods(
            healthcheck.Healthcheck(app, conf), spec.namespace, app, conf)})
    app = _cors_middleware(app, conf)
    app = _proxy_headers_middleware(app, conf)
    app = _RequestId(app)
    return app
