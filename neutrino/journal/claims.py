"""Claiming and finishing journal rows: compare-and-swap, never a row lock waited for.

A worker selects the oldest pending rows none of whose parents is pending or
processing and moves them to processing; whoever moves a row first owns it,
everyone else moves nothing. How, per backend:

- PostgreSQL: one ``UPDATE … RETURNING`` of exactly the rows that a
  ``SELECT … FOR UPDATE SKIP LOCKED`` (a CTE of the same statement) locked: a
  claim never waits for a lock, so it cannot be part of a deadlock, and racing
  workers get disjoint rows instead of colliding.
- SQLite: one ``UPDATE … WHERE seqnum IN (claimable) RETURNING``; writers are
  serialised by the file lock (``BEGIN IMMEDIATE``) anyway.
- Others (MariaDB/MySQL have no ``UPDATE … RETURNING``): ``UPDATE … WHERE seqnum
  = :s AND version_id = :v`` per row, by primary key, in seqnum order.

Rows claimed together are independent of each other: a row whose parent was
pending when the batch was selected is not claimable. A worker settles one batch
and claims the next in the same transaction (``exchange``), so a busy worker
pays one transaction per batch. Statements touch rows by primary key, the
journal has no foreign keys, and nothing but a claim ever locks a pending row
for long, so claims, completions, recording and maintenance cannot deadlock
each other; a backend that aborts a transaction anyway (SQLite busy, a
serialization failure) gets the transaction retried.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Select,
    Table,
    bindparam,
    delete,
    exists,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

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

# Statements are built once, with bound parameters: they run once per batch or per
# row, and building one costs more Python than running it (ORM-enabled DML, the
# cache key of a new statement object).
_J = cast(Table, JournalEntry.__table__)
_LINKS = cast(Table, JournalDependency.__table__)
_COLUMNS = (_J.c.seqnum, _J.c.object_type, _J.c.object_uuid, _J.c.operation, _J.c.data,
            _J.c.retry_count, _J.c.version_id)
_SEQNUMS: BindParameter[list[int]] = bindparam("seqnums", expanding=True)


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


def claimable(limit: int | BindParameter[int]) -> Select[tuple[int, int]]:
    """Oldest pending rows whose every parent is neither pending nor processing."""
    j, parent, link = _J, _J.alias("parent"), _LINKS
    blocked = exists().where(link.c.dependent == j.c.seqnum,
                             parent.c.seqnum == link.c.depends_on,
                             parent.c.state.in_(BLOCKING_STATES))
    return (select(j.c.seqnum, j.c.version_id).where(j.c.state == PENDING, ~blocked)
            .order_by(j.c.seqnum).limit(limit))


_CLAIMABLE = claimable(bindparam("limit"))
_MARK = (update(_J).where(_J.c.state == PENDING)
         .values(state=PROCESSING, version_id=_J.c.version_id + 1,
                 last_retried=bindparam("now"))
         .returning(*_COLUMNS))
# PostgreSQL: lock what nobody else holds, without waiting, then take exactly that.
# MATERIALIZED: the locking scan runs once (a LIMIT … SKIP LOCKED subquery that the
# planner re-ran would lock and take more rows than asked).
_LOCKED = (_CLAIMABLE.with_only_columns(_J.c.seqnum)
           .with_for_update(skip_locked=True, of=_J)
           .cte("locked").prefix_with("MATERIALIZED"))
_MARK_LOCKED = _MARK.where(_J.c.seqnum.in_(select(_LOCKED.c.seqnum)))
# SQLite: the transaction is the only writer, so one statement claims the batch.
_MARK_CLAIMABLE = _MARK.where(_J.c.seqnum.in_(_CLAIMABLE.with_only_columns(_J.c.seqnum)))
# Others: compare-and-swap by primary key and version.
_TAKE = (update(_J).where(_J.c.seqnum == bindparam("b_seqnum"),
                          _J.c.version_id == bindparam("b_version"))
         .values(state=PROCESSING, version_id=bindparam("b_next"),
                 last_retried=bindparam("now")))
_LOAD = select(*_COLUMNS).where(_J.c.seqnum.in_(_SEQNUMS))


def _claimed(rows: Any) -> list[Claimed]:
    found = [Claimed(r[0], r[1], r[2], r[3], loads(r[4]), r[5], r[6]) for r in rows]
    return sorted(found, key=lambda c: c.seqnum)


def _take_locked(session: Session, limit: int, now: dt.datetime) -> list[Claimed]:
    return _claimed(session.execute(_MARK_LOCKED, {"limit": limit, "now": now}))


def _take_serialised(session: Session, limit: int, now: dt.datetime) -> list[Claimed]:
    return _claimed(session.execute(_MARK_CLAIMABLE, {"limit": limit, "now": now}))


def _take(session: Session, seqnum: int, version: int, now: dt.datetime) -> bool:
    result = session.execute(_TAKE, {"b_seqnum": seqnum, "b_version": version,
                                     "b_next": version + 1, "now": now})
    return result.rowcount == 1  # type: ignore[attr-defined]


def _spread(candidates: list[Any], start: int) -> list[Any]:
    # Workers start at different offsets so that they rarely race for one row.
    if not candidates:
        return candidates
    start %= len(candidates)
    return candidates[start:] + candidates[:start]


def _load(session: Session, seqnums: Sequence[int]) -> list[Claimed]:
    return _claimed(session.execute(_LOAD, {"seqnums": list(seqnums)}))


def _take_each(session: Session, limit: int, now: dt.datetime, start: int,
               spread: int) -> list[Claimed]:
    """Any backend: compare-and-swap row by row, by primary key, in seqnum order."""
    candidates = session.execute(_CLAIMABLE, {"limit": limit * spread}).all()
    ordered = sorted(_spread(list(candidates), start * limit)[:limit * 2])
    taken: list[int] = []
    for seqnum, version in ordered:
        if len(taken) < limit and _take(session, seqnum, version, now):
            taken.append(seqnum)
    return _load(session, taken) if taken else []


def take_batch(session: Session, limit: int, now: dt.datetime, start: int = 0,
               spread: int = 4) -> list[Claimed]:
    """Claim up to ``limit`` sendable rows in ``session``'s transaction."""
    if limit <= 0:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _take_locked(session, limit, now)
    if dialect == "sqlite":
        return _take_serialised(session, limit, now)
    return _take_each(session, limit, now, start, spread)


def claim(db: Database, limit: int, now: dt.datetime, start: int = 0,
          spread: int = 4) -> list[Claimed]:
    """Claim up to ``limit`` sendable rows; ``start`` picks this worker's offset
    (on backends where workers may race for a row)."""
    def attempt() -> list[Claimed]:
        with db.transaction() as session:
            return take_batch(session, limit, now, start, spread)
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
    # Not sent because the claim grew too old (the worker's SEND_WINDOW): back to
    # pending, unless maintenance already reset them (the version no longer matches).
    expired: list[Claimed] = dataclasses.field(default_factory=list)


_DELETE_ROWS = delete(_J).where(_J.c.seqnum.in_(_SEQNUMS))
_COMPLETE_ROWS = (update(_J).where(_J.c.seqnum.in_(_SEQNUMS))
                  .values(state=COMPLETED, last_retried=bindparam("now"),
                          version_id=_J.c.version_id + 1))
_DELETE_LINKS = delete(_LINKS).where(_LINKS.c.dependent.in_(_SEQNUMS))
# PostgreSQL: both deletes in one round trip.
_DELETE_ROWS_AND_LINKS = _DELETE_ROWS.add_cte(_DELETE_LINKS.cte("links"))
_RELEASE = (update(_J).where(_J.c.seqnum == bindparam("b_seqnum"),
                             _J.c.version_id == bindparam("b_version"))
            .values(state=PENDING, version_id=bindparam("b_next")))


def complete_rows(session: Session, seqnums: Sequence[int], retention: int,
                  now: dt.datetime) -> None:
    """Delete (retention 0) or mark completed; their own links are no longer needed."""
    if not seqnums:
        return
    seqnums = list(seqnums)
    if retention == 0 and session.get_bind().dialect.name == "postgresql":
        session.execute(_DELETE_ROWS_AND_LINKS, {"seqnums": seqnums})
        return
    if retention == 0:
        session.execute(_DELETE_ROWS, {"seqnums": seqnums})
    else:
        session.execute(_COMPLETE_ROWS, {"seqnums": seqnums, "now": now})
    session.execute(_DELETE_LINKS, {"seqnums": seqnums})


def release_rows(session: Session, rows: Sequence[Claimed], now: dt.datetime,
                 reason: str) -> None:
    """Back to pending without using up a retry (the controller was unreachable)."""
    if not rows:
        return
    session.execute(_RELEASE, [{"b_seqnum": r.seqnum, "b_version": r.version_id,
                                "b_next": r.version_id + 1} for r in rows])
    if reason:
        note(session, rows[0].seqnum, "connection_error", reason, now)


def count_error(session: Session, row: Claimed, detail: str, max_retries: int,
                now: dt.datetime) -> str:
    """Record a refused attempt; the row goes back to pending or to failed."""
    state, count = next_state_after_error(row.retry_count, max_retries)
    j = _J
    session.execute(update(j).where(j.c.seqnum == row.seqnum,
                                    j.c.version_id == row.version_id)
                    .values(state=state, retry_count=count, version_id=row.version_id + 1,
                            last_error=detail[:255], last_retried=now))
    note(session, row.seqnum, "error" if state == PENDING else "failed", detail, now)
    return state


def still_owned(session: Session, rows: Sequence[Claimed]) -> list[int]:
    """The seqnums of ``rows`` still processing under this worker's claim.

    A row held past processing_timeout is put back to pending by maintenance and may
    be claimed again; completing it here would unblock its dependents before the new
    owner has sent it. Only the claim's version may complete it.
    """
    if not rows:
        return []
    pairs = [(r.seqnum, r.version_id) for r in rows]
    return sorted(session.execute(select(_J.c.seqnum).where(
        tuple_(_J.c.seqnum, _J.c.version_id).in_(pairs),
        _J.c.state == PROCESSING)).scalars())


def settle(session: Session, outcome: Outcome, max_retries: int, retention: int,
           now: dt.datetime) -> None:
    """Apply a batch's outcome in ``session``'s transaction."""
    complete_rows(session, still_owned(session, outcome.completed), retention, now)
    release_rows(session, sorted(outcome.released, key=lambda r: r.seqnum), now,
                 outcome.release_reason)
    release_rows(session, sorted(outcome.expired, key=lambda r: r.seqnum), now, "")
    for row, detail in sorted(outcome.errors, key=lambda e: e[0].seqnum):
        count_error(session, row, detail, max_retries, now)


def exchange(db: Database, outcome: Outcome, limit: int, now: dt.datetime, *,
             max_retries: int, retention: int, start: int = 0) -> list[Claimed]:
    """Settle a sent batch and claim up to ``limit`` more, in one transaction.

    The rows just completed no longer block their dependents, which the claim
    (seeing this transaction's own changes) can take at once.
    """
    def attempt() -> list[Claimed]:
        with db.transaction() as session:
            settle(session, outcome, max_retries, retention, now)
            return take_batch(session, limit, now, start)
    return db.retrying(attempt)


def finish(db: Database, outcome: Outcome, max_retries: int, retention: int,
           now: dt.datetime) -> None:
    """Apply a batch's outcome in one transaction."""
    exchange(db, outcome, 0, now, max_retries=max_retries, retention=retention)
