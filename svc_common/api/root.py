"""The version document (``GET /``), the ``/v1`` root of a service and
its OpenAPI document (``GET /v1/openapi.json``)."""

import pecan

from svc_common.api import controller
from svc_common.api import openapi
from svc_common.schemas import root as schema


def version_document(spec, base_url):
    """The list of API versions, shaped like other OpenStack services'.

    :param base_url: where the API is served: the request's
        ``application_url`` (scheme, host and the path the WSGI server
        mounts the API under, e.g. ``/limits``).
    """
    return {'versions': [{
        'id': 'v1.0',
        'status': 'CURRENT',
        'min_version': spec.min_version,
        'max_version': spec.max_version,
        'links': [{'rel': 'self', 'href': base_url.rstrip('/') + '/v1'}],
    }]}


class OpenApiController(object):
    """``GET /v1/openapi.json``: the service's OpenAPI document, public
    like the version document (see :mod:`svc_common.api.openapi`)."""

    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_OPENAPI, method='GET',
        summary='The OpenAPI 3.1 document of this API. Needs no token.')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        """Only GET is allowed; other methods answer 405."""
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        return openapi.document(pecan.request.spec)


class V1Controller(object):
    """``GET /v1``: what the caller can find under ``/v1``.

    A service subclasses it, sets ``RESOURCES`` (the names linked from the
    index) and adds one attribute per resource controller.
    """

    RESOURCES = ()
    OPENAPI = {'index': openapi.Operation(
        'root:get', schema.RESPONSE_V1_INDEX, method='GET')}

    @pecan.expose(generic=True, template='json')
    def index(self):
        """Only GET is allowed; other methods answer 405."""
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        # Every caller reads its own view of the index.
        controller.authorize('root:get', controller.list_target())
        base = pecan.request.application_url.rstrip('/') + '/v1/'
        return {'resources': [{'name': name, 'links': [
            {'rel': 'self', 'href': base + name}]}
            for name in self.RESOURCES]}


class RootController(object):
    """``GET /``: the version document; everything else hangs off ``v1``."""

    OPENAPI = {'index': openapi.Operation(
        None, schema.RESPONSE_VERSIONS, method='GET',
        summary='The versions of this API. Needs no token.')}

    def __init__(self, v1):
        self.v1 = v1

    @pecan.expose(generic=True, template='json')
    def index(self):
        """Only GET is allowed; other methods answer 405."""
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        # application_url, not host_url: under a mount point (SCRIPT_NAME,
        # or X-Forwarded-Prefix behind a proxy) the API is not at the
        # host's root, and a client's version discovery follows this link.
        return version_document(pecan.request.spec,
                                pecan.request.application_url)


# ``openapi.json`` is no Python name: attached as pecan attaches such a
# path part.
pecan.route(V1Controller, openapi.DOCUMENT_PATH.rsplit('/', 1)[1],
            OpenApiController())
