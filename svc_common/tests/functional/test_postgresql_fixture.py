"""The private PostgreSQL server: fast for tests, durable when asked.

Benchmarks (tools/bench_limits) ask for ``Server(durable=True)`` so that a
commit they time is one a deployment would wait for; the tests keep the
fast default. These tests fail (they do not skip) without Debian's
``postgresql`` package.
"""

import sqlalchemy
import testtools

from svc_common.tests.fixtures import postgresql

DURABILITY = ('fsync', 'synchronous_commit', 'full_page_writes')


def _settings(server):
    engine = sqlalchemy.create_engine(server.admin_url)
    try:
        with engine.connect() as conn:
            return {name: conn.execute(sqlalchemy.text('SHOW %s' % name))
                    .scalar() for name in DURABILITY}
    finally:
        engine.dispose()


class TestPostgreSQLServer(testtools.TestCase):

    def _started(self, **kwargs):
        server = postgresql.Server(**kwargs)
        self.addCleanup(server.stop)
        server.start()
        return server

    def test_default_turns_durability_off(self):
        server = self._started()
        self.assertEqual({name: 'off' for name in DURABILITY},
                         _settings(server))

    def test_durable_keeps_every_commit_on_disk(self):
        server = self._started(durable=True)
        self.assertEqual({name: 'on' for name in DURABILITY},
                         _settings(server))
        # It is a working server: a database can be created and used.
        engine = sqlalchemy.create_engine(
            server.url(server.create_database('durable')))
        try:
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text('CREATE TABLE t (n integer)'))
                conn.execute(sqlalchemy.text('INSERT INTO t VALUES (1)'))
            with engine.connect() as conn:
                self.assertEqual(1, conn.execute(sqlalchemy.text(
                    'SELECT n FROM t')).scalar())
        finally:
            engine.dispose()
