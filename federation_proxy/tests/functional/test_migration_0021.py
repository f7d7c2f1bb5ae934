"""Migration 0021 (the IdP of the login that authorized each refresh
token's grant) on a database that holds refresh tokens made before it:
those of sessions still kept take their session's IdP; the others (no
session, a forgotten one, one made before sessions recorded their IdP)
stay without one."""

import datetime

import sqlalchemy as sa
import testtools

from federation_proxy import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends


class _Upgrade(object):

    def test_refresh_tokens_take_the_idp_of_their_session(self):
        url = self.database_url()
        migration.upgrade(service.SPEC, url, '0020')
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        later = datetime.datetime.utcnow() + datetime.timedelta(days=7)
        with engine.begin() as conn:
            for s_id, idp_id in (('s-work', 'idp-work'),
                                 ('s-old', None)):
                conn.execute(sa.text(
                    "INSERT INTO sessions (id, user_id, expires_at, "
                    "idp_id) VALUES (:id, 'alice', :exp, :idp)"),
                    {'id': s_id, 'exp': later, 'idp': idp_id})
            for t_hash, s_id in (('t-work', 's-work'),
                                 ('t-work-used', 's-work'),
                                 ('t-old', 's-old'),
                                 ('t-forgotten', 's-gone'),
                                 ('t-none', None)):
                conn.execute(sa.text(
                    "INSERT INTO refresh_tokens (token_hash, client_id, "
                    "user_id, scope, expires_at, revoked, session_id) "
                    "VALUES (:hash, 'rp', 'alice', 'openid', :exp, "
                    ":revoked, :session)"),
                    {'hash': t_hash, 'exp': later, 'session': s_id,
                     'revoked': t_hash == 't-work-used'})
        migration.upgrade(service.SPEC, url)
        with engine.connect() as conn:
            found = dict(conn.execute(sa.text(
                'SELECT token_hash, idp_id FROM refresh_tokens')).all())
        self.assertEqual({'t-work': 'idp-work', 't-work-used': 'idp-work',
                          't-old': None, 't-forgotten': None,
                          't-none': None}, found)


class TestUpgradeOnSQLite(backends.OnSQLite, _Upgrade, testtools.TestCase):
    pass


class TestUpgradeOnPostgreSQL(backends.OnPostgreSQL, _Upgrade,
                              testtools.TestCase):
    pass
