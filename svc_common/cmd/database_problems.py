"""What the console scripts say about a database they cannot use.

A ``[database] connection`` that does not parse, that names a database
the services do not run on, whose driver is not installed or whose
server does not answer ended ``<prog>-manage`` and ``<prog>-api`` with a
traceback; :func:`describe` makes each one line for people.
"""

import os

from oslo_db import exception as db_exception
from sqlalchemy import engine
from sqlalchemy import exc as sqlalchemy_exc

from svc_common.db import database

#: The errors :func:`describe` may explain (a ModuleNotFoundError only
#: when the module is a database driver).
ERRORS = (database.DatabaseSetupError, sqlalchemy_exc.ArgumentError,
          sqlalchemy_exc.NoSuchModuleError, sqlalchemy_exc.OperationalError,
          sqlalchemy_exc.InterfaceError, db_exception.DBConnectionError,
          ModuleNotFoundError)


def check_url(url):
    """Refuse, before any connection, a database the services do not run
    on (``db version`` read a MySQL URL until the driver's import failed,
    a traceback); ``postgres://``, which SQLAlchemy does not know, is
    named as the spelling of ``postgresql://`` it is.

    :raises svc_common.db.database.DatabaseSetupError:
    """
    if engine.make_url(url).get_backend_name() == 'postgres':
        raise database.DatabaseSetupError(
            '[database] connection starts with postgres://, which '
            'SQLAlchemy spells postgresql:// (postgresql+psycopg2:// or '
            'postgresql+psycopg:// for a given driver).')
    database.check_supported(url)


def missing_sqlite_file(connection):
    """Whether ``connection`` names an SQLite file that does not exist:
    reading it would create an empty one, which commands that only read
    (``db version``, ``<prog>-status upgrade check``) must not leave
    behind."""
    url = engine.make_url(connection)
    return (url.get_backend_name() == 'sqlite' and
            url.database not in (None, '', ':memory:') and
            not os.path.exists(url.database))


#: The Python module of a database driver -> what to install for it.
DRIVER_PACKAGES = {
    'psycopg2': 'psycopg2 (or psycopg2-binary)',
    'psycopg': "'psycopg[binary]'",
    'pg8000': 'pg8000',
    'asyncpg': 'asyncpg',
    'psycopg2cffi': 'psycopg2cffi',
}


def describe(exc):
    """One line for a database that cannot be used, or None for an error
    that is not about the database (a module other than a driver).

    These ended every command with a traceback: a URL that does not
    parse, a database other than PostgreSQL or SQLite, a driver that is
    not installed (``postgresql://`` needs psycopg2), a server that does
    not answer or refuses the password.
    """
    if isinstance(exc, ModuleNotFoundError):
        if exc.name not in DRIVER_PACKAGES:
            return None
        return ('the database driver %s that [database] connection names '
                'is not installed: pip install %s (the installation guide '
                'says which driver goes with which URL).'
                % (exc.name, DRIVER_PACKAGES[exc.name]))
    if isinstance(exc, sqlalchemy_exc.ArgumentError):
        return ('[database] connection is not a database URL (for example '
                'postgresql+psycopg2://arbiter:PASSWORD@controller/'
                'arbiter_limits): %s.' % exc)
    if isinstance(exc, sqlalchemy_exc.NoSuchModuleError):
        return ('[database] connection names a kind of database that '
                'SQLAlchemy does not know (%s); Arbiter services run on '
                'postgresql:// or sqlite://.' % exc)
    if isinstance(exc, (sqlalchemy_exc.OperationalError,
                        sqlalchemy_exc.InterfaceError,
                        db_exception.DBConnectionError)):
        reason = getattr(exc, 'orig', None) or getattr(
            exc, 'inner_exception', None) or exc
        text = ' '.join(str(reason).split())
        return 'cannot use the database of [database] connection: %s' % (
            text or type(reason).__name__)
    return str(exc)
