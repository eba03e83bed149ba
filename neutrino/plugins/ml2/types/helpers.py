"""Shared machinery of type drivers: range parsing, MTU, and race-safe allocation."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, case, cast, exists, func, insert, select
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


def _insert_skipping_duplicates(dialect: str, table: Any) -> Insert:
    """An INSERT of ``table`` that skips a row whose key exists."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    # MySQL/MariaDB: IGNORE also downgrades other errors to warnings; allocation rows
    # are only their key columns, all given, so a duplicate is the one to expect.
    return insert(table).prefix_with("IGNORE")


@functools.cache
def _insert_new(dialect: str, table: Any) -> Any:
    """``_insert_skipping_duplicates``, built once per table, reporting its rowcount."""
    # SQLAlchemy reports an INSERT's rowcount only when asked to keep it.
    return _insert_skipping_duplicates(dialect, table).execution_options(
        preserve_rowcount=True)


def _lowest_free_expr(table: Any, key: str, extra_keys: tuple[str, ...]) -> Any:
    """The lowest id in [:first, :last] with no allocation row, as a SQL expression.

    ``:first`` itself, else the smallest ``id + 1`` whose successor is free: an index
    walk, instead of reading every allocated id into the process. NULL when every
    id of the range is taken.
    """
    col = table.c[key]
    where = [table.c[k] == bindparam(k) for k in extra_keys]
    nxt = table.alias("nxt")
    first: Any = bindparam("first")
    last: Any = bindparam("last")
    gap = select(func.min(col + 1)).where(
        col >= first, col < last, *where,
        ~exists().where(nxt.c[key] == col + 1,
                        *[nxt.c[k] == bindparam(k) for k in extra_keys])).scalar_subquery()
    first_taken = exists().where(col == first, *where)
    return case((first_taken, gap), else_=cast(first, col.type))


@functools.cache
def _lowest_free_query(table: Any, key: str, extra_keys: tuple[str, ...]) -> Any:
    return select(_lowest_free_expr(table, key, extra_keys))


@functools.cache
def _claim_lowest_query(dialect: str, table: Any, key: str,
                        extra_keys: tuple[str, ...]) -> Any:
    """INSERT the lowest free id of a range, skipping a key a concurrent request took.

    One statement (and round trip) where reading the candidate and inserting it took
    two. It RETURNs the id it inserted: no row when the range is full or when the
    candidate was taken between the statement's read and its insert.
    """
    candidate = select(_lowest_free_expr(table, key, extra_keys).label("c")).subquery("cand")
    # The WHERE also keeps SQLite's parser from reading ON CONFLICT as a join clause.
    source = select(candidate.c.c, *[bindparam(k) for k in extra_keys]).where(
        candidate.c.c.is_not(None))
    return _insert_skipping_duplicates(dialect, table).from_select(
        [key, *extra_keys], source).returning(table.c[key])


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of the lowest free id of one range, for the caller to fold into its own
    statement (PostgreSQL: as a CTE), where ``allocate_from_ranges`` runs it alone.

    ``statement`` is the INSERT … RETURNING ``key`` of ``_claim_lowest_query`` (built
    once: its identity may key the caller's cache), ``params`` its parameters and
    ``segment`` what the id completes. No row back: the range is full or a concurrent
    request took the candidate; the caller then allocates as usual.
    """

    statement: Any
    key: str
    params: dict[str, Any]
    segment: dict[str, Any]


def claim_lowest(dialect: str, model: Any, column: Any, first: int, last: int,
                 segment: dict[str, Any], extra: dict[str, Any] | None = None) -> Claim:
    """The ``Claim`` of the lowest free id of ``model`` in [first, last]."""
    extra = extra or {}
    statement = _claim_lowest_query(dialect, table_of(model), column.key,
                                    tuple(sorted(extra)))
    return Claim(statement, column.key, {"first": first, "last": last, **extra}, segment)


def lowest_free(session: Session, model: Any, column: Any, first: int, last: int,
                extra: dict[str, Any]) -> int | None:
    """The lowest id in [first, last] with no allocation row, found by the database."""
    query = _lowest_free_query(table_of(model), column.key, tuple(sorted(extra)))
    found = session.connection().execute(
        query, {"first": first, "last": last, **extra}).scalar()
    return None if found is None else int(found)


def allocate_from_ranges(session: Session, model: Any, column: Any,
                         ranges: list[tuple[int, int]],
                         extra: dict[str, Any] | None = None) -> int | None:
    """Take the lowest free id in ``ranges``; None when the ranges are exhausted."""
    extra = extra or {}
    conn = session.connection()
    claim = _claim_lowest_query(conn.dialect.name, table_of(model), column.key,
                                tuple(sorted(extra)))
    for first, last in ranges:
        for _ in range(MAX_ATTEMPTS):
            taken = conn.execute(claim, {"first": first, "last": last, **extra}).scalar()
            if taken is not None:
                return int(taken)
            # Nothing inserted: the range is full, or a concurrent request took the
            # candidate first (then the next statement finds the next one).
            if lowest_free(session, model, column, first, last, extra) is None:
                break
        else:
            # Every candidate was taken under us: let the whole request try again.
            from neutrino.db.api import RetryRequest
            raise RetryRequest()
    return None


@functools.cache
def _release_query(table: Any, keys: tuple[str, ...]) -> Any:
    return table.delete().where(*[table.c[k] == bindparam(k) for k in keys])


def release_query(model: Any, **key: Any) -> tuple[Any, dict[str, Any]]:
    """The prebuilt DELETE of ``model``'s allocation row with these key values, and its
    parameters."""
    return _release_query(table_of(model), tuple(sorted(key))), key


def release_allocation(session: Session, model: Any, **key: Any) -> None:
    """Delete ``model``'s allocation row with these key values (a prebuilt statement)."""
    session.connection().execute(*release_query(model, **key))


def require(condition: bool, message: str) -> None:
    if not condition:
        raise exc.InvalidInput(error_message=message)
