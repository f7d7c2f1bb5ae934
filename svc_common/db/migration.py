"""Alembic, per service: each service has its own migration history.

The history lives in ``<service>/db/migrations``; its ``env.py`` is two
lines that call :func:`run_env`.  The revision table is named after the
service (``alembic_version_<prog>``), so services can share one database
if an operator wants that.
"""

import alembic.command
import alembic.config
import alembic.migration
import alembic.script
import sqlalchemy

from svc_common.db import database


def _version_table(spec):
    return 'alembic_version_%s' % spec.prog.replace('-', '_')


def alembic_config(spec, url):
    config = alembic.config.Config()
    config.set_main_option('script_location', spec.migrations_dir)
    config.set_main_option('sqlalchemy.url', url.replace('%', '%%'))
    config.attributes['version_table'] = _version_table(spec)
    return config


def upgrade(spec, url, revision='head'):
    """Bring the database at ``url`` up to ``revision``."""
    database.check_supported(url)
    database.ensure_sqlite_dir(url)
    alembic.command.upgrade(alembic_config(spec, url), revision)


def downgrade(spec, url, revision):
    alembic.command.downgrade(alembic_config(spec, url), revision)


def current_revision(spec, url):
    """The revision the database is at, or None for an empty database."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = alembic.migration.MigrationContext.configure(
                conn, opts={'version_table': _version_table(spec)})
            return ctx.get_current_revision()
    finally:
        engine.dispose()


def head_revision(spec):
    script = alembic.script.ScriptDirectory.from_config(
        alembic_config(spec, 'sqlite://'))
    return script.get_current_head()


def revisions(spec):
    """Every revision of the history, oldest first."""
    script = alembic.script.ScriptDirectory.from_config(
        alembic_config(spec, 'sqlite://'))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def run_env(context, target_metadata):
    """The body of every service's alembic ``env.py``."""
    config = context.config
    version_table = config.attributes['version_table']
    url = config.get_main_option('sqlalchemy.url')
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata,
                          version_table=version_table, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection,
                          target_metadata=target_metadata,
                          version_table=version_table,
                          render_as_batch=connection.dialect.name == 'sqlite')
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
