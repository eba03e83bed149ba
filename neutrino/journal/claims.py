"""Claiming and finishing journal rows: optimistic compare-and-swap, never a row lock held.

A worker selects the oldest pending rows none of whose parents is pending or
processing, then moves each to processing with ``UPDATE … WHERE seqnum = :s AND
version_id = :v`` — whoever changes the version first owns the row, everyone else
updates nothing. Statements touch rows by primary key only and always in seqnum
order, and the journal has no foreign keys, so claims, completions, recording
and maintenance cannot deadlock each other; a backend that aborts a transaction
anyway (SQLite busy, a serialization failure) gets the transaction retried.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, exists, select, update
from sqlalchemy.orm import Session, aliased

from neutrino.db.api import Database
from neutrino.db.models.journal import (
    BLOCKING_STATES,
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    JournalDependency,
    JournalEntry,
)
from neutrino.journal.journal import loads, note


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A row this worker owns while it is processing (``version_id`` is its claim)."""

    seqnum: int
    object_type: str
    object_uuid: str
    operation: str
    data: dict[str, Any] | None
    retry_count: int
    version_id: int


def claimable(limit: int) -> Select[tuple[int, int]]:
    """Oldest pending rows whose every parent is neither pending nor processing."""
    j, parent, link = JournalEntry, aliased(JournalEntry), JournalDependency
    blocked = exists().where(link.dependent == j.seqnum,
                             parent.seqnum == link.depends_on,
                             parent.state.in_(BLOCKING_STATES))
    return (select(j.seqnum, j.version_id).where(j.state == PENDING, ~blocked)
            .order_by(j.seqnum).limit(limit))


def _take(session: Session, seqnum: int, version: int, now: dt.datetime) -> bool:
    result = session.execute(
        update(JournalEntry).where(JournalEntry.seqnum == seqnum,
                                   JournalEntry.version_id == version)
        .values(state=PROCESSING, version_id=version + 1, last_retried=now))
    return result.rowcount == 1  # type: ignore[attr-defined]


def _spread(candidates: list[Any], start: int) -> list[Any]:
    # Workers start at different offsets so that they rarely race for one row.
    if not candidates:
        return candidates
    start %= len(candidates)
    return candidates[start:] + candidates[:start]


def _load(session: Session, seqnums: Sequence[int]) -> list[Claimed]:
    j = JournalEntry
    rows = session.execute(select(j.seqnum, j.object_type, j.object_uuid, j.operation,
                                  j.data, j.retry_count, j.version_id)
                           .where(j.seqnum.in_(seqnums)).order_by(j.seqnum))
    return [Claimed(r[0], r[1], r[2], r[3], loads(r[4]), r[5], r[6]) for r in rows]


def claim(db: Database, limit: int, now: dt.datetime, start: int = 0,
          spread: int = 4) -> list[Claimed]:
    """Claim up to ``limit`` sendable rows; ``start`` picks this worker's offset."""
    def attempt() -> list[Claimed]:
        with db.transaction() as session:
            candidates = session.execute(claimable(limit * spread)).all()
            ordered = sorted(_spread(list(candidates), start * limit)[:limit * 2])
            taken: list[int] = []
            for seqnum, version in ordered:
                if len(taken) < limit and _take(session, seqnum, version, now):
                    taken.append(seqnum)
            return _load(session, taken) if taken else []
    return db.retrying(attempt)


def next_state_after_error(retry_count: int, max_retries: int) -> tuple[str, int]:
    """(state, retry_count) after an attempt that the controller refused."""
    count = retry_count + 1
    return (FAILED if count > max_retries else PENDING), count


@dataclasses.dataclass
class Outcome:
    """What happened to a claimed batch, applied in one transaction by ``finish``."""

    completed: list[Claimed] = dataclasses.field(default_factory=list)
    released: list[Claimed] = dataclasses.field(default_factory=list)
    errors: list[tuple[Claimed, str]] = dataclasses.field(default_factory=list)
    release_reason: str = ""


def complete_rows(session: Session, seqnums: Sequence[int], retention: int,
                  now: dt.datetime) -> None:
    """Delete (retention 0) or mark completed; their own links are no longer needed."""
    if not seqnums:
        return
    j = JournalEntry
    if retention == 0:
        session.execute(delete(j).where(j.seqnum.in_(seqnums)))
    else:
        session.execute(update(j).where(j.seqnum.in_(seqnums))
                        .values(state=COMPLETED, last_retried=now, version_id=j.version_id + 1))
    session.execute(delete(JournalDependency).where(JournalDependency.dependent.in_(seqnums)))


def release_rows(session: Session, rows: Sequence[Claimed], now: dt.datetime,
                 reason: str) -> None:
    """Back to pending without using up a retry (the controller was unreachable)."""
    j = JournalEntry
    for row in rows:
        session.execute(update(j).where(j.seqnum == row.seqnum,
                                        j.version_id == row.version_id)
                        .values(state=PENDING, version_id=row.version_id + 1))
    if rows and reason:
        note(session, rows[0].seqnum, "connection_error", reason, now)


def count_error(session: Session, row: Claimed, detail: str, max_retries: int,
                now: dt.datetime) -> str:
    """Record a refused attempt; the row goes back to pending or to failed."""
    state, count = next_state_after_error(row.retry_count, max_retries)
    j = JournalEntry
    session.execute(update(j).where(j.seqnum == row.seqnum, j.version_id == row.version_id)
                    .values(state=state, retry_count=count, version_id=row.version_id + 1,
                            last_error=detail[:255], last_retried=now))
    note(session, row.seqnum, "error" if state == PENDING else "failed", detail, now)
    return state


def finish(db: Database, outcome: Outcome, max_retries: int, retention: int,
           now: dt.datetime) -> None:
    """Apply a batch's outcome in one transaction."""
    def attempt() -> None:
        with db.transaction() as session:
            complete_rows(session, sorted(r.seqnum for r in outcome.completed), retention, now)
            release_rows(session, outcome.released, now, outcome.release_reason)
            for row, detail in outcome.errors:
                count_error(session, row, detail, max_retries, now)
    db.retrying(attempt)
