"""Schemathesis against every service's own OpenAPI document.

For each service, on SQLite and on PostgreSQL, schemathesis reads
``GET /v1/openapi.json`` from the in-process WSGI application and sends
every operation generated requests, as a system administrator: requests
that fit the document (positive) and requests that do not (negative).
Every answer must

* not be a server error (5xx);
* have a status the document lists for the operation;
* have the documented content type, and a body that the documented
  schema of that status accepts (the success schemas of the service's
  ``schemas`` package, the error shape for 4xx);
* carry the documented headers (request ID; microversion on successes).

A few objects are created first (a project tree, limits, an allocation
for limits_svc), and path parameters and IDs in bodies are drawn from
them half of the time, so that answers about existing objects are
checked too, not only 404s.

The number of examples per operation and mode is bounded
(:data:`MAX_EXAMPLES`; ``ARBITER_SCHEMATHESIS_EXAMPLES`` in the
environment changes it for a longer hunt) and the generation is
derandomized: a run is the same on every machine.
"""

import os

import hypothesis
from hypothesis import strategies
import schemathesis
from schemathesis import checks
import testtools

from svc_common.api import openapi
from svc_common.schemas import parameter_types
from svc_common.tests.fixtures import api as api_fixture
from svc_common.tests.fixtures import backends

#: Examples per operation and generation mode.
MAX_EXAMPLES = int(os.environ.get('ARBITER_SCHEMATHESIS_EXAMPLES', '80'))

CHECKS = [checks.not_a_server_error,
          checks.status_code_conformance,
          checks.content_type_conformance,
          checks.response_schema_conformance,
          checks.response_headers_conformance]

MODES = (schemathesis.GenerationMode.POSITIVE,
         schemathesis.GenerationMode.NEGATIVE)

SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=None, database=None,
    derandomize=True, print_blob=False,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate,
            hypothesis.Phase.shrink],
    suppress_health_check=list(hypothesis.HealthCheck))


def _seed_limits(app):
    """A project tree with limits and an allocation; ``{name: [values]}``
    of the IDs path parameters and body members may take."""
    def send(method, path, body):
        call = app.post_json if method == 'POST' else app.put_json
        return call(path, body, headers=api_fixture.SYSTEM_ADMIN).json

    for project, parent in (('root', None), ('mid', 'root'),
                            ('leaf', 'mid'), ('spare', None)):
        send('POST', '/v1/projects', {'id': project, 'parent_id': parent})
    registered = send('POST', '/v1/registered_limits', {
        'service_id': 'nova', 'resource_name': 'cores',
        'default_limit': 20})['registered_limit']['id']
    limits = [send('POST', '/v1/limits', {
        'project_id': project, 'service_id': 'nova',
        'resource_name': 'cores', 'resource_limit': amount,
        'scope': scope})['limit']['id']
        for project, amount, scope in (('root', 10, 'subtree'),
                                       ('leaf', 4, 'project'))]
    send('PUT', '/v1/allocations/vm-1',
         {'project_id': 'leaf', 'resources': {'cores': 2}})
    projects = ['root', 'mid', 'leaf', 'spare']
    return {'project_id': projects, 'parent_id': projects,
            'consumer_id': ['vm-1', 'vm-2'],
            'limit_id': [registered] + limits,
            # Within the limits, over them, and at the largest amount
            # (twice that overflows a usage counter).
            'resources': [{'cores': 1}, {'cores': 3, 'ram': 512},
                          {'cores': 50},
                          {'ram': parameter_types.MAX_SAFE_INTEGER}]}


def _seed_federation(app):
    """Two people, a VO with a group, a custom role, a membership, a
    request and an invitation, an IdP and a client, so that GETs of
    existing objects are reached."""
    admin = api_fixture.SYSTEM_ADMIN

    def post(path, body, headers=admin):
        return app.post_json(path, body, headers=headers).json

    for person in ('alice', 'bob', admin['X-User-Id']):
        post('/v1/users', {'id': person, 'issuer': 'https://idp.example',
                           'subject': person})
    identity = post('/v1/users/bob/identities', {
        'issuer': 'https://other.example', 'subject': 'b'})['identity']
    vo = post('/v1/vos', {'name': 'astro', 'managers': ['alice']})['vo']
    path = '/v1/vos/%s' % vo['id']
    group = post(path + '/groups', {'name': 'optics'})['group']
    role = post(path + '/roles', {'name': 'observer'})['role']
    member = post(path + '/memberships', {'user_id': 'bob',
                                          'role': 'member'})['membership']
    request = post(path + '/requests', {'reason': 'r'})['request']
    invitation = post(path + '/invitations',
                      {'email': 'c@example.org'})['invitation']
    idp = post('/v1/idps', {'name': 'home', 'issuer': 'https://idp.example',
                            'client_id': 'proxy'})['idp']
    client = post('/v1/clients', {
        'name': 'leaf', 'grant_types': ['client_credentials']})['client']
    return {'vo_id': [vo['id']], 'user_id': ['alice', 'bob'],
            'identity_id': [identity['id']], 'group_id': [group['id']],
            'parent_id': [group['id']], 'role_id': [role['id']],
            'membership_id': [member['id']], 'request_id': [request['id']],
            'invitation_id': [invitation['id']], 'idp_id': [idp['id']],
            'client_id': [client['id']], 'token': [invitation['token']]}


#: package -> function seeding the service's database through its API.
SEEDS = {'limits_svc': _seed_limits, 'federation_proxy': _seed_federation}


def _use_seeds(case, seeds, data):
    """Replace, each with an even chance, the path parameters and body
    members named in ``seeds`` by one of their values."""
    def draw(name, current):
        if name in seeds and data.draw(strategies.booleans()):
            return data.draw(strategies.sampled_from(seeds[name]))
        return current

    if case.path_parameters:
        for name, value in list(case.path_parameters.items()):
            case.path_parameters[name] = draw(name, value)
    if isinstance(case.body, dict):
        for name, value in list(case.body.items()):
            case.body[name] = draw(name, value)


class _SchemathesisTests(object):
    """Mixed into one ``testtools.TestCase`` per service and database."""

    SPEC = None

    def database_url(self):
        raise NotImplementedError()

    def setUp(self):
        super().setUp()
        self.fixture = self.useFixture(api_fixture.ServiceApp(
            self.SPEC, overrides={('database', 'connection'):
                                  self.database_url()}))
        seed = SEEDS.get(self.SPEC.package)
        self.seeds = seed(self.fixture.app) if seed else {}

    def _run(self, operation, mode):
        seeds = self.seeds

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode),
                          data=strategies.data())
        def run(case, data):
            _use_seeds(case, seeds, data)
            case.call_and_validate(headers=api_fixture.SYSTEM_ADMIN,
                                   checks=CHECKS)

        run()

    def test_answers_conform_to_the_document(self):
        schema = schemathesis.openapi.from_wsgi(openapi.DOCUMENT_PATH,
                                                self.fixture.wsgi)
        # Deletes last: they remove the seeded objects.
        operations = sorted((result.ok() for result in
                             schema.get_all_operations()),
                            key=lambda op: (op.method.upper() == 'DELETE',
                                            op.path, op.method))
        failures = []
        count = 0
        for operation in operations:
            count += 1
            for mode in MODES:
                try:
                    self._run(operation, mode)
                except (AssertionError, BaseExceptionGroup) as exc:
                    failures.append('%s (%s):\n%s' % (operation.label,
                                                      mode.value, exc))
        self.assertGreater(count, 0)
        if failures:
            self.fail('%d of %d operations x %d modes failed:\n\n%s' % (
                len(failures), count, len(MODES), '\n\n'.join(failures)))


backends.add_cases(globals(), 'TestSchemathesis{service}On{backend}',
                   _SchemathesisTests)


class TestFoundBySchemathesis(testtools.TestCase):
    """What the runs above found, kept as plain cases."""

    def setUp(self):
        super().setUp()
        from limits_svc import service
        self.app = self.useFixture(api_fixture.ServiceApp(service.SPEC)).app

    def test_ids_no_url_can_carry_are_refused(self):
        """``.`` and ``..`` fitted the ID pattern: a project ``..`` was
        created, and then every client (schemathesis' too) sent
        ``GET /v1/projects/..`` as ``GET /v1/``."""
        admin = api_fixture.SYSTEM_ADMIN
        self.app.post_json('/v1/projects', {'id': 'p'}, headers=admin)
        for bad in ('.', '..'):
            resp = self.app.post_json('/v1/projects', {'id': bad},
                                      headers=admin, status=400)
            self.assertEqual('id', resp.json['errors'][0]['field'])
            resp = self.app.post_json('/v1/projects',
                                      {'id': 'q', 'parent_id': bad},
                                      headers=admin, status=400)
            self.assertEqual('parent_id', resp.json['errors'][0]['field'])
            # (webtest sends the path as it is, as curl --path-as-is.)
            self.app.put_json('/v1/allocations/%s' % bad,
                              {'project_id': 'p', 'resources': {}},
                              headers=admin, status=400)
        # Dots inside an ID are fine.
        for good in ('...', '.a', 'a..b'):
            self.app.post_json('/v1/projects', {'id': good}, headers=admin,
                               status=201)
            self.app.get('/v1/projects/%s' % good, headers=admin,
                         status=200)

    def test_content_type_of_a_request_without_a_body(self):
        """``DELETE`` with ``Content-Type: multipart/form-data`` and no
        body was a 500: webob parsed the empty body as a form without a
        boundary.  A request without a body has no media type."""
        admin = api_fixture.SYSTEM_ADMIN
        self.app.post_json('/v1/projects', {'id': 'p'}, headers=admin)
        for content_type in ('multipart/form-data', 'text/plain'):
            headers = dict(admin, **{'Content-Type': content_type})
            self.app.request('/v1/projects/p', method='PATCH',
                             headers=headers, status=400)
            self.app.request('/v1/allocations/vm-1', method='DELETE',
                             headers=headers, status=404)
        self.app.request('/v1/projects/p', method='DELETE', status=204,
                         headers=dict(admin, **{
                             'Content-Type': 'multipart/form-data'}))
