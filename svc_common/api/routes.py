"""Every route of a service, read from its pecan controller tree.

Controllers are wired as STYLE.md asks: a ``RestController`` per resource,
attached to its parent by attribute, no ``_lookup``.  The walk reads them
as pecan routes them:

* a ``RestController``'s ``get_all``, ``get_one``, ``post``, ``put``,
  ``patch`` and ``delete`` answer ``GET``/``POST``... on its path, followed
  by one path part per argument the handler takes beyond its parents'
  (``get_one(project_id)`` on ``/v1/projects`` is
  ``GET /v1/projects/{project_id}``);
* a controller attached to a ``RestController`` sits after the IDs its
  parent's ``get_one`` takes (``usage`` under ``/v1/projects`` is
  ``/v1/projects/{project_id}/usage``);
* a plain controller answers on its own path through its ``index``; which
  methods ``index`` answers (``index.when(method=...)``) pecan keeps to
  itself, so the controller's declarations say it (one
  :class:`svc_common.api.openapi.Operation` per method).  Other exposed
  methods of a plain controller are not routes (:class:`Router` does not
  serve them).

Path parameters are named after the handler's arguments.
"""

import inspect

from pecan import rest
import pecan.util
import webob.exc

#: RestController handlers and the HTTP method each answers.
REST_HANDLERS = (('get_all', 'GET'), ('get_one', 'GET'), ('post', 'POST'),
                 ('put', 'PUT'), ('patch', 'PATCH'), ('delete', 'DELETE'))


class Route(object):
    """``method`` on ``path`` (``{name}`` for each path parameter),
    answered by the handler ``name`` of ``controller``."""

    def __init__(self, method, path, controller, name, parameters):
        self.method = method
        self.path = path
        self.controller = controller
        self.name = name
        #: Names of the path parameters, in the order of the path.
        self.parameters = tuple(parameters)

    @property
    def key(self):
        return (self.method, self.path)

    def __repr__(self):
        return '%s %s' % self.key


def arguments(handler):
    """The names of a handler's positional arguments, ``self`` excluded."""
    return [p.name for p in inspect.signature(handler).parameters.values()
            if p.kind == p.POSITIONAL_OR_KEYWORD]


def children(controller):
    """``(path part, controller)`` of each controller attached to
    ``controller``: attributes that expose a handler themselves."""
    for name in sorted(dir(controller)):
        if name.startswith('_'):
            continue
        child = getattr(controller, name, None)
        if (child is None or inspect.isroutine(child) or
                inspect.isclass(child) or
                isinstance(child, (str, bytes, int, float, tuple, list,
                                   dict, set, frozenset))):
            continue
        if any(pecan.util.iscontroller(getattr(child, attr, None))
               for attr in dir(child) if not attr.startswith('_')):
            yield name, child


def _template(path, count):
    return path + '/{}' * count


def _route(method, template, controller, name, names):
    return Route(method, template.format(*['{%s}' % n for n in names]) or '/',
                 controller, name, names)


def walk(controller, path='', parent_args=0, seen=None):
    """Every :class:`Route` of the tree under ``controller``, mounted at
    ``path`` ('' for the root)."""
    seen = set() if seen is None else seen
    if id(controller) in seen:
        return []
    seen.add(id(controller))
    found = []
    is_rest = isinstance(controller, rest.RestController)
    if is_rest:
        for name, method in REST_HANDLERS:
            handler = getattr(controller, name, None)
            if not pecan.util.iscontroller(handler):
                continue
            names = arguments(handler)
            own = max(len(names) - parent_args, 0)
            found.append(_route(method, _template(path, own), controller,
                                name, names))
    elif pecan.util.iscontroller(getattr(controller, 'index', None)):
        if '{}' in path:
            raise ValueError('%s: a plain controller below a RestController '
                             'has path parameters no handler names.' % path)
        # The method is the controller's declaration's (see above).
        found.append(Route(None, path or '/', controller, 'index', ()))
    for name, child in children(controller):
        if is_rest:
            get_one = getattr(controller, 'get_one', None)
            own = (len(arguments(get_one)) - parent_args
                   if get_one is not None else 1)
            found.extend(walk(child, '%s/%s' % (_template(path, own), name),
                              parent_args + own, seen))
        else:
            found.extend(walk(child, '%s/%s' % (path, name), parent_args,
                              seen))
    return found


class _Node(object):
    """One path part of the dispatch tree."""

    __slots__ = ('literal', 'parameter', 'handlers', 'index')

    def __init__(self):
        self.literal = {}
        self.parameter = None
        #: ``{HTTP method: Route}`` of a RestController's handlers here.
        self.handlers = {}
        #: The Route of a plain controller's ``index`` here, or None.
        self.index = None


def _parts(path):
    """The parts of ``path``, without one trailing slash; None when a
    part is empty (``//``), which no route has."""
    parts = path.split('/')[1:]
    if parts and not parts[-1]:
        parts.pop()
    if not all(parts):
        return None
    return parts


class Router(object):
    """Dispatch requests by the routes :func:`walk` reads.

    The same table that the OpenAPI document is built from decides which
    handler answers a request, so that a route cannot be served without
    being documented nor documented without being served.  It also
    spares every request pecan's walk through the controller tree, which
    asks Python for the signature of five or six methods per request.

    A path part matches a literal part before a parameter, and a literal
    that leads nowhere falls back to the parameter.  One trailing ``/`` is
    ignored; an empty part inside the path (``//``) matches nothing.
    No route declares ``HEAD``: :mod:`svc_common.deploy` answers it as
    the ``GET`` it mirrors before routing, and lists it in ``Allow``.
    """

    def __init__(self, root):
        self.root = _Node()
        #: Every :class:`Route` this router serves, as :func:`walk` reads
        #: them (the objects :meth:`match` returns).
        self.routes = walk(root)
        for route in self.routes:
            node = self.root
            for part in _parts(route.path):
                if part.startswith('{') and part.endswith('}'):
                    if node.parameter is None:
                        node.parameter = _Node()
                    node = node.parameter
                else:
                    node = node.literal.setdefault(part, _Node())
            if route.method is None:
                node.index = route
            else:
                node.handlers[route.method] = route

    def _find(self, node, parts, start, values):
        if start == len(parts):
            if node.handlers or node.index is not None:
                return node
            return None
        part = parts[start]
        child = node.literal.get(part)
        if child is not None:
            found = self._find(child, parts, start + 1, values)
            if found is not None:
                return found
        if node.parameter is not None:
            values.append(part)
            found = self._find(node.parameter, parts, start + 1, values)
            if found is not None:
                return found
            values.pop()
        return None

    def match(self, method, path):
        """``(Route, [path parameter values])``; raises ``HTTPNotFound``
        for a path no route has and ``HTTPMethodNotAllowed`` (with the
        ``Allow`` header) for a method the path does not answer."""
        values = []
        parts = _parts(path)
        node = None
        if parts is not None:
            node = self._find(self.root, parts, 0, values)
        if node is None:
            # "The resource could not be found." alone did not say where
            # the paths there are are listed.
            raise webob.exc.HTTPNotFound(
                detail='GET /v1 lists the resources of this API, GET '
                       '/v1/openapi.json every path.')
        if node.index is not None:
            return node.index, values
        route = node.handlers.get(method)
        if route is None:
            raise webob.exc.HTTPMethodNotAllowed(
                headers={'Allow': ', '.join(sorted(node.handlers))})
        return route, values
