"""Upstream IdPs and relying-party clients through the API: discovery
from a real HTTP server on 127.0.0.1, secrets that are never shown
again, and what the database keeps of them."""

import http.server
import json
import threading
import urllib.parse

from oslo_context import context
import sqlalchemy as sa

from federation_proxy.db import clients as clients_db
from federation_proxy.db import idps as idps_db
from federation_proxy.db import models
from federation_proxy.tests.functional import base
from svc_common import errors
from svc_common.tests.fixtures import races


class _Discovery(http.server.BaseHTTPRequestHandler):
    """Serves ``server.documents[path]`` as JSON (404 otherwise)."""

    def do_GET(self):
        document = self.server.documents.get(self.path)
        if document is None:
            self.send_error(404)
            return
        body = json.dumps(document).encode('utf-8')
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TestIdPs(base.FederationTestCase):

    ctx = context.RequestContext()

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy'}

    def setUp(self):
        super().setUp()
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      _Discovery)
        self.server.documents = {}
        thread = threading.Thread(target=self.server.serve_forever,
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.issuer = 'http://127.0.0.1:%d/realm' % self.server.server_port

    def _publish(self, **changes):
        document = dict({
            'issuer': self.issuer,
            'authorization_endpoint': self.issuer + '/auth',
            'token_endpoint': self.issuer + '/token',
            'jwks_uri': self.issuer + '/jwks',
            'userinfo_endpoint': self.issuer + '/userinfo',
            'response_types_supported': ['code']}, **changes)
        self.server.documents['/realm/.well-known/openid-configuration'] = (
            document)

    def _create(self, **body):
        return self.app.post_json('/v1/idps', dict({
            'name': 'home', 'issuer': self.issuer, 'client_id': 'proxy',
            'client_secret': 's3cret-at-the-idp', 'discover': True,
            'claim_mapping': {'affiliation': 'voperson_affiliation'}},
            **body), headers=base.ADMIN, expect_errors=True)

    def test_a_refused_secret_is_not_repeated(self):
        # The 400 quoted the secret it refused, and the CLI printed it.
        for secret in ('S3CRET VALUE', 'S3CRET' * 40):
            resp = self._create(client_secret=secret)
            self.assertEqual(400, resp.status_int, resp.body)
            self.assertEqual('client_secret',
                             resp.json['errors'][0]['field'])
            self.assertNotIn(b'S3CRET', resp.body)

    def test_discovered_and_secret_write_only(self):
        self._publish()
        resp = self._create()
        self.assertEqual(201, resp.status_int, resp.body)
        idp = resp.json['idp']
        self.assertEqual(
            (self.issuer + '/auth', self.issuer + '/token',
             self.issuer + '/jwks', self.issuer + '/userinfo'),
            (idp['authorization_endpoint'], idp['token_endpoint'],
             idp['jwks_uri'], idp['userinfo_endpoint']))
        self.assertTrue(idp['has_client_secret'])
        self.assertEqual('voperson_affiliation',
                         idp['claim_mapping']['affiliation'])
        self.assertEqual('email', idp['claim_mapping']['email'])
        shown = self.app.get('/v1/idps/%s' % idp['id'],
                             headers=base.READER)
        self.assertNotIn(b's3cret', shown.body)
        self.assertNotIn('client_secret', shown.json['idp'])
        with self.writer() as session:
            stored = session.scalar(sa.select(
                models.IdentityProvider.client_secret))
        self.assertNotIn('s3cret', stored)
        self.assertEqual('s3cret-at-the-idp', idps_db.client_secret(
            self.fixture.db, self.ctx, idp['id'], 'test key of the proxy'))
        other_key = self.assertRaises(
            errors.Conflict, idps_db.client_secret, self.fixture.db, self.ctx,
            idp['id'], 'another key')
        self.assertEqual(409, other_key.status)

    def test_discovery_refused(self):
        for changes, why in [({'issuer': 'https://evil.example.org'},
                              'names issuer'),
                             ({'token_endpoint': None}, 'token_endpoint'),
                             ({'jwks_uri': 'ftp://x/jwks'}, 'https')]:
            self._publish(**changes)
            resp = self._create()
            self.assertEqual(400, resp.status_int, changes)
            error = resp.json['errors'][0]
            self.assertEqual(('federation.discovery_failed', 'discover'),
                             (error['code'], error['field']))
            self.assertIn(why, error['detail'])
        del self.server.documents[
            '/realm/.well-known/openid-configuration']
        self.assertIn('HTTP 404', self._create().json['errors'][0]['detail'])
        self.assertEqual([], self.app.get('/v1/idps', headers=base.READER)
                         .json['idps'])

    def test_rediscovery_on_update(self):
        self._publish()
        idp = self._create().json['idp']
        self._publish(token_endpoint=self.issuer + '/token2')
        updated = self.app.patch_json('/v1/idps/%s' % idp['id'], {
            'discover': True, 'client_secret': None, 'enabled': False},
            headers=base.ADMIN).json['idp']
        self.assertEqual((self.issuer + '/token2', False, False),
                         (updated['token_endpoint'],
                          updated['has_client_secret'], updated['enabled']))

    def test_plain_http_only_on_loopback(self):
        resp = self._create(issuer='http://idp.example.org', discover=False)
        self.assertEqual((400, 'issuer'), (resp.status_int,
                                           resp.json['errors'][0]['field']))

    def test_manual_endpoints_and_duplicates(self):
        body = {'issuer': 'https://idp.example.org', 'discover': False,
                'token_endpoint': 'https://idp.example.org/token'}
        self.assertEqual(201, self._create(**body).status_int)
        again = self._create(**dict(body, name='other'))
        self.assertEqual((409, 'federation.idp_exists'),
                         (again.status_int,
                          again.json['errors'][0]['code']))

    def test_a_name_that_is_another_idps_id_is_refused(self):
        # A login names its IdP by id or name: a name that is another
        # IdP's id would make GET /v1/login?idp=<that id> either IdP.
        first = self._create(issuer='https://idp.example.org',
                             discover=False).json['idp']
        again = self._create(issuer='https://other.example.org',
                             discover=False, name=first['id'])
        self.assertEqual((409, 'federation.idp_exists'),
                         (again.status_int,
                          again.json['errors'][0]['code']))
        second = self._create(issuer='https://other.example.org',
                              discover=False, name='other').json['idp']
        renamed = self.app.patch_json('/v1/idps/%s' % second['id'], {
            'name': first['id']}, headers=base.ADMIN, expect_errors=True)
        self.assertEqual((409, 'federation.idp_exists'),
                         (renamed.status_int,
                          renamed.json['errors'][0]['code']))
        # Its own id is its own.
        self.app.patch_json('/v1/idps/%s' % second['id'], {
            'name': second['id']}, headers=base.ADMIN)


class TestManyIdPs(base.FederationTestCase):
    """A federation such as eduGAIN registers thousands of IdPs."""

    OVERRIDES = {('federation', 'secret_key'): 'test key of the proxy'}

    def test_login_finds_any_of_thousands_of_idps(self):
        count = 1200
        with self.writer() as session:
            session.execute(sa.insert(models.IdentityProvider), [{
                'id': '%04d' % n, 'name': 'idp-%04d' % n,
                'issuer': 'https://idp-%04d.example.org' % n,
                'client_id': 'proxy', 'scopes': 'openid',
                'claim_mapping': '{}', 'enabled': n != 7,
                'endpoints': json.dumps({
                    name: 'https://idp-%04d.example.org/%s' % (n, name)
                    for name in ('authorization_endpoint',
                                 'token_endpoint', 'jwks_uri')})}
                for n in range(count)])
        # The last by id, by its id and by its name (the first thousand
        # only were looked at).
        for name in ('%04d' % (count - 1), 'idp-%04d' % (count - 1)):
            resp = self.app.get('/v1/login', {'idp': name}, status=302)
            self.assertTrue(resp.location.startswith(
                'https://idp-%04d.example.org/authorization_endpoint?'
                % (count - 1)), resp.location)
        # A disabled one is not found; the chooser lists every enabled
        # one, by name, a page of [api] max_limit (1000) at a time.
        self.app.get('/v1/login', {'idp': 'idp-0007'}, status=404)
        chooser = self.app.get('/v1/login/idps').json
        self.assertEqual(1000, len(chooser['idps']))
        rest = self.app.get(chooser['links'][0]['href']).json
        self.assertEqual([], rest['links'])
        self.assertEqual(
            ['idp-%04d' % n for n in range(count) if n != 7],
            [i['name'] for i in chooser['idps'] + rest['idps']])
        self.assertEqual('/v1/login/idps', urllib.parse.urlsplit(
            self.app.get('/v1/login', status=302).location).path)

    def test_the_chooser_pages_and_keeps_its_parameters(self):
        with self.writer() as session:
            session.execute(sa.insert(models.IdentityProvider), [{
                'id': 'id-%d' % n, 'name': name,
                'issuer': 'https://%s.example.org' % n,
                'client_id': 'proxy', 'scopes': 'openid',
                'claim_mapping': '{}', 'enabled': True}
                for n, name in enumerate(['b', 'a', 'c', 'd', 'e'])])
        names, page = [], self.app.get('/v1/login/idps', {
            'limit': '2', 'link': 'true'}).json
        while True:
            names += [i['name'] for i in page['idps']]
            for idp in page['idps']:
                self.assertIn('link=true', idp['login'])
            if not page['links']:
                break
            self.assertIn('link=true', page['links'][0]['href'])
            page = self.app.get(page['links'][0]['href']).json
        self.assertEqual(['a', 'b', 'c', 'd', 'e'], names)
        for bad in ({'limit': '-1'}, {'limit': 'x'}, {'marker': 'a\x00'}):
            self.app.get('/v1/login/idps', bad, status=400)


class TestIdPWithoutKey(base.FederationTestCase):

    def test_secret_refused_public_client_accepted(self):
        body = {'name': 'home', 'issuer': 'https://idp.example.org',
                'client_id': 'proxy'}
        resp = self.app.post_json('/v1/idps', dict(
            body, client_secret='x'), headers=base.ADMIN,
            expect_errors=True)
        self.assertEqual((409, 'federation.secret_key_unset'),
                         (resp.status_int, resp.json['errors'][0]['code']))
        created = self.app.post_json('/v1/idps', body, headers=base.ADMIN)
        self.assertFalse(created.json['idp']['has_client_secret'])


class TestClients(base.FederationTestCase):

    ctx = context.RequestContext()

    def _create(self, **body):
        return self.app.post_json('/v1/clients', dict({
            'name': 'leaf keystone',
            'grant_types': ['authorization_code', 'refresh_token'],
            'redirect_uris': ['https://leaf.example.org/redirect_uri']},
            **body), headers=base.ADMIN, expect_errors=True)

    def test_secret_returned_once_and_stored_hashed(self):
        created = self._create().json['client']
        secret = created['secret']
        # 256 bits as hexadecimal: never taken for a command-line option.
        self.assertRegex(secret, '^[0-9a-f]{64}$')
        shown = self.app.get('/v1/clients/%s' % created['id'],
                             headers=base.READER).json['client']
        self.assertNotIn('secret', shown)
        listed = self.app.get('/v1/clients', headers=base.READER)
        self.assertNotIn(secret.encode('ascii'), listed.body)
        row = clients_db.get_client(self.fixture.db, self.ctx, created['id'])
        self.assertNotIn(secret, row.secret_hash)
        self.assertTrue(clients_db.check_secret(row, secret))
        self.assertFalse(clients_db.check_secret(row, secret + 'x'))

        rotated = self.app.patch_json('/v1/clients/%s' % created['id'], {
            'rotate_secret': True}, headers=base.ADMIN).json['client']
        row = clients_db.get_client(self.fixture.db, self.ctx, created['id'])
        self.assertFalse(clients_db.check_secret(row, secret))
        self.assertTrue(clients_db.check_secret(row, rotated['secret']))

    def test_public_client_has_no_secret(self):
        created = self._create(public=True, id='openstack-cli',
                               grant_types=[
                                   'urn:ietf:params:oauth:grant-type:'
                                   'device_code', 'refresh_token'],
                               redirect_uris=[]).json['client']
        self.assertEqual(('openstack-cli', True),
                         (created['id'], created['public']))
        self.assertNotIn('secret', created)

    def test_refused_registrations(self):
        for body, field in [
                ({'redirect_uris': []}, 'redirect_uris'),
                ({'redirect_uris': ['http://leaf.example.org/cb']},
                 'redirect_uris'),
                ({'redirect_uris': ['https://leaf.example.org/cb#x']},
                 'redirect_uris'),
                ({'public': True, 'grant_types': ['client_credentials']},
                 'grant_types'),
                ({'grant_types': ['refresh_token']}, 'grant_types'),
                ({'grant_types': ['implicit']}, 'grant_types/0')]:
            resp = self._create(**body)
            self.assertEqual((400, field), (resp.status_int,
                                            resp.json['errors'][0].get(
                                                'field')), body)
        self.assertEqual([], self.app.get(
            '/v1/clients', headers=base.READER).json['clients'])
        loopback = self._create(
            redirect_uris=['http://127.0.0.1:8400/callback'])
        self.assertEqual(201, loopback.status_int)


class TestScopesBoundOnPostgreSQL(races.OnPostgreSQL,
                                  base.FederationTestCase):
    """The scopes of an IdP or a client are kept joined by spaces in 255
    characters: up to 16 scopes of 64 characters each took more, and
    PostgreSQL refused the row (a 500)."""

    #: 1 + 15 * 17 characters: 256 with their spaces.
    TOO_LONG = ['a'] + ['s%02d' % n + 'x' * 13 for n in range(15)]
    LONGEST = TOO_LONG[:-1] + ['x' * 15]

    def assertRefused(self, resp):
        self.assertEqual(400, resp.status_int, resp.body)
        error = resp.json['errors'][0]
        self.assertEqual(('federation.scopes_too_long', 'scopes'),
                         (error['code'], error.get('field')))

    def test_idp_scopes(self):
        body = {'issuer': 'https://idp.example.org', 'client_id': 'proxy'}
        self.assertRefused(self.app.post_json(
            '/v1/idps', dict(body, name='home', scopes=self.TOO_LONG),
            headers=base.ADMIN, expect_errors=True))
        self.assertEqual([], self.app.get(
            '/v1/idps', headers=base.READER).json['idps'])
        idp = self.app.post_json('/v1/idps', dict(
            body, name='home', scopes=self.LONGEST),
            headers=base.ADMIN).json['idp']
        self.assertEqual(self.LONGEST, idp['scopes'])
        self.assertRefused(self.app.patch_json(
            '/v1/idps/%s' % idp['id'], {'scopes': self.TOO_LONG},
            headers=base.ADMIN, expect_errors=True))
        self.assertEqual(self.LONGEST, self.app.get(
            '/v1/idps/%s' % idp['id'],
            headers=base.READER).json['idp']['scopes'])

    def test_client_scopes(self):
        body = {'name': 'c', 'grant_types': ['client_credentials']}
        self.assertRefused(self.app.post_json(
            '/v1/clients', dict(body, scopes=self.TOO_LONG),
            headers=base.ADMIN, expect_errors=True))
        self.assertEqual([], self.app.get(
            '/v1/clients', headers=base.READER).json['clients'])
        client = self.app.post_json('/v1/clients', dict(
            body, scopes=self.LONGEST), headers=base.ADMIN).json['client']
        self.assertEqual(self.LONGEST, client['scopes'])
        self.assertRefused(self.app.patch_json(
            '/v1/clients/%s' % client['id'],
            {'scopes': self.TOO_LONG, 'rotate_secret': True},
            headers=base.ADMIN, expect_errors=True))
        self.assertEqual(self.LONGEST, self.app.get(
            '/v1/clients/%s' % client['id'],
            headers=base.READER).json['client']['scopes'])
