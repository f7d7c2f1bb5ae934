"""SQLAlchemy models of federation_proxy."""

from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass
