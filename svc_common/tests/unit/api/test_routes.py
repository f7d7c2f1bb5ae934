"""Requests dispatched by the route table (svc_common.api.routes.Router),
through a service's complete WSGI application."""

import importlib

import pecan
from pecan import rest
import testtools
import webtest

from limits_svc import service
from svc_common.api import routes
from svc_common import deploy
from svc_common.tests.fixtures import api as af


class _Usage(rest.RestController):

    @pecan.expose('json')
    def get_all(self, item_id):
        return {'handler': 'usage', 'item_id': item_id}


class _Items(rest.RestController):
    """``/v1/items``, ``/v1/items/{item_id}`` and
    ``/v1/items/{item_id}/usage``."""

    usage = _Usage()

    @pecan.expose('json')
    def get_all(self):
        return {'handler': 'get_all'}

    @pecan.expose('json')
    def get_one(self, item_id):
        return {'handler': 'get_one', 'item_id': item_id}

    @pecan.expose('json')
    def delete(self, item_id):
        return {'handler': 'delete', 'item_id': item_id}


class _V1(object):

    items = _Items()

    @pecan.expose('json')
    def index(self):
        return {'handler': 'v1'}

    @pecan.expose('json')
    def not_a_route(self):
        """Exposed, but not ``index``: the route table does not have it,
        so it is not served."""
        return {'handler': 'not_a_route'}


class _Root(object):
    v1 = _V1()


class TestRouter(testtools.TestCase):

    def setUp(self):
        super().setUp()
        fixture = self.useFixture(af.ServiceApp(service.SPEC))
        self.app = webtest.TestApp(deploy.deploy(
            service.SPEC, fixture.conf, None, None, root=_Root()))

    def get(self, path, status=200, method='GET'):
        resp = self.app.request(path, method=method, headers=af.SYSTEM_ADMIN,
                                expect_errors=True)
        self.assertEqual(status, resp.status_int, resp.body)
        return resp

    def test_each_handler_gets_its_path_parameters(self):
        self.assertEqual({'handler': 'get_all'},
                         self.get('/v1/items').json)
        self.assertEqual({'handler': 'get_one', 'item_id': 'i-1'},
                         self.get('/v1/items/i-1').json)
        self.assertEqual({'handler': 'delete', 'item_id': 'i-1'},
                         self.get('/v1/items/i-1', method='DELETE').json)
        self.assertEqual({'handler': 'usage', 'item_id': 'i-1'},
                         self.get('/v1/items/i-1/usage').json)
        self.assertEqual({'handler': 'v1'}, self.get('/v1').json)

    def test_one_trailing_slash_is_the_same_path(self):
        self.assertEqual({'handler': 'get_one', 'item_id': 'i-1'},
                         self.get('/v1/items/i-1/').json)

    def test_a_path_no_route_has_is_404(self):
        self.get('/v1/items/i-1/usage/more', 404)
        self.get('/v1/items/i-1/other', 404)
        self.get('/v2', 404)
        # An empty part is not a parameter, nor is it ignored.
        self.get('/v1//items', 404)
        self.get('/v1/items//usage', 404)

    def test_an_exposed_method_that_is_not_a_route_is_not_served(self):
        self.get('/v1/not_a_route', 404)

    def test_a_method_the_path_does_not_answer_is_405_with_allow(self):
        resp = self.get('/v1/items', 405, method='DELETE')
        self.assertEqual('GET, HEAD', resp.headers['Allow'])
        resp = self.get('/v1/items/i-1', 405, method='PUT')
        self.assertEqual('DELETE, GET, HEAD', resp.headers['Allow'])
        # No route declares HEAD: it is answered as GET
        # (svc_common.tests.unit.api.test_head).
        self.assertEqual(b'', self.get('/v1/items/i-1', 200,
                                       method='HEAD').body)


class TestTable(testtools.TestCase):

    def test_every_route_of_every_service_is_matched_to_itself(self):
        """The router serves exactly the routes the OpenAPI document is
        built from: each route's own path (parameters filled in) finds
        that route and no other."""
        for name in ('limits_svc', 'reaper_svc', 'image_family_svc',
                     'federation_proxy'):
            spec = importlib.import_module(name + '.service').SPEC
            root = spec.module('api.root').RootController()
            router = routes.Router(root)
            for route in routes.walk(root):
                path = route.path
                values = ['v%d' % n for n in range(len(route.parameters))]
                for param, value in zip(route.parameters, values):
                    path = path.replace('{%s}' % param, value, 1)
                found, got = router.match(route.method or 'GET', path)
                self.assertEqual((route.key, values), (found.key, got),
                                 '%s %s' % (name, route))
