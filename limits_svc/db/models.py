"""SQLAlchemy models of limits_svc."""

from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass
