"""The version document (``GET /``) and the ``/v1`` root of a service."""

import pecan

from svc_common.api import controller


def version_document(spec, host_url):
    """The list of API versions, shaped like other OpenStack services'."""
    return {'versions': [{
        'id': 'v1.0',
        'status': 'CURRENT',
        'min_version': spec.min_version,
        'max_version': spec.max_version,
        'links': [{'rel': 'self', 'href': host_url.rstrip('/') + '/v1'}],
    }]}


class V1Controller(object):
    """``GET /v1``: what the caller can find under ``/v1``.

    A service subclasses it, sets ``RESOURCES`` (the names linked from the
    index) and adds one attribute per resource controller.
    """

    RESOURCES = ()

    @pecan.expose(generic=True, template='json')
    def index(self):
        """Only GET is allowed; other methods answer 405."""
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        # Every caller reads its own view of the index.
        controller.authorize('root:get', controller.list_target())
        base = pecan.request.host_url.rstrip('/') + '/v1/'
        return {'resources': [{'name': name, 'links': [
            {'rel': 'self', 'href': base + name}]}
            for name in self.RESOURCES]}


class RootController(object):
    """``GET /``: the version document; everything else hangs off ``v1``."""

    def __init__(self, v1):
        self.v1 = v1

    @pecan.expose(generic=True, template='json')
    def index(self):
        """Only GET is allowed; other methods answer 405."""
        pecan.abort(405)

    @index.when(method='GET', template='json')
    def index_get(self):
        return version_document(pecan.request.spec, pecan.request.host_url)
