"""SQLAlchemy models of reaper_svc."""

from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass
