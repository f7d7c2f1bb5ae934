"""Migration 0022 (the identity of the login that made each session and
authorized each refresh token's grant) on a database that holds
sessions and refresh tokens made before it: they stay without one, and
unlinking any of the person's identities at their login's IdP ends
them, as before."""

import datetime

from oslo_context import context
import sqlalchemy as sa
import testtools

from federation_proxy.db import models
from federation_proxy.db import users
from federation_proxy import service
from svc_common.db import migration
from svc_common.tests.fixtures import backends

ISSUER = 'https://work.example'


class _Upgrade(object):

    def test_rows_made_before_end_with_any_identity_at_their_idp(self):
        url = self.database_url()
        migration.upgrade(service.SPEC, url, '0021')
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        later = datetime.datetime.utcnow() + datetime.timedelta(days=7)
        # The models' tables, but for the new columns (no default: not
        # written), as an API process of the release before wrote them.
        with engine.begin() as conn:
            conn.execute(models.IdentityProvider.__table__.insert().values(
                id='idp-work', name='work', issuer=ISSUER,
                client_id='proxy', enabled=True))
            conn.execute(models.User.__table__.insert().values(
                id='alice', name='Alice'))
            for i_id, subject in (('i-old', 'alice-old'),
                                  ('i-new', 'alice-new')):
                conn.execute(models.Identity.__table__.insert().values(
                    id=i_id, user_id='alice', issuer=ISSUER,
                    subject=subject))
            conn.execute(models.Session.__table__.insert().values(
                id='s-work', user_id='alice', expires_at=later,
                idp_id='idp-work', host_prefixed=False))
            for t_hash, s_id in (('t-work', 's-work'),
                                 ('t-forgotten', 's-gone')):
                conn.execute(models.RefreshToken.__table__.insert().values(
                    token_hash=t_hash, client_id='rp', user_id='alice',
                    scope='openid', expires_at=later, revoked=False,
                    session_id=s_id, idp_id='idp-work'))
        migration.upgrade(service.SPEC, url)
        with engine.connect() as conn:
            self.assertEqual([None], conn.execute(sa.text(
                'SELECT identity_id FROM sessions')).scalars().all())
            self.assertEqual([None, None], conn.execute(sa.text(
                'SELECT identity_id FROM refresh_tokens')).scalars().all())
        # Which identity those logins went through is not known: the
        # unlinking of either ends them (the other is kept).
        db = backends.database_at(self, url)
        users.unlink_identity(db, context.RequestContext(), 'alice',
                              'i-new', datetime.datetime.utcnow(),
                              datetime.timedelta(minutes=5))
        with engine.connect() as conn:
            self.assertEqual(0, conn.execute(sa.text(
                'SELECT count(*) FROM sessions')).scalar())
            self.assertEqual(0, conn.execute(sa.text(
                'SELECT count(*) FROM refresh_tokens')).scalar())
            self.assertEqual(['i-old'], conn.execute(sa.text(
                'SELECT id FROM identities')).scalars().all())


class TestUpgradeOnSQLite(backends.OnSQLite, _Upgrade, testtools.TestCase):
    pass


class TestUpgradeOnPostgreSQL(backends.OnPostgreSQL, _Upgrade,
                              testtools.TestCase):
    pass
