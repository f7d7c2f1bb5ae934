"""The OpenAPI 3.1 document of a service, served at ``GET /v1/openapi.json``.

The document is built from what the service already has, so that it
cannot say something else than the code does:

* the routes, from the pecan controller tree (:mod:`svc_common.api.routes`);
* for each route, the :class:`Operation` its controller declares in its
  ``OPENAPI`` table (``{handler name: Operation}``, next to the handlers;
  a plain controller whose ``index`` answers several methods, as a few
  protocol endpoints must, declares a tuple of them, one per method):
  the policy rule, the request body schema the handler validates with, the
  query parameters, the response schema of a success;
* the summary of each operation, from its policy rule's description;
* the error shape of DESIGN.md, the microversion header and the Keystone
  token, the same for every service.

A controller that routes a handler without declaring it makes the build
fail (the tests build every service's document), rather than leave a
route undocumented.
"""

import functools

from svc_common.api import routes
from svc_common.schemas import parameter_types
from svc_common.schemas import response_types

OPENAPI_VERSION = '3.1.0'

#: Where every service serves its document; no token needed.
DOCUMENT_PATH = '/v1/openapi.json'

JSON_TYPE = 'application/json'
MICROVERSION_HEADER = 'OpenStack-API-Version'
REQUEST_ID_HEADER = 'X-OpenStack-Request-Id'

# Errors any request may get: a malformed microversion header or query
# (400), a microversion the service does not have (406).
_ALWAYS = (400, 406)
# ... any request that needs a token: no valid token (401), a policy
# refusal (403), Keystone or the service's database out of reach (503).
_AUTHENTICATED = (401, 403, 503)
# ... any request with path parameters: no such object (404).
_WITH_PATH = (404,)
# ... any request with a body: too large (413), not JSON (415).
_WITH_BODY = (413, 415)

_ERROR_TITLES = {
    400: 'Bad request: malformed input, named in the error\'s field.',
    401: 'No valid token.',
    403: 'The policy rule refuses the caller.',
    404: 'No such object, or one the caller may not see.',
    406: 'The service does not have the microversion asked for.',
    409: 'The request conflicts with the state of the service.',
    413: 'The body is too large.',
    415: 'The body is not JSON.',
    503: 'Keystone or the service\'s database cannot be reached now, or '
         'the database is busy: retry later.',
}


class Operation(object):
    """What the OpenAPI document says about one handler.

    :param rule: the policy rule the handler checks, without the
        service's namespace (``'project:create'``); None for the few
        public operations, which then need a ``summary``.
    :param response: JSON schema of the body of a success; None when a
        success has no body (a 204).
    :param status: the status of a success.
    :param body: JSON schema of the request body the handler validates,
        if it takes one.
    :param query: JSON schema of an object whose properties are the
        query parameters the handler reads (all strings, as query values
        are).
    :param path: ``{name: schema}`` of path parameters whose schema is
        not :data:`svc_common.schemas.parameter_types.ID`.
    :param errors: the statuses of the errors the handler itself may
        answer (409 ...), beyond those every request may get (400, 406;
        401 and 403 with a rule; 404 with path parameters; 413 and 415
        with a body).
    :param method: the HTTP method, for the ``index`` of a plain
        controller only (a RestController's handler names say it).
    :param media_type: the media type of the request body: JSON, or
        ``application/x-www-form-urlencoded`` on the few paths a service
        names in ``ServiceSpec.form_paths``.
    :param body_required: False when the request may come without a
        body (a protocol endpoint whose form fields are all optional).
    :param headers: ``{name: description}`` of the optional request
        headers the handler reads beyond the microversion (conditional
        headers such as ``If-Match``).
    :param response_headers: ``{name: description}`` of the headers a
        success carries beyond the microversion and the request id (an
        ``ETag``).
    :param not_modified: True when a conditional ``GET`` may answer
        ``304 Not Modified`` (no body; the ``response_headers``).
    :param head: False for a ``GET`` that changes state (starts or ends
        a login, issues a code): a ``HEAD``, which is answered as the
        ``GET`` it mirrors everywhere else (:mod:`svc_common.deploy`),
        is then a ``405`` that never runs the handler.
    """

    def __init__(self, rule, response=None, status=200, body=None,
                 query=None, path=None, errors=(), method=None,
                 summary=None, media_type=JSON_TYPE, body_required=True,
                 headers=None, response_headers=None, not_modified=False,
                 head=True):
        if rule is None and not summary:
            raise ValueError('A public operation needs a summary.')
        self.rule = rule
        self.response = response
        self.status = status
        self.body = body
        self.query = query
        self.path = dict(path or {})
        self.errors = tuple(errors)
        self.method = method
        self.summary = summary
        self.media_type = media_type
        self.body_required = body_required
        self.headers = dict(headers or {})
        self.response_headers = dict(response_headers or {})
        self.not_modified = not_modified
        self.head = head


def declarations(route):
    """The :class:`Operation` objects that ``route``'s controller
    declares: one, or one per method for a plain controller's ``index``
    that answers several."""
    name = type(route.controller).__name__
    declared = getattr(route.controller, 'OPENAPI', {}).get(route.name)
    if declared is None:
        raise ValueError(
            '%s.%s answers %s but its controller declares no OpenAPI '
            'operation for it (OPENAPI[%r]).' % (
                name, route.name, route.path, route.name))
    if isinstance(declared, Operation):
        declared = (declared,)
    elif route.method is not None:
        raise ValueError('%s.%s: only a plain controller\'s index declares '
                         'several operations.' % (name, route.name))
    methods = [operation.method for operation in declared]
    if route.method is None and (None in methods or not methods):
        raise ValueError('%s.%s: the declaration of a plain controller\'s '
                         'index must name its method.'
                         % (name, route.name))
    if len(set(methods)) != len(methods):
        raise ValueError('%s.%s declares a method twice: %s.'
                         % (name, route.name, ', '.join(methods)))
    if route.method is not None and methods[0] not in (None, route.method):
        raise ValueError('%s.%s answers %s, not %s.' % (
            name, route.name, route.method, methods[0]))
    return tuple(declared)


def operations(root):
    """``(method, path, route, Operation)`` of every route under ``root``,
    sorted by path then method."""
    found = []
    for route in routes.walk(root):
        for declared in declarations(route):
            found.append((route.method or declared.method, route.path,
                          route, declared))
    return sorted(found, key=lambda item: (item[1], item[0]))


def _json_content(schema):
    return {JSON_TYPE: {'schema': schema}}


def _parameters(route, declared):
    params = [{'$ref': '#/components/parameters/Microversion'}]
    for name in route.parameters:
        params.append({'name': name, 'in': 'path', 'required': True,
                       'schema': declared.path.get(name,
                                                   parameter_types.ID)})
    query = declared.query or {}
    required = set(query.get('required', ()))
    for name, schema in sorted(query.get('properties', {}).items()):
        params.append({'name': name, 'in': 'query',
                       'required': name in required, 'schema': schema})
    for name, description in sorted(declared.headers.items()):
        params.append({'name': name, 'in': 'header', 'required': False,
                       'description': description,
                       'schema': {'type': 'string'}})
    return params


def _error_statuses(route, declared):
    statuses = set(_ALWAYS) | set(declared.errors)
    if declared.rule is not None:
        statuses.update(_AUTHENTICATED)
    if route.parameters:
        statuses.update(_WITH_PATH)
    if declared.body is not None:
        statuses.update(_WITH_BODY)
    return sorted(statuses)


def _responses(route, declared):
    success = {'description': 'Success.', 'headers': {
        MICROVERSION_HEADER: {'$ref': '#/components/headers/Microversion'},
        REQUEST_ID_HEADER: {'$ref': '#/components/headers/RequestId'}}}
    for name, description in sorted(declared.response_headers.items()):
        success['headers'][name] = {'description': description,
                                    'schema': {'type': 'string'}}
    if declared.response is not None:
        success['content'] = _json_content(declared.response)
    responses = {str(declared.status): success}
    if declared.not_modified:
        responses['304'] = {
            'description': 'Not modified: If-None-Match names the '
                           'current ETag. No body.',
            'headers': dict(success['headers'])}
    for status in _error_statuses(route, declared):
        responses[str(status)] = {
            'description': _ERROR_TITLES.get(status, 'Error.'),
            'headers': {REQUEST_ID_HEADER: {
                '$ref': '#/components/headers/RequestId'}},
            'content': _json_content({'$ref': '#/components/schemas/Error'})}
    return responses


def _operation(spec, rules, method, route, declared):
    op = {'parameters': _parameters(route, declared),
          'responses': _responses(route, declared)}
    if declared.rule is None:
        op['summary'] = declared.summary
        op['security'] = []
    else:
        name = '%s:%s' % (spec.namespace, declared.rule)
        if name not in rules:
            raise ValueError('%s %s names policy rule %s, which %s does not '
                             'have.' % (method, route.path, name,
                                        spec.package))
        op['summary'] = declared.summary or rules[name].description
        op['x-openstack-policy'] = name
    if method == 'GET' and not declared.head:
        op['description'] = ('This GET changes state: a HEAD is refused '
                             '(405) and does not run it.')
    if declared.body is not None:
        op['requestBody'] = {
            'required': declared.body_required,
            'content': {declared.media_type: {'schema': declared.body}}}
    return op


def _components(spec):
    return {
        'schemas': {'Error': response_types.error_body(spec.namespace)},
        'parameters': {'Microversion': {
            'name': MICROVERSION_HEADER, 'in': 'header', 'required': False,
            'description': (
                'The microversion asked for: "%s X.Y" with X.Y from %s to '
                '%s, or "%s latest". Without it the request is served at '
                '%s.' % (spec.service_type, spec.min_version,
                         spec.max_version, spec.service_type,
                         spec.min_version)),
            'schema': {'enum': ['%s %s' % (spec.service_type, version)
                                for version in spec.versions + ('latest',)]}
        }},
        'headers': {
            'Microversion': {
                'description': 'The microversion that served the request.',
                'required': True,
                'schema': {'type': 'string'}},
            'RequestId': {
                'description': 'The ID of the request, as in the logs.',
                'required': True,
                'schema': {'type': 'string'}}},
        'securitySchemes': dict(_session_schemes(spec), keystone={
            'type': 'apiKey', 'in': 'header', 'name': 'X-Auth-Token',
            'description': 'A Keystone token.'}),
    }


def _session_schemes(spec):
    """The security schemes of the service's ``session_auth`` module
    (its ``OPENAPI_SECURITY_SCHEMES``), the ways other than a Keystone
    token that it accepts."""
    if not isinstance(spec.session_auth, str):
        return {}
    return dict(getattr(spec.module(spec.session_auth),
                        'OPENAPI_SECURITY_SCHEMES', {}))


def build(spec, root, rules):
    """The OpenAPI document of ``spec``'s API.

    :param root: the service's pecan root controller.
    :param rules: the service's policy rules (``list_rules()``).
    :raises ValueError: when a route has no declaration, or names a rule
        the service does not have.
    """
    by_name = {rule.name: rule for rule in rules}
    paths = {}
    for method, path, route, declared in operations(root):
        op = _operation(spec, by_name, method, route, declared)
        # The route itself names the operation uniquely.
        op['operationId'] = '%s %s' % (method, path)
        paths.setdefault(path, {})[method.lower()] = op
    return {
        'openapi': OPENAPI_VERSION,
        'info': {'title': spec.title, 'version': spec.max_version,
                 'description': (
                     'The %s API (service type "%s"), microversions %s to '
                     '%s. Errors have one shape: {"errors": [{"status", '
                     '"code", "title", "detail", "request_id"}]}. HEAD '
                     'is answered wherever GET is, as the GET would be but '
                     'without a body, unless the GET operation says '
                     'otherwise.'
                     % (spec.package, spec.service_type, spec.min_version,
                        spec.max_version))},
        'servers': [{'url': '/'}],
        # Any one of the schemes will do.
        'security': [{'keystone': []}] + [
            {name: []} for name in sorted(_session_schemes(spec))],
        'paths': paths,
        'components': _components(spec),
    }


@functools.lru_cache(maxsize=None)
def document(spec):
    """The document of ``spec``'s API, built once per process."""
    return build(spec, spec.module('api.root').RootController(),
                 spec.module('policies').list_rules())
