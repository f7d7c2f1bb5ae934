"""The OIDC provider's first signing keys are made when an API process
starts, once however many start at once; ``GET``/``HEAD /oidc/jwks`` and
the check of a bearer token only read them.
"""

import datetime
import threading

import fixtures
import sqlalchemy as sa
import testtools

from federation_proxy.db import models
from federation_proxy.db import oidc as oidc_db
from federation_proxy.oidc import keys
from federation_proxy import service
from federation_proxy.tests.functional import base
from federation_proxy.tests.functional import oidc_setup as s
from svc_common import config
from svc_common import context
from svc_common.db import database
from svc_common.tests.fixtures import races

KEY_TABLE = models.SigningKey.__table__


class SigningKeysAtStartTest(base.FederationTestCase):

    def setUp(self):
        super().setUp()
        self.db = self.fixture.db
        # Every request reads the keys afresh: what another process
        # wrote shows at once.
        self.useFixture(fixtures.MockPatch(
            'federation_proxy.api.access_tokens.KEY_CACHE_SECONDS', -1))

    def stored(self):
        with self.db.reader.using(context.admin_context()) as session:
            return sorted((r.state, r.kid) for r in
                          session.scalars(sa.select(models.SigningKey)))

    def forget_keys(self):
        """The database of a provider whose API has not started since
        ``db sync``."""
        with self.db.writer.using(context.admin_context()) as session:
            session.execute(sa.delete(models.SigningKey))

    def test_the_keys_are_made_at_start_and_published(self):
        # Before any request: a current and a next key.
        made = self.stored()
        self.assertEqual([keys.CURRENT, keys.NEXT], [m[0] for m in made])
        self.assertEqual(sorted(m[1] for m in made), sorted(
            k['kid'] for k in self.app.get('/oidc/jwks').json['keys']))
        # Another process starting later makes none.
        service.SPEC.start(self.fixture.conf, self.db)
        self.assertEqual(made, self.stored())

    def test_jwks_of_a_provider_without_keys_writes_nothing(self):
        self.forget_keys()
        for method in (self.app.get, self.app.head):
            resp = method('/oidc/jwks', status=503)
            self.assertEqual([], self.stored())
        resp = self.app.get('/oidc/jwks', status=503)
        self.assertEqual('federation.no_signing_keys',
                         resp.json['errors'][0]['code'])
        self.assertIn('federation-manage keys rotate',
                      resp.json['errors'][0]['detail'])
        # Nor does a bearer token checked at /v1, or at userinfo.
        self.app.get('/oidc/userinfo', headers={
            'Authorization': 'Bearer a.b.c'}, status=401)
        self.assertEqual([], self.stored())

    def test_the_first_token_makes_the_keys_a_failed_start_left_out(self):
        self.forget_keys()
        s.make_person(self.app, 'alice')
        client = s.make_client(self.app, 'cli', grants=[
            'client_credentials'])
        token = self.app.post('/oidc/token', {
            'grant_type': 'client_credentials'},
            headers=s.basic(*client)).json['access_token']
        self.assertEqual([keys.CURRENT, keys.NEXT],
                         [m[0] for m in self.stored()])
        self.assertTrue(self.app.post('/oidc/introspect', {
            'token': token}, headers=s.basic(*client)).json['active'])
        self.assertEqual(2, len(self.app.get('/oidc/jwks').json['keys']))

    def test_keys_without_a_current_one_get_it_at_start(self):
        # An interrupted rotation left a next key only: the start makes
        # it current, and a new next key.
        now = datetime.datetime.utcnow()
        self.forget_keys()
        pending = keys.generate(keys.NEXT, now)
        with self.db.writer.using(context.admin_context()) as session:
            session.execute(sa.insert(KEY_TABLE), [pending._asdict()])
        service.SPEC.start(self.fixture.conf, self.db)
        stored = self.stored()
        self.assertIn((keys.CURRENT, pending.kid), stored)
        self.assertEqual([keys.CURRENT, keys.NEXT],
                         sorted(m[0] for m in stored))


class SigningKeysAtStartOnPostgreSQLTest(races.OnPostgreSQL,
                                         SigningKeysAtStartTest):

    def test_processes_starting_at_once_make_one_current_key(self):
        self.forget_keys()
        conf = self.fixture.conf
        ready = threading.Barrier(4)
        failures = []

        def start():
            db = database.Database(conf)
            try:
                ready.wait(30)
                service.SPEC.start(conf, db)
            except Exception as exc:  # reported by the test's thread
                failures.append(exc)
            finally:
                db.dispose()

        threads = [threading.Thread(target=start) for _i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertEqual([], failures)
        self.assertEqual([keys.CURRENT, keys.NEXT],
                         [m[0] for m in self.stored()])

    def test_a_start_waits_for_the_keys_another_start_is_making(self):
        # Another process has made its keys and not committed yet: this
        # one waits for them rather than making its own.
        self.forget_keys()
        theirs = keys.bootstrap(datetime.datetime.utcnow())

        def other_start(conn):
            conn.execute(sa.text(
                'LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE'))
            conn.execute(sa.insert(KEY_TABLE), [r._asdict() for r in theirs])

        found = races.during(self.engine, other_start, lambda: (
            oidc_db.ensure_keys(self.db, context.admin_context(),
                                datetime.datetime.utcnow())))
        self.assertEqual(sorted(r.kid for r in theirs),
                         sorted(r.kid for r in found))
        self.assertEqual(sorted((r.state, r.kid) for r in theirs),
                         self.stored())


class StartWithoutDatabaseTest(testtools.TestCase):

    def test_an_api_starts_before_db_sync(self):
        # No tables yet: the API starts all the same, and says why the
        # JWKS is not there yet.
        logger = self.useFixture(fixtures.FakeLogger(
            name='federation_proxy.startup'))
        tmp = self.useFixture(fixtures.TempDir()).path
        conf = config.build_conf(service.SPEC, overrides={
            (None, 'state_path'): tmp})
        db = database.Database(conf)
        self.addCleanup(db.dispose)
        service.SPEC.start(conf, db)
        self.assertIn('could not make its signing keys', logger.output)
