"""Shared machinery of type drivers: range parsing, MTU, and race-safe allocation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino import exceptions as exc

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


def free_ids(taken: set[int], ranges: list[tuple[int, int]]) -> Iterator[int]:
    """Ids inside ``ranges`` that are not in ``taken``, lowest first."""
    for first, last in ranges:
        for value in range(first, last + 1):
            if value not in taken:
                yield value


def try_insert(session: Session, table: Any, values: dict[str, Any]) -> bool:
    """Insert one allocation row in a savepoint; False if the key is already taken."""
    try:
        with session.begin_nested():
            session.execute(insert(table), values)
        return True
    except IntegrityError:
        return False


def allocate_from_ranges(session: Session, model: Any, column: Any,
                         ranges: list[tuple[int, int]],
                         extra: dict[str, Any] | None = None) -> int | None:
    """Take the lowest free id in ``ranges``; None when the ranges are exhausted."""
    if not ranges:
        return None
    query = select(column)
    for key, value in (extra or {}).items():
        query = query.where(getattr(model, key) == value)
    taken = set(session.execute(query).scalars())
    attempts = 0
    for candidate in free_ids(taken, ranges):
        if try_insert(session, model, {column.key: candidate, **(extra or {})}):
            return candidate
        attempts += 1
        if attempts >= MAX_ATTEMPTS:
            break
    if attempts:
        from neutrino.db.api import RetryRequest
        raise RetryRequest()
    return None


def require(condition: bool, message: str) -> None:
    if not condition:
        raise exc.InvalidInput(error_message=message)
