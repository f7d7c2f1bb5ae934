"""The federation API in-process, with a notifier that records what it
would announce on the bus."""

import fixtures
from oslo_context import context
import testtools
import webtest

from federation_proxy import service
from svc_common import config
from svc_common.db import database
from svc_common.db import migration
from svc_common import deploy
from svc_common import policy
from svc_common.tests.fixtures import api as af

ADMIN = af.SYSTEM_ADMIN
READER = af.SYSTEM_READER


class RecordingNotifier(object):
    """Stands for the oslo.messaging notifier: keeps ``(event type,
    payload)`` of every notification."""

    def __init__(self):
        self.sent = []

    def info(self, ctxt, event_type, payload):
        self.sent.append((event_type, payload))

    def events(self, prefix='federation.membership.'):
        return [(e, p) for e, p in self.sent if e.startswith(prefix)]


class FederationApp(fixtures.Fixture):
    """federation_proxy's complete WSGI app on a fresh SQLite database,
    built as :func:`svc_common.wsgi_app.make_application` builds it but
    with a :class:`RecordingNotifier`."""

    def __init__(self, overrides=None):
        super().__init__()
        self.overrides = dict(overrides or {})

    def _setUp(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        overrides = {(None, 'state_path'): tmp,
                     ('api', 'auth_strategy'): 'noauth'}
        overrides.update(self.overrides)
        spec = service.SPEC
        self.conf = config.build_conf(spec, overrides=overrides)
        migration.upgrade(spec, self.conf.database.connection)
        self.db = database.Database(self.conf)
        self.notifier = RecordingNotifier()
        enforcer = policy.make_enforcer(
            self.conf, spec.module('policies').list_rules())
        self.app = webtest.TestApp(deploy.deploy(
            spec, self.conf, enforcer, self.db, self.notifier))


def person(user_id):
    """noauth headers of a person known to the proxy: a plain project
    member token whose user id is the person's."""
    return af.identity(['member', 'reader'], 'p1', user_id=user_id)


class FederationTestCase(testtools.TestCase):

    OVERRIDES = None

    def setUp(self):
        super().setUp()
        self.fixture = self.useFixture(FederationApp(self.OVERRIDES))
        self.app = self.fixture.app
        self.notifier = self.fixture.notifier

    def add_person(self, user_id, email=None):
        self.app.post_json('/v1/users', {
            'id': user_id, 'issuer': 'https://idp.example.org',
            'subject': 'sub-' + user_id, 'email': email}, headers=ADMIN)
        return user_id

    def make_vo(self, name, managers=()):
        return self.app.post_json('/v1/vos', {
            'name': name, 'managers': list(managers)},
            headers=ADMIN).json['vo']

    def writer(self):
        """A write transaction on the service's database, for what the
        API cannot do (make time pass)."""
        return self.fixture.db.writer.using(context.RequestContext())

    def entitlements(self, user_id, headers=None):
        return self.app.get('/v1/users/%s/entitlements' % user_id,
                            headers=headers or ADMIN).json['entitlements']

    def audit(self, vo_id):
        return self.app.get('/v1/audit', {'vo_id': vo_id},
                            headers=READER).json['audit']
