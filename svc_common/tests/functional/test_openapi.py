"""``GET /v1/openapi.json``: every service describes all of its API.

Per service: the document needs no token (also behind keystonemiddleware),
every route the code has is in it, and every route it lists answers.  The
routes "the code has" come from two sources that the document is not built
from: the write endpoints that the hostile-input test finds by walking the
pecan tree on its own, and the ``operations`` of every policy rule.

The builder itself (:mod:`svc_common.api.openapi`) is checked on a small
controller tree: an undeclared handler, a rule that does not exist, a
declaration of the wrong method all stop the build.
"""

import re

import pecan
from pecan import rest
import schemathesis
import testtools

from svc_common.api import openapi
from svc_common.api import routes
from svc_common.cmd import all_in_one
from svc_common import service_spec
from svc_common.tests.fixtures import api as api_fixture
from svc_common.tests.functional import test_hostile_input as hostile

_PARAMETER = re.compile(r'\{[^}]*\}')


def _template(path):
    """``/v1/projects/{project_id}`` as ``/v1/projects/{}``."""
    return _PARAMETER.sub('{}', path)


def documented(document):
    """``{(METHOD, template): operation}`` of an OpenAPI document."""
    return {(method.upper(), _template(path)): op
            for path, item in document['paths'].items()
            for method, op in item.items()}


def policy_operations(spec):
    """``{(METHOD, template): rule name}`` of the service's policy rules."""
    found = {}
    for rule in spec.module('policies').list_rules():
        for operation in getattr(rule, 'operations', None) or ():
            found[(operation['method'].upper(),
                   _template(operation['path']))] = rule.name
    return found


class _OpenApiTests(object):
    """Mixed into one ``testtools.TestCase`` per service (``SPEC``)."""

    SPEC = None

    def setUp(self):
        super().setUp()
        # The app as the hostile-input test builds it (a service may need
        # config to serve its examples, e.g. reaper_svc's simulated cloud).
        self.fixture = self.useFixture(api_fixture.ServiceApp(
            self.SPEC, overrides=hostile.CONFIG.get(self.SPEC.package)))
        self.app = self.fixture.app
        self.document = self.app.get(openapi.DOCUMENT_PATH).json

    def test_document_needs_no_token(self):
        resp = self.app.get(openapi.DOCUMENT_PATH)
        self.assertEqual('application/json', resp.content_type)
        self.assertEqual('3.1.0', resp.json['openapi'])
        self.assertEqual(self.SPEC.title, resp.json['info']['title'])
        # The rest of the API does need one.
        self.app.get('/v1', status=401)

    def test_document_needs_no_token_behind_keystonemiddleware(self):
        app = self.useFixture(api_fixture.ServiceApp(
            self.SPEC, auth_strategy='keystone')).app
        self.assertEqual(self.document,
                         app.get(openapi.DOCUMENT_PATH, status=200).json)
        app.get('/v1', status=401)
        # Only the exact path is public.
        app.get(openapi.DOCUMENT_PATH + '/', status=401)
        # A service's protocol endpoints are reached without a token (an
        # answer of the endpoint itself, not of keystonemiddleware), and
        # only at their exact paths.
        refused = '%s.unauthorized' % self.SPEC.namespace
        for path in self.SPEC.public_paths:
            resp = app.get(path, expect_errors=True)
            if resp.status_int >= 400:
                self.assertNotEqual(refused,
                                    resp.json['errors'][0]['code'], path)
            resp = app.get(path + '/x', status=401)
            self.assertEqual(refused, resp.json['errors'][0]['code'])

    def test_document_is_read_by_schemathesis(self):
        schema = schemathesis.openapi.from_dict(self.document)
        problems = [str(result.err()) for result in
                    schema.get_all_operations() if not result.ok()]
        self.assertEqual([], problems)

    def test_every_route_of_the_code_is_documented(self):
        listed = documented(self.document)
        for endpoint in hostile.service_write_endpoints(self.SPEC):
            self.assertIn(endpoint.key, listed)
        for key, rule in policy_operations(self.SPEC).items():
            self.assertIn(key, listed, 'rule %s' % rule)

    def test_every_documented_operation_is_its_rules(self):
        """The rule an operation names guards that very operation, and
        the operations without one are the public ones."""
        rules = policy_operations(self.SPEC)
        public = set()
        for key, op in documented(self.document).items():
            if 'x-openstack-policy' in op:
                self.assertEqual(rules.get(key), op['x-openstack-policy'],
                                 key)
            else:
                self.assertEqual([], op['security'], key)
                public.add(key)
        # ... and the service's own protocol endpoints, which
        # authenticate their callers themselves (ServiceSpec.public_paths).
        own = {key for key in public if key[1] in self.SPEC.public_paths}
        self.assertEqual({('GET', '/'), ('GET', openapi.DOCUMENT_PATH)},
                         public - own)

    def test_every_documented_route_answers(self):
        seed, _bodies = hostile.EXAMPLES.get(self.SPEC.package, (None, {}))
        ids = seed(self.app) if seed else {}
        # Deletes last, the deepest paths first: they remove the objects
        # the others (and the shallower deletes' children) are sent to.
        keys = sorted(documented(self.document),
                      key=lambda key: (key[0] == 'DELETE',
                                       -key[1].count('/') if
                                       key[0] == 'DELETE' else 0, key))
        for method, template in keys:
            seeded = template in ids or '{}' not in template
            path = template.format(*ids.get(
                template, ['probe-1'] * template.count('{}')))
            resp = self.app.request(
                path, method=method,
                body=b'{}' if method in ('POST', 'PUT', 'PATCH') else b'',
                headers=dict(hostile.EVERYTHING,
                             **{'Content-Type': 'application/json'}),
                expect_errors=True)
            what = '%s %s: %s %s' % (method, path, resp.status,
                                     resp.body[:200])
            self.assertNotEqual(405, resp.status_int, what)
            if seeded:
                self.assertNotEqual(404, resp.status_int, what)
            elif resp.status_int == 404:
                # An object that does not exist, not a route that does not.
                self.assertNotEqual(
                    '%s.not_found' % self.SPEC.namespace,
                    resp.json['errors'][0]['code'], what)

    def test_request_bodies_and_errors(self):
        for (method, path), op in documented(self.document).items():
            responses = op['responses']
            self.assertIn('400', responses)
            if method in ('POST', 'PUT', 'PATCH'):
                self.assertIn('requestBody', op, (method, path))
                self.assertIn('415', responses)
            for status, response in responses.items():
                if int(status) >= 400:
                    self.assertEqual(
                        {'$ref': '#/components/schemas/Error'},
                        response['content']['application/json']['schema'])
        error = self.document['components']['schemas']['Error']
        self.assertEqual(
            ['status', 'code', 'title', 'detail', 'request_id'],
            error['properties']['errors']['items']['required'])

    def test_microversion_header_is_documented(self):
        for (method, path), op in documented(self.document).items():
            self.assertIn({'$ref': '#/components/parameters/Microversion'},
                          op['parameters'], (method, path))
        param = self.document['components']['parameters']['Microversion']
        self.assertEqual('OpenStack-API-Version', param['name'])
        self.assertIn(self.SPEC.max_version, param['description'])


def _make_classes():
    for spec in all_in_one.load_specs():
        name = 'TestOpenApi%s' % spec.package.title().replace('_', '')
        globals()[name] = type(name, (_OpenApiTests, testtools.TestCase),
                               {'SPEC': spec})


_make_classes()


class TestLimitsDocument(testtools.TestCase):
    """What limits_svc's document says about a few operations."""

    def setUp(self):
        super().setUp()
        from limits_svc.schemas import project
        from limits_svc import service
        self.project_schemas = project
        self.document = openapi.document(service.SPEC)

    def test_bodies_are_the_handlers_schemas(self):
        post = self.document['paths']['/v1/projects']['post']
        self.assertEqual(
            self.project_schemas.CREATE,
            post['requestBody']['content']['application/json']['schema'])
        self.assertEqual(
            self.project_schemas.RESPONSE_PROJECT,
            post['responses']['201']['content']['application/json'][
                'schema'])
        self.assertEqual('limits:project:create', post['x-openstack-policy'])

    def test_list_query_parameters(self):
        get = self.document['paths']['/v1/projects']['get']
        names = {p['name'] for p in get['parameters'] if 'name' in p}
        self.assertEqual({'limit', 'marker', 'parent_id'}, names)

    def test_delete_answers_without_a_body(self):
        delete = self.document['paths']['/v1/projects/{project_id}'][
            'delete']
        self.assertNotIn('content', delete['responses']['204'])
        self.assertEqual(
            ['project_id'],
            [p['name'] for p in delete['parameters'] if p.get('in') ==
             'path'])

    def test_conditional_writes_and_etag_are_documented(self):
        item = self.document['paths']['/v1/allocations/{consumer_id}']
        for method in ('put', 'delete'):
            headers = {p['name'] for p in item[method]['parameters']
                       if p.get('in') == 'header'}
            self.assertEqual({'If-Match', 'If-None-Match'}, headers, method)
            self.assertIn('412', item[method]['responses'])
        for method, status in (('get', '200'), ('put', '200')):
            self.assertIn('ETag',
                          item[method]['responses'][status]['headers'],
                          method)
        self.assertNotIn('ETag', item['delete']['responses']['204'][
            'headers'])


class TestSecuritySchemes(testtools.TestCase):
    """The ways to authenticate that each document names."""

    def test_keystone_alone_where_there_is_no_session_auth(self):
        from limits_svc import service
        document = openapi.document(service.SPEC)
        self.assertEqual([{'keystone': []}], document['security'])
        self.assertEqual(['keystone'], sorted(
            document['components']['securitySchemes']))

    def test_federation_proxy_names_its_session_and_bearer(self):
        from federation_proxy import service
        document = openapi.document(service.SPEC)
        self.assertEqual([{'keystone': []}, {'bearer': []},
                          {'session': []}], document['security'])
        schemes = document['components']['securitySchemes']
        self.assertEqual(('cookie', 'federation_session'),
                         (schemes['session']['in'],
                          schemes['session']['name']))
        self.assertEqual('bearer', schemes['bearer']['scheme'])


# -- The builder, on a controller tree of its own. -------------------------

_SPEC = service_spec.ServiceSpec(
    package='toy', prog='toy', service_type='toy', namespace='toy',
    default_port=1, title='Toy')

_BODY = {'type': 'object', 'properties': {'name': {'type': 'string'}}}
_ANSWER = {'type': 'object'}


def _rule(name, method, path):
    from svc_common import policy
    return policy.rule('toy', name, 'role:admin', name, [(method, path)],
                       policy.ANY_SCOPE)


class _Leaves(rest.RestController):
    OPENAPI = {'put': openapi.Operation('leaf:put', _ANSWER, body=_BODY)}

    @pecan.expose('json')
    def put(self, tree_id, leaf_id):
        pass


class _Trees(rest.RestController):
    OPENAPI = {'get_one': openapi.Operation('tree:get', _ANSWER)}

    leaves = _Leaves()

    @pecan.expose('json')
    def get_one(self, tree_id):
        pass


class _Root(object):
    OPENAPI = {'index': openapi.Operation(None, _ANSWER, method='GET',
                                          summary='Versions.')}

    trees = _Trees()

    @pecan.expose(generic=True, template='json')
    def index(self):
        pass


_RULES = [_rule('tree:get', 'GET', '/trees/{tree_id}'),
          _rule('leaf:put', 'PUT', '/trees/{tree_id}/leaves/{leaf_id}')]


class TestBuilder(testtools.TestCase):

    def test_routes_of_a_tree(self):
        found = {(r.key, r.parameters) for r in routes.walk(_Root())}
        self.assertEqual(
            {(('GET', '/trees/{tree_id}'), ('tree_id',)),
             (('PUT', '/trees/{tree_id}/leaves/{leaf_id}'),
              ('tree_id', 'leaf_id')),
             ((None, '/'), ())}, found)

    def test_document_of_a_tree(self):
        doc = openapi.build(_SPEC, _Root(), _RULES)
        self.assertEqual(['/', '/trees/{tree_id}',
                          '/trees/{tree_id}/leaves/{leaf_id}'],
                         sorted(doc['paths']))
        put = doc['paths']['/trees/{tree_id}/leaves/{leaf_id}']['put']
        self.assertEqual('toy:leaf:put', put['x-openstack-policy'])
        self.assertEqual('leaf:put', put['summary'])
        self.assertEqual(
            _BODY, put['requestBody']['content']['application/json'][
                'schema'])
        self.assertEqual(
            ['200', '400', '401', '403', '404', '406', '413', '415', '503'],
            sorted(put['responses']))
        self.assertEqual(
            ['tree_id', 'leaf_id'],
            [p['name'] for p in put['parameters'] if p.get('in') == 'path'])
        root = doc['paths']['/']['get']
        self.assertEqual([], root['security'])
        self.assertEqual(['200', '400', '406'], sorted(root['responses']))

    def test_undeclared_handler_stops_the_build(self):
        class Trees(_Trees):
            @pecan.expose('json')
            def delete(self, tree_id):
                pass

        root = _Root()
        root.trees = Trees()
        error = self.assertRaises(ValueError, openapi.build, _SPEC, root,
                                  _RULES)
        self.assertIn('Trees.delete', str(error))

    def test_unknown_rule_stops_the_build(self):
        error = self.assertRaises(ValueError, openapi.build, _SPEC, _Root(),
                                  _RULES[:1])
        self.assertIn('toy:leaf:put', str(error))

    def test_wrong_method_stops_the_build(self):
        class Leaves(_Leaves):
            OPENAPI = {'put': openapi.Operation('leaf:put', method='POST')}

        root = _Root()
        root.trees = _Trees()
        root.trees.leaves = Leaves()
        self.assertRaises(ValueError, openapi.build, _SPEC, root, _RULES)

    def test_plain_controller_must_name_its_method(self):
        class Root(_Root):
            OPENAPI = {'index': openapi.Operation(None, summary='x')}

        self.assertRaises(ValueError, openapi.build, _SPEC, Root(), _RULES)

    def test_plain_controller_with_several_methods(self):
        """A protocol endpoint whose ``index`` answers GET and POST (OIDC
        userinfo) declares one operation per method: both are in the
        document, the POST with its own body."""
        class Root(_Root):
            OPENAPI = {'index': (
                openapi.Operation(None, _ANSWER, method='GET',
                                  summary='Read.'),
                openapi.Operation(None, _ANSWER, method='POST', body=_BODY,
                                  body_required=False, summary='Read.'))}

        doc = openapi.build(_SPEC, Root(), _RULES)
        self.assertEqual(['get', 'post'], sorted(doc['paths']['/']))
        self.assertNotIn('requestBody', doc['paths']['/']['get'])
        body = doc['paths']['/']['post']['requestBody']
        self.assertFalse(body['required'])
        self.assertEqual(_BODY, body['content']['application/json']['schema'])
        self.assertEqual('POST /', doc['paths']['/']['post']['operationId'])

    def test_method_declared_twice_stops_the_build(self):
        class Root(_Root):
            OPENAPI = {'index': (
                openapi.Operation(None, method='GET', summary='x'),
                openapi.Operation(None, method='GET', summary='y'))}

        error = self.assertRaises(ValueError, openapi.build, _SPEC, Root(),
                                  _RULES)
        self.assertIn('twice', str(error))

    def test_several_operations_only_for_a_plain_index(self):
        class Trees(_Trees):
            OPENAPI = {'get_one': (openapi.Operation('tree:get', _ANSWER),)}

        root = _Root()
        root.trees = Trees()
        self.assertRaises(ValueError, openapi.build, _SPEC, root, _RULES)
