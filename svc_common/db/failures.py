"""Which database errors pass by themselves.

A service meets two kinds of database error.  Most are about a statement
(a constraint, a missing table, a value the column cannot hold): the same
statement fails again, and the error is a bug or bad data.  Some are about
the database at that moment: it cannot be reached (down, restarting,
failing over, out of connection slots), or a SQLite file stayed locked by
another writer past the busy timeout.  Those pass, and the same work
succeeds later.  The API answers them with a 503 (:mod:`svc_common.errors`)
and the engines deliver the notification again after a delay
(:mod:`svc_common.messaging.redelivery`), both with one warning line
instead of a traceback.
"""

import sqlite3

from oslo_db import exception as db_exc
import sqlalchemy.exc

# SQLite's primary result codes of a lock another connection holds.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def _unwrapped(exc):
    """The SQLAlchemy error that oslo.db wrapped in a ``DBError``."""
    inner = getattr(exc, 'inner_exception', None)
    if isinstance(exc, db_exc.DBError) and inner is not None:
        return inner
    return exc


def unreachable(exc):
    """Whether ``exc`` says that the database cannot be reached now: it
    refused or dropped the connection (down, restarting, failing over, out
    of connection slots, not accepting connections), as opposed to a
    statement it refused.

    oslo.db raises :class:`oslo_db.exception.DBConnectionError` for a
    disconnection it recognises; a connection that could not even be made
    comes as SQLAlchemy's ``OperationalError`` with no statement, and one
    the server closed under a statement has ``connection_invalidated``.
    """
    if isinstance(exc, db_exc.DBConnectionError):
        return True
    exc = _unwrapped(exc)
    return isinstance(exc, sqlalchemy.exc.OperationalError) and (
        exc.statement is None or exc.connection_invalidated)


def busy(exc):
    """Whether ``exc`` says that a SQLite database file stayed locked by
    another connection for longer than the busy timeout ("database is
    locked"): a writer held it, and the same work succeeds once it is
    done.

    SQLAlchemy raises it as an ``OperationalError`` (oslo.db does not wrap
    it) around the driver's :class:`sqlite3.OperationalError`, whose
    ``sqlite_errorcode`` says ``SQLITE_BUSY`` (or ``SQLITE_LOCKED``).
    """
    exc = _unwrapped(exc)
    if not isinstance(exc, sqlalchemy.exc.OperationalError):
        return False
    orig = exc.orig
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, 'sqlite_errorcode', None)
    if code is None:
        return 'database is locked' in str(orig)
    return code & 0xff in (_SQLITE_BUSY, _SQLITE_LOCKED)


def passing(exc):
    """Whether the same work is expected to succeed later: the database
    is :func:`unreachable` or :func:`busy`."""
    return unreachable(exc) or busy(exc)


def one_line(exc):
    """The first line of ``exc``'s message, for a warning: SQLAlchemy's
    go on with the statement and a link over several lines."""
    text = str(getattr(_unwrapped(exc), 'orig', None) or exc)
    return text.strip().splitlines()[0] if text.strip() else repr(exc)
