"""``ServiceSpec.session_auth``: the second way to authenticate a request
without a Keystone token, in the middleware chain :func:`deploy.deploy`
builds (keystonemiddleware and ``noauth`` both)."""

import dataclasses

import fixtures
import pecan
import testtools
import webtest

from limits_svc import service
from svc_common import config
from svc_common.db import database
from svc_common import deploy
from svc_common import errors
from svc_common import policy
from svc_common.tests.fixtures import api as af

#: Every identity header a client could forge, with a value that would
#: make it a system admin of project ``p1`` acting for a service.
FORGED = {
    'X-User-Id': 'mallory', 'X-User-Name': 'mallory',
    'X-User-Domain-Id': 'default', 'X-Project-Id': 'p1',
    'X-Project-Name': 'p1', 'X-Project-Domain-Id': 'default',
    'X-Domain-Id': 'default', 'X-Roles': 'admin,member,reader',
    'X-Role': 'admin', 'X-System-Scope': 'all',
    'OpenStack-System-Scope': 'all', 'X-Identity-Status': 'Confirmed',
    'X-Is-Admin-Project': 'True', 'X-Tenant-Id': 'p1', 'X-Tenant': 'p1',
    'X-Service-User-Id': 'nova', 'X-Service-Roles': 'service',
    'X-Service-Project-Id': 'service', 'X-Service-Identity-Status':
    'Confirmed', 'X-Service-Catalog': '[]',
}


class Echo(object):
    """Answers what the handler sees of the caller."""

    @pecan.expose('json')
    def index(self):
        ctx = pecan.request.context
        env = pecan.request.environ
        return {'user_id': ctx.user_id, 'project_id': ctx.project_id,
                'roles': ctx.roles, 'system_scope': ctx.system_scope,
                'service_user_id': ctx.service_user_id,
                'service_roles': ctx.service_roles,
                'is_admin_project': ctx.is_admin_project,
                'domain_id': ctx.domain_id,
                'session': env.get(deploy.SESSION_AUTH_KEY, False)}


class EchoRoot(object):

    v1 = Echo()

    @pecan.expose('json')
    def index(self):
        return {'user_id': pecan.request.context.user_id,
                'roles': pecan.request.context.roles}


def cookie_authenticator(conf, db):
    """Cookie ``sid=good`` is person ``alice``; ``sid=refuse`` is
    refused outright."""
    def authenticate(environ):
        cookie = environ.get('HTTP_COOKIE', '')
        if 'sid=refuse' in cookie:
            raise errors.Forbidden('Refused.', code='refused')
        return 'alice' if 'sid=good' in cookie else None
    return authenticate


class TestSessionAuth(testtools.TestCase):

    def app(self, strategy, session_auth=cookie_authenticator):
        spec = dataclasses.replace(service.SPEC, session_auth=session_auth)
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = config.build_conf(spec, overrides={
            (None, 'state_path'): tmp, ('api', 'auth_strategy'): strategy,
            ('keystone_authtoken', 'www_authenticate_uri'):
                'http://127.0.0.1:5000/v3'})
        enforcer = policy.make_enforcer(
            conf, spec.module('policies').list_rules())
        return webtest.TestApp(deploy.deploy(
            spec, conf, enforcer, database.Database(conf), root=EchoRoot()))

    def test_session_is_the_only_identity(self):
        for strategy in ('keystone', 'noauth'):
            app = self.app(strategy)
            headers = dict(FORGED, Cookie='sid=good')
            if strategy == 'noauth':
                # X-User-Id is noauth's token: with it, noauth decides.
                del headers['X-User-Id']
            seen = app.get('/v1', headers=headers).json
            self.assertEqual(
                {'user_id': 'alice', 'project_id': None, 'roles': [],
                 'system_scope': None, 'service_user_id': None,
                 'service_roles': [], 'is_admin_project': False,
                 'domain_id': None, 'session': True}, seen, strategy)

    def test_no_session_goes_the_normal_way(self):
        app = self.app('keystone')
        resp = app.get('/v1', headers=dict(FORGED, Cookie='sid=bad'),
                       status=401)
        self.assertEqual('limits.unauthorized',
                         resp.json['errors'][0]['code'])
        app = self.app('noauth')
        self.assertEqual('mallory', app.get('/v1', headers=dict(
            FORGED, Cookie='sid=good')).json['user_id'])
        app.get('/v1', status=401)

    def test_a_token_is_never_shown_to_the_authenticator(self):
        seen = []

        def build(conf, db):
            def authenticate(environ):
                seen.append(environ['PATH_INFO'])
                return 'alice'
            return authenticate
        app = self.app('noauth', session_auth=build)
        resp = app.get('/v1', headers={
            'X-Auth-Token': 'tok', 'X-User-Id': 'bob'}).json
        self.assertEqual(('bob', False), (resp['user_id'], resp['session']))
        self.assertEqual([], seen)

    def test_authenticator_may_refuse(self):
        resp = self.app('keystone').get(
            '/v1', headers={'Cookie': 'sid=refuse'}, status=403)
        self.assertEqual('limits.refused', resp.json['errors'][0]['code'])

    def test_public_paths_see_no_forged_identity_behind_keystone(self):
        seen = self.app('keystone').get('/', headers=FORGED).json
        self.assertEqual({'user_id': None, 'roles': []}, seen)

    def test_module_name_resolves_in_the_package(self):
        spec = dataclasses.replace(service.SPEC, session_auth='nowhere')
        self.assertRaises(ImportError, spec.authenticator, None, None)
        self.assertIsNone(service.SPEC.authenticator(None, None))


class TestOtherServicesUnaffected(testtools.TestCase):
    """limits_svc has no session_auth: a cookie and every identity
    header without a token gain nothing behind keystonemiddleware."""

    def test_forged_cookie_and_headers_refused(self):
        self.assertIsNone(service.SPEC.session_auth)
        app = self.useFixture(af.ServiceApp(service.SPEC, 'keystone')).app
        for path in ('/v1', '/v1/projects'):
            resp = app.get(path, headers=dict(
                FORGED, Cookie='federation_session=x; sid=good',
                Authorization='Bearer x'), status=401)
            self.assertEqual('limits.unauthorized',
                             resp.json['errors'][0]['code'])
