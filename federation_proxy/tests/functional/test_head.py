"""``HEAD`` on every ``GET`` route of the federation proxy (RFC 9110
9.3.2): OIDC discovery, JWKS, the version documents, ``/healthcheck``,
every list and show, the IdP chooser, userinfo and the device page
answer a ``HEAD`` with the ``GET``'s status and headers (``Content-Length``
of its body, ``Cache-Control``) and no body, and write nothing.  It was
``405`` everywhere.

The ``GET`` routes that change state (a login's start and its callback,
the authorization endpoint, which issues codes, and the end session
endpoint) are never run by a ``HEAD``: ``405``, whose ``Allow`` lists
no ``HEAD``.
"""

from federation_proxy import login
from federation_proxy import service
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup as s
from svc_common.tests.fixtures import head_requests

PROXY = 'http://127.0.0.1:9873'
KEY = 'test key of the proxy'
IDP = 'https://idp.example.org'

#: The GET routes a HEAD does not run, and their Allow header.
REFUSED = {'/v1/login': 'GET', '/v1/login/callback': 'GET',
           '/oidc/authorize': 'GET, POST', '/oidc/logout': 'GET, POST'}


class TestHead(base.FederationTestCase):

    OVERRIDES = {('federation', 'secret_key'): KEY,
                 ('federation', 'issuer'): PROXY}

    def setUp(self):
        super().setUp()
        self.alice = s.make_person(self.app, 'alice')
        self.bob = s.make_person(self.app, 'bob')
        self.vo = s.make_vo(self.app, 'astro', managers=[self.alice])
        vo = '/v1/vos/%s' % self.vo
        self.ids = {
            'user_id': self.alice, 'vo_id': self.vo,
            'membership_id': s.add_member(self.app, self.vo, self.bob),
            'group_id': self.app.post_json(
                vo + '/groups', {'name': 'stars'},
                headers=base.ADMIN).json['group']['id'],
            'role_id': self.app.post_json(
                vo + '/roles', {'name': 'observer'},
                headers=base.ADMIN).json['role']['id'],
            'invitation_id': self.app.post_json(
                vo + '/invitations', {'email': 'carol@example.org'},
                headers=base.ADMIN).json['invitation']['id'],
            'request_id': self.app.post_json(
                vo + '/requests', {'reason': 'please', 'role': 'manager'},
                headers=base.person(self.bob)).json['request']['id'],
            'client_id': s.make_client(self.app, 'leaf')[0],
            'idp_id': self.app.post_json('/v1/idps', {
                'name': 'upstream', 'issuer': IDP, 'client_id': 'proxy',
                'client_secret': 'secret', 'discover': False,
                'authorization_endpoint': IDP + '/auth',
                'token_endpoint': IDP + '/token',
                'jwks_uri': IDP + '/jwks'},
                headers=base.ADMIN).json['idp']['id'],
        }

    def cookie(self, user_id):
        token = s.session_token(self.fixture.db, KEY, PROXY, user_id)
        return {'Cookie': '%s=%s' % (login.SESSION_COOKIE, token)}

    def test_every_get_route_answers_head_as_get(self):
        paths = head_requests.get_paths(service.SPEC, self.ids)
        # With a person's own requests (list and show).
        self.assertEqual(33, len(paths))
        answered, refused = head_requests.get_routes(service.SPEC)
        self.assertEqual(sorted(REFUSED), sorted(refused))
        with head_requests.WriteRecorder() as recorder:
            for path, _headers in paths + [('/healthcheck', None)]:
                head_requests.assert_head_like_get(
                    self, self.app, path, base.ADMIN)
        self.assertEqual([], recorder.writes)

    def test_public_documents(self):
        for path in ('/.well-known/openid-configuration', '/oidc',
                     '/oidc/jwks', '/.well-known', '/', '/v1/openapi.json',
                     '/v1/login/idps', '/healthcheck'):
            got, head = head_requests.assert_head_like_get(
                self, self.app, path, status=200)
            self.assertEqual(str(len(got.body)),
                             head.headers['Content-Length'])

    def test_a_person_with_a_session(self):
        cookie = self.cookie(self.alice)
        with head_requests.WriteRecorder() as recorder:
            for path in ('/v1/users/alice/identities',
                         '/v1/vos/%s/memberships' % self.vo,
                         '/oidc/device', '/v1/login/idps?link=true'):
                head_requests.assert_head_like_get(self, self.app, path,
                                                   cookie, status=200)
            # Someone else's person: 404, as for the GET.
            head_requests.assert_head_like_get(
                self, self.app, '/v1/users/bob/identities', cookie,
                status=404)
        self.assertEqual([], recorder.writes)

    def test_userinfo_without_a_token_is_the_gets_401(self):
        got, head = head_requests.assert_head_like_get(
            self, self.app, '/oidc/userinfo', status=401)
        self.assertIn('WWW-Authenticate', head.headers)

    def test_state_changing_gets_are_not_run(self):
        cookie = self.cookie(self.alice)
        queries = {
            '/v1/login': 'idp=upstream',
            '/v1/login/callback': 'state=x&code=y',
            '/oidc/authorize': 'response_type=code&client_id=leaf'
                               '&redirect_uri=%s&scope=openid' % s.REDIRECT,
            '/oidc/logout': ''}
        with head_requests.WriteRecorder() as recorder:
            for path, allow in sorted(REFUSED.items()):
                resp = self.app.head('%s?%s' % (path, queries[path]),
                                     headers=cookie, status=405)
                self.assertEqual((path, allow),
                                 (path, resp.headers['Allow']))
                self.assertEqual(b'', resp.body)
        self.assertEqual([], recorder.writes)
        # The session is still live: the logout's GET did not run.
        self.app.get('/v1/users/alice/identities', headers=cookie)
        # The OpenAPI document says so, for those GETs only.
        paths = self.app.get('/v1/openapi.json').json['paths']
        described = sorted(path for path, item in paths.items()
                           if 'HEAD' in item.get('get', {}).get(
                               'description', ''))
        self.assertEqual(sorted(REFUSED), described)
        # A GET does what it did.
        with head_requests.WriteRecorder() as recorder:
            self.app.get('/v1/login?idp=upstream', status=302)
        self.assertNotEqual([], recorder.writes)

    def test_method_not_allowed_lists_head_where_get_is(self):
        resp = self.app.put('/oidc/jwks', status=405)
        self.assertEqual('GET, HEAD', resp.headers['Allow'])
        resp = self.app.put('/oidc/userinfo', status=405)
        self.assertEqual('GET, HEAD, POST', resp.headers['Allow'])
        resp = self.app.delete('/v1/vos', headers=base.ADMIN, status=405)
        self.assertEqual('GET, HEAD, POST', resp.headers['Allow'])
        resp = self.app.put('/v1/login', status=405)
        self.assertEqual('GET', resp.headers['Allow'])
        got, head = head_requests.assert_head_like_get(
            self, self.app, '/oidc/token', status=405)
        self.assertEqual('POST', head.headers['Allow'])
        self.assertIn('method_not_allowed', got.json['errors'][0]['code'])
