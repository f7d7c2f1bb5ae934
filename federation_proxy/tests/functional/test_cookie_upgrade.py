"""What is left of the plain cookie names after the ``__Host-`` ones:
under an https issuer the OpenAPI document names the cookie the proxy
reads, answers that set or clear the session cookie also expire the
plain-named one, and the sessions of plain-named cookies (made before
the upgrade) are ended, with their grants, when the API starts."""

import datetime
import time

import sqlalchemy as sa

from federation_proxy.db import models
from federation_proxy import login
from federation_proxy import service
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup as s
from svc_common import context
from svc_common.tests.fixtures import postgresql

KEY = 'test key of the proxy'
CSRF = {login.CSRF_HEADER: 'XMLHttpRequest'}
HOST_SESSION = '__Host-' + login.SESSION_COOKIE


def _set_cookies(resp, name):
    """The ``Set-Cookie`` headers of ``resp`` for the cookie ``name``,
    each as a list of its parts in lower case."""
    return [[part.strip().lower() for part in header.split(';')]
            for header in resp.headers.getall('Set-Cookie')
            if header.startswith(name + '=')]


class HttpIssuerTest(base.FederationTestCase):
    """An http issuer (a local run): the plain names are the cookies'
    own."""

    ISSUER = 'http://127.0.0.1:9873'
    OVERRIDES = {('federation', 'secret_key'): KEY,
                 ('federation', 'issuer'): ISSUER}
    COOKIE = login.SESSION_COOKIE

    def test_openapi_names_the_session_cookie_read(self):
        schemes = self.app.get('/v1/openapi.json').json[
            'components']['securitySchemes']
        self.assertEqual(('cookie', self.COOKIE),
                         (schemes['session']['in'],
                          schemes['session']['name']))
        # The other schemes are svc_common's.
        self.assertEqual(['bearer', 'keystone', 'session'],
                         sorted(schemes))

    def test_logout_clears_the_one_session_cookie(self):
        resp = self.app.post('/v1/logout', headers=CSRF, status=204)
        cleared = _set_cookies(resp, login.SESSION_COOKIE)
        self.assertEqual(1, len(cleared))
        self.assertIn('max-age=0', cleared[0])
        self.assertNotIn('secure', cleared[0])

    def test_start_leaves_the_sessions(self):
        s.make_person(self.app, 'alice')
        token = s.session_token(self.fixture.db, KEY, self.ISSUER, 'alice')
        cookie = {'Cookie': '%s=%s' % (self.COOKIE, token)}
        service.SPEC.start(self.fixture.conf, self.fixture.db)
        self.app.get('/v1/users/alice', headers=cookie)


class HttpsIssuerTest(HttpIssuerTest):
    """An https issuer: the proxy's cookies are ``__Host-`` ones."""

    ISSUER = 'https://127.0.0.1:9873'
    OVERRIDES = {('federation', 'secret_key'): KEY,
                 ('federation', 'issuer'): ISSUER}
    COOKIE = HOST_SESSION
    HTTPS = {'wsgi.url_scheme': 'https'}

    def test_logout_clears_the_one_session_cookie(self):
        # The __Host- cookie, and the plain one that an earlier release
        # set (Path=/, no Domain, as it was): the browser drops both.
        resp = self.app.post('/v1/logout', headers=CSRF, status=204,
                             extra_environ=self.HTTPS)
        for name in (HOST_SESSION, login.SESSION_COOKIE):
            cleared = _set_cookies(resp, name)
            self.assertEqual(1, len(cleared), name)
            for wanted in ('max-age=0', 'path=/', 'secure'):
                self.assertIn(wanted, cleared[0])
            self.assertEqual([], [a for a in cleared[0]
                                  if a.startswith('domain=')])

    def refresh_token(self, token_hash, session_id, user_id):
        with self.writer() as session:
            session.add(models.RefreshToken(
                token_hash=token_hash, client_id='rp', user_id=user_id,
                scope='openid', revoked=False, session_id=session_id,
                expires_at=datetime.datetime.utcnow() +
                datetime.timedelta(days=1)))

    def stored(self, model, column):
        with self.fixture.db.reader.using(context.RequestContext()) as db:
            return sorted(db.scalars(sa.select(column)))

    def test_start_leaves_the_sessions(self):
        # Sessions of the __Host- cookie (made by this release) stay.
        s.make_person(self.app, 'alice')
        token = s.session_token(self.fixture.db, KEY, self.ISSUER, 'alice')
        with self.writer() as session:
            session.execute(sa.update(models.Session).values(
                host_prefixed=True))
        service.SPEC.start(self.fixture.conf, self.fixture.db)
        self.app.get('/v1/users/alice', headers={
            'Cookie': '%s=%s' % (HOST_SESSION, token)},
            extra_environ=self.HTTPS)

    def test_start_ends_the_sessions_of_plain_named_cookies(self):
        for person in ('alice', 'bob'):
            s.make_person(self.app, person)
        # Alice's session was made before the upgrade: her browser holds
        # its plain-named cookie, which the proxy no longer reads, so
        # she cannot log out of it.  Its value under the __Host- name
        # (a copy of the cookie) still worked.
        old = s.session_token(self.fixture.db, KEY, self.ISSUER, 'alice')
        old_id = login.read_session_token(
            KEY, self.ISSUER, old, int(time.time())).session_id
        copy = {'Cookie': '%s=%s' % (HOST_SESSION, old)}
        self.app.get('/v1/users/alice', headers=copy,
                     extra_environ=self.HTTPS)
        # Bob logged in after the upgrade.
        new = s.session_token(self.fixture.db, KEY, self.ISSUER, 'bob')
        new_id = login.read_session_token(
            KEY, self.ISSUER, new, int(time.time())).session_id
        with self.writer() as session:
            session.execute(sa.update(models.Session).where(
                models.Session.id == new_id).values(host_prefixed=True))
        # A grant each session authorized.
        self.refresh_token('a' * 64, old_id, 'alice')
        self.refresh_token('b' * 64, new_id, 'bob')

        service.SPEC.start(self.fixture.conf, self.fixture.db)

        self.app.get('/v1/users/alice', headers=copy, status=401,
                     extra_environ=self.HTTPS)
        self.assertEqual([new_id], self.stored(models.Session,
                                               models.Session.id))
        self.assertEqual(['b' * 64], self.stored(
            models.RefreshToken, models.RefreshToken.token_hash))
        self.app.get('/v1/users/bob', headers={
            'Cookie': '%s=%s' % (HOST_SESSION, new)},
            extra_environ=self.HTTPS)
        # Ended as a logout ends a session: audited.
        logouts = [e for e in self.app.get(
            '/v1/audit', headers=base.READER).json['audit']
            if e['action'] == 'logout']
        self.assertEqual([old_id], [e['object_id'] for e in logouts])


class HttpsIssuerOnPostgreSQLTest(HttpsIssuerTest):
    """The same on PostgreSQL, where the start locks the sessions it
    ends (``SELECT ... FOR UPDATE``) and deletes them in batches."""

    def setUp(self):
        overrides = dict(HttpsIssuerTest.OVERRIDES)
        overrides[('database', 'connection')] = self.useFixture(
            postgresql.Database()).url
        self.OVERRIDES = overrides
        super().setUp()
