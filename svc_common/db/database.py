"""One oslo.db engine facade per service instance.

oslo.db's module-level facade is process global; a process that runs several
services (the local run, the tests) needs one per service, so each
:class:`Database` owns its own ``transaction_context``.  Use it with a
:class:`~svc_common.context.RequestContext`::

    with db.writer.using(ctx) as session:
        session.add(row)
"""

import os

from oslo_db.sqlalchemy import enginefacade
import sqlalchemy.engine


def ensure_sqlite_dir(url):
    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() == 'sqlite' and parsed.database not in (
            None, '', ':memory:'):
        directory = os.path.dirname(os.path.abspath(parsed.database))
        os.makedirs(directory, exist_ok=True)


class Database(object):
    """The reader and writer transactions of one service's database."""

    def __init__(self, conf):
        connection = conf.database.connection
        ensure_sqlite_dir(connection)
        self.url = connection
        self._context = enginefacade.transaction_context()
        settings = dict(conf.database.items())
        settings['sqlite_fk'] = True
        self._context.configure(**settings)

    @property
    def writer(self):
        return self._context.writer

    @property
    def reader(self):
        return self._context.reader

    @property
    def engine(self):
        return self._context.writer.get_engine()

    def dispose(self):
        """Close the pooled connections (tests, shutdown)."""
        self._context.dispose_pool()
