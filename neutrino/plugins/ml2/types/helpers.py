"""Shared machinery of type drivers: range parsing, MTU, and race-safe allocation."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, exists, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from neutrino import exceptions as exc
from neutrino.db.base import table_of

# How many candidate ids one allocation tries before asking for a retry: each
# failure means a concurrent request took that id between our read and insert.
MAX_ATTEMPTS = 32


def parse_ranges(entries: Iterable[str], lo: int, hi: int, what: str) -> list[tuple[int, int]]:
    """Parse ``min:max`` entries, each inside [lo, hi]; raise ValueError naming ``what``."""
    ranges = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            first, last = (int(x) for x in entry.split(":"))
        except ValueError:
            raise ValueError(f"{what}: '{entry}' is not of the form min:max") from None
        if not lo <= first <= last <= hi:
            raise ValueError(f"{what}: '{entry}' is not within {lo}:{hi}")
        ranges.append((first, last))
    return ranges


def physnet_mtus(conf: Any) -> dict[str, int]:
    mtus = {}
    for entry in conf.ml2.physical_network_mtus:
        name, _, value = entry.partition(":")
        mtus[name.strip()] = int(value)
    return mtus


def try_insert(session: Session, table: Any, values: dict[str, Any]) -> bool:
    """Insert one allocation row; False if its key is already taken.

    The database skips a duplicate key (ON CONFLICT DO NOTHING, INSERT IGNORE): one
    round trip, where a plain insert in a savepoint takes three. As with the
    savepoint, a key that a concurrent transaction holds uncommitted makes the
    insert wait for that transaction's outcome.
    """
    conn = session.connection()
    return bool(conn.execute(_insert_new(conn.dialect.name, table_of(table)),
                             values).rowcount == 1)


@functools.cache
def _insert_new(dialect: str, table: Any) -> Any:
    """An INSERT of ``table`` that skips a row whose key exists (built once per table)."""
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:
        # MySQL/MariaDB: IGNORE also downgrades other errors to warnings; allocation
        # rows are only their key columns, all given, so a duplicate is the one to expect.
        stmt = insert(table).prefix_with("IGNORE")
    # SQLAlchemy reports an INSERT's rowcount only when asked to keep it.
    return stmt.execution_options(preserve_rowcount=True)


def lowest_free(session: Session, model: Any, column: Any, first: int, last: int,
                extra: dict[str, Any]) -> int | None:
    """The lowest id in [first, last] with no allocation row, found by the database.

    ``first`` itself, else the smallest ``id + 1`` whose successor is free: an
    index walk, instead of reading every allocated id into the process; both
    in one statement.
    """
    table = model.__table__
    where = [table.c[k] == v for k, v in extra.items()]
    col = table.c[column.key]
    nxt = table.alias("nxt")
    gap = select(func.min(col + 1)).where(
        col >= first, col < last, *where,
        ~exists().where(nxt.c[column.key] == col + 1,
                        *[nxt.c[k] == v for k, v in extra.items()])).scalar_subquery()
    first_taken = exists().where(col == first, *where)
    found = session.connection().execute(
        select(case((first_taken, gap), else_=literal(first, col.type)))).scalar()
    return None if found is None else int(found)


def allocate_from_ranges(session: Session, model: Any, column: Any,
                         ranges: list[tuple[int, int]],
                         extra: dict[str, Any] | None = None) -> int | None:
    """Take the lowest free id in ``ranges``; None when the ranges are exhausted."""
    extra = extra or {}
    for first, last in ranges:
        for _ in range(MAX_ATTEMPTS):
            candidate = lowest_free(session, model, column, first, last, extra)
            if candidate is None:
                break
            if try_insert(session, model, {column.key: candidate, **extra}):
                return candidate
        else:
            # Every candidate was taken under us: let the whole request try again.
            from neutrino.db.api import RetryRequest
            raise RetryRequest()
    return None


def require(condition: bool, message: str) -> None:
    if not condition:
        raise exc.InvalidInput(error_message=message)
