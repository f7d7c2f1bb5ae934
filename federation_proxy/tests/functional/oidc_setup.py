"""People, VOs and relying-party clients for the OIDC provider's tests,
made through the REST API as an operator would."""

import base64
import datetime
import hashlib
import secrets
import threading
import time
import urllib.parse
from wsgiref import simple_server

import fixtures

from federation_proxy.db import logins
from federation_proxy import login
from federation_proxy import service
from svc_common import context
from svc_common.tests.fixtures import api as af
from svc_common.tests.fixtures import ports

ADMIN = af.SYSTEM_ADMIN
REDIRECT = 'http://127.0.0.1:8765/callback'
GRANTS = ['authorization_code', 'refresh_token', 'client_credentials']
SCOPES = ['openid', 'profile', 'email', 'compute']


def person_headers(user_id):
    """A person's request: a plain project member token of their own."""
    return af.identity(['member', 'reader'], 'p-' + user_id,
                       user_id=user_id)


def make_person(app, user_id, name=None, email=None):
    app.post_json('/v1/users', {
        'id': user_id, 'issuer': 'https://idp.example.org',
        'subject': 'sub-' + user_id, 'name': name or user_id.title(),
        'email': email or '%s@example.org' % user_id}, headers=ADMIN)
    return user_id


def make_vo(app, name, managers=()):
    return app.post_json('/v1/vos', {'name': name,
                                     'managers': list(managers)},
                         headers=ADMIN).json['vo']['id']


def add_member(app, vo_id, user_id, role='member'):
    return app.post_json('/v1/vos/%s/memberships' % vo_id, {
        'user_id': user_id, 'role': role},
        headers=ADMIN).json['membership']['id']


def remove_member(app, vo_id, membership_id):
    app.delete('/v1/vos/%s/memberships/%s' % (vo_id, membership_id),
               headers=ADMIN)


def make_client(app, client_id, redirect_uris=(REDIRECT,), grants=GRANTS,
                public=False, scopes=SCOPES):
    """``(client_id, secret or None)``."""
    body = {'id': client_id, 'name': client_id, 'grant_types': list(grants),
            'redirect_uris': list(redirect_uris), 'scopes': list(scopes)}
    if public:
        body['public'] = True
    resp = app.post_json('/v1/clients', body, headers=ADMIN).json
    return client_id, resp.get('secret') or resp['client'].get('secret')


def session_token(db, key, issuer, user_id, issued=None, lifetime=600):
    """A session cookie value of ``user_id`` that logged in at
    ``issued`` (seconds since the epoch; now by default), whose session
    the proxy keeps as a login makes it."""
    issued = issued or int(time.time())
    session_id = login.new_session_id()
    logins.start_session(
        db, context.RequestContext(), session_id, user_id,
        datetime.datetime.utcnow(),
        datetime.datetime.utcfromtimestamp(issued + lifetime))
    return login.sign_session(key, issuer, user_id, issued, lifetime,
                              session_id=session_id)


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()
    return verifier, challenge


def basic(client_id, secret):
    raw = '%s:%s' % (urllib.parse.quote_plus(client_id),
                     urllib.parse.quote_plus(secret))
    return {'Authorization': 'Basic ' +
            base64.b64encode(raw.encode()).decode()}


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
        location).query))


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ProviderOverHttp(fixtures.Fixture):
    """federation_proxy's complete app served over HTTP on a free port of
    127.0.0.1, whose URL (``.base``) is the issuer; ``.app`` (webtest),
    ``.wsgi`` and ``.conf`` as :class:`af.ServiceApp` has them."""

    def __init__(self, overrides=None):
        super().__init__()
        self.overrides = dict(overrides or {})

    def _setUp(self):
        port = ports.free_port()
        self.base = 'http://127.0.0.1:%d' % port
        overrides = {('federation', 'issuer'): self.base}
        overrides.update(self.overrides)
        served = self.useFixture(af.ServiceApp(service.SPEC,
                                               overrides=overrides))
        self.app, self.wsgi, self.conf = served.app, served.wsgi, served.conf
        server = simple_server.make_server('127.0.0.1', port, self.wsgi,
                                           handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.05})
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(server.shutdown)
