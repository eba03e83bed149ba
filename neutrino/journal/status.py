"""Read-only views of the journal for operators: backlog, rows, one row's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neutrino.db.models.journal import (
    PENDING,
    STATES,
    JournalAttempt,
    JournalDependency,
    JournalEntry,
    JournalTask,
)
from neutrino.journal.journal import loads


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def status(session: Session, now: dt.datetime) -> dict[str, Any]:
    """Rows per state, age of the oldest pending row, and the maintenance lock."""
    j = JournalEntry
    counts = dict.fromkeys(STATES, 0)
    counts.update({state: n for state, n in session.execute(
        select(j.state, func.count()).group_by(j.state)).all()})
    oldest = session.execute(select(func.min(j.created_at)).where(j.state == PENDING)).scalar()
    task = session.execute(select(JournalTask).where(JournalTask.task == "maintenance")).scalar()
    return {
        "rows": counts,
        "oldest_pending_age_s": None if oldest is None
        else round((now - oldest).total_seconds(), 3),
        "maintenance": None if task is None else {
            "state": task.state, "owner": task.owner, "phase": task.processing_operation,
            "lock_updated": _iso(task.lock_updated), "last_run": _iso(task.last_run)},
    }


def _summary(row: JournalEntry) -> dict[str, Any]:
    return {"seqnum": row.seqnum, "state": row.state, "operation": row.operation,
            "object_type": row.object_type, "object_uuid": row.object_uuid,
            "retry_count": row.retry_count, "created_at": _iso(row.created_at),
            "last_retried": _iso(row.last_retried), "last_error": row.last_error}


def list_rows(session: Session, state: str | None = None, limit: int = 50
              ) -> list[dict[str, Any]]:
    """Rows oldest first, optionally of one state."""
    query = select(JournalEntry).order_by(JournalEntry.seqnum).limit(limit)
    if state:
        query = query.where(JournalEntry.state == state)
    return [_summary(r) for r in session.execute(query).scalars()]


def _linked(session: Session, column: Any, other: Any, seqnum: int) -> list[dict[str, Any]]:
    j = JournalEntry
    rows = session.execute(select(other, j.state, j.operation, j.object_type)
                           .outerjoin(j, j.seqnum == other).where(column == seqnum)
                           .order_by(other)).all()
    return [{"seqnum": r[0], "state": r[1] or "gone", "operation": r[2], "object_type": r[3]}
            for r in rows]


def show_row(session: Session, seqnum: int) -> dict[str, Any] | None:
    """One row with its data, its links both ways, and its history."""
    row = session.get(JournalEntry, seqnum)
    if row is None:
        return None
    link, a = JournalDependency, JournalAttempt
    history = [{"at": _iso(at), "event": event, "detail": detail}
               for at, event, detail in session.execute(
                   select(a.at, a.event, a.detail).where(a.seqnum == seqnum).order_by(a.id))]
    history.insert(0, {"at": _iso(row.created_at), "event": "recorded", "detail": ""})
    return {**_summary(row), "version_id": row.version_id, "data": loads(row.data),
            "depends_on": _linked(session, link.dependent, link.depends_on, seqnum),
            "dependents": _linked(session, link.depends_on, link.dependent, seqnum),
            "history": history}
