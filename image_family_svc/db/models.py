"""SQLAlchemy models of image_family_svc."""

from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass
