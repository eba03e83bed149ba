"""Declarative base and the standard attributes every Neutron resource carries."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, MetaData, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints keep Alembic migrations identical on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UUID_LEN = 36
NAME_LEN = 255
DESC_LEN = 255
PROJECT_ID_LEN = 255

# BIGINT autoincrement is not supported by SQLite; it needs INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: Any) -> Table:
    """A model's Table, for Core statements (cheaper than ORM ones on hot paths)."""
    return cast(Table, model.__table__)


def utcnow() -> dt.datetime:
    """Now in UTC, naive, to the second (Neutron shows timestamps to the second)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class StandardAttrs:
    """id, project, name, description, timestamps and revision of a resource."""

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_ID_LEN), index=True, default="")
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    description: Mapped[str] = mapped_column(String(DESC_LEN), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)


def admin_state_column() -> Mapped[bool]:
    return mapped_column(Boolean, default=True)
