"""Recording journal rows: in the caller's transaction, with their dependency links.

``record`` is called by the mechanism driver's precommit with the request's own
session, so a rolled-back request leaves no row and a committed one always has
one. Dependencies are computed now, against the pending and processing rows this
transaction can see (see ``dependencies``), and stored as links.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, cast

import orjson
from sqlalchemy import BindParameter, String, Table, bindparam, insert, null, select, union_all
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from neutrino.db.models.journal import (
    BLOCKING_STATES,
    DELETE,
    PENDING,
    JournalAttempt,
    JournalDependency,
    JournalEntry,
    JournalTask,
)
from neutrino.db.query import in_chunks
from neutrino.journal.dependencies import (
    DELETE_CHILDREN,
    DELETE_REFERRERS,
    Entry,
    Row,
    RowIndex,
    lookup_ids,
    references,
    waits_for_children,
)

LOG = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    """Now in UTC, naive, to the microsecond (ordering and timeouts need the precision)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def dumps(data: Any) -> str | None:
    return None if data is None else orjson.dumps(data).decode()


def loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _row(seqnum: int, object_type: str, object_uuid: str, operation: str,
         data: str | None = None) -> Row:
    refs = references(object_type, loads(data)) if data is not None else frozenset()
    return Row(seqnum, object_type, object_uuid, operation, refs)


# Built once, with bound parameters: ``record`` runs in every API write's
# transaction, and building a statement costs more Python than running it.
_J = cast(Table, JournalEntry.__table__)
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_BLOCKING_BY_UUID = select(_J.c.seqnum, _J.c.object_type, _J.c.object_uuid,
                           _J.c.operation).where(_J.c.object_uuid.in_(_IDS),
                                                 _J.c.state.in_(BLOCKING_STATES))
_CHILD_DELETES = select(_J.c.seqnum, _J.c.object_type, _J.c.object_uuid, _J.c.operation,
                        _J.c.data).where(
    _J.c.operation == DELETE, _J.c.state.in_(BLOCKING_STATES),
    _J.c.object_type.in_(bindparam("types", expanding=True)),
    _J.c.data.contains(bindparam("uuid")))
# Any pending/processing row of the given types whose data names ``uuid``.
_REFERRERS = select(_J.c.seqnum, _J.c.object_type, _J.c.object_uuid, _J.c.operation,
                    _J.c.data).where(
    _J.c.state.in_(BLOCKING_STATES),
    _J.c.object_type.in_(bindparam("types", expanding=True)),
    _J.c.data.contains(bindparam("uuid")))
_INSERT = insert(_J)
_INSERT_LINKS = insert(cast(Table, JournalDependency.__table__))
_SYNC_LOCK = "maintenance"


def hold_off_full_sync(session: Session, exclusive: bool = False) -> None:
    """Take the journal's sync lock row: shared to record, exclusive to full-sync.

    A change recorded while a full sync runs would compute its dependencies against
    rows the sync is deleting and re-recording, and could then be sent before its
    re-recorded parent. Recorders share the lock (they never wait for each other);
    a full sync holds it exclusively until it commits, so a concurrent recording
    waits and then sees the new rows. SQLite serialises writers already (a no-op).
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(select(JournalTask.task).where(JournalTask.task == _SYNC_LOCK)
                    .with_for_update(read=not exclusive))
_VALUES = ("object_type", "object_uuid", "operation", "data", "state", "retry_count",
           "created_at", "last_retried", "version_id")
_NEW_ROW = (insert(_J).values({c: bindparam("v_" + c) for c in _VALUES})
            .returning(_J.c.seqnum).cte("new_row"))
_NO_TEXT = sql_cast(null(), String(36))
# PostgreSQL, one change: insert its row and read the rows it may wait for in one
# round trip (the precommit runs inside the request's locks, so each round trip
# there holds up every request waiting for them). The scan does not see the row
# being inserted: the statement has one snapshot.
_INSERT_AND_LOOK = union_all(select(_NEW_ROW.c.seqnum, _NO_TEXT, _NO_TEXT, _NO_TEXT),
                             _BLOCKING_BY_UUID)


def _rows_for_ids(session: Session, ids: Sequence[str]) -> list[Row]:
    rows: list[Row] = []
    for chunk in in_chunks(ids):
        rows.extend(Row(r[0], r[1], r[2], r[3], frozenset())
                    for r in session.execute(_BLOCKING_BY_UUID, {"ids": list(chunk)}))
    return rows


def _child_deletes(session: Session, entry: Entry) -> list[Row]:
    """Pending/processing rows a delete may wait for: deletes of its child types, and
    rows of any operation of its referrer types, whose data names ``entry``'s object."""
    if entry.operation != DELETE:
        return []
    rows: list[Row] = []
    for query, types in ((_CHILD_DELETES, DELETE_CHILDREN.get(entry.object_type, ())),
                         (_REFERRERS, DELETE_REFERRERS.get(entry.object_type, ()))):
        if types:
            found = session.execute(query, {"types": list(types), "uuid": entry.object_uuid})
            rows.extend(_row(*r) for r in found)
    return rows


def blocking_rows(session: Session, entries: Sequence[Entry]) -> RowIndex:
    """Index of the visible pending/processing rows that ``entries`` may depend on."""
    ids: set[str] = set()
    for entry in entries:
        ids |= lookup_ids(entry)
    index = RowIndex(_rows_for_ids(session, sorted(ids)))
    for entry in entries:
        for row in _child_deletes(session, entry):
            index.add(row)
    return index


def _values(entry: Entry, now: dt.datetime) -> dict[str, Any]:
    return {"object_type": entry.object_type, "object_uuid": entry.object_uuid,
            "operation": entry.operation, "data": dumps(entry.data), "state": PENDING,
            "retry_count": 0, "created_at": now, "last_retried": now, "version_id": 0}


def _insert(session: Session, entry: Entry, now: dt.datetime) -> int:
    result = session.execute(_INSERT, _values(entry, now))
    return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]


def _in_one_statement(session: Session, entries: Sequence[Entry]) -> bool:
    if len(entries) != 1 or session.get_bind().dialect.name != "postgresql":
        return False
    return not waits_for_children(entries[0])


def _record_in_one_statement(session: Session, entry: Entry, now: dt.datetime,
                             after: Sequence[int]) -> int:
    params: dict[str, Any] = {"v_" + k: v for k, v in _values(entry, now).items()}
    params["ids"] = sorted(lookup_ids(entry))
    found = session.execute(_INSERT_AND_LOOK, params).all()
    seqnum = next(int(r[0]) for r in found if r[1] is None)
    index = RowIndex(Row(r[0], r[1], r[2], r[3], frozenset()) for r in found if r[1])
    depends_on = sorted(set(index.parents(entry)) | set(after))
    if depends_on:
        session.execute(_INSERT_LINKS, [{"dependent": seqnum, "depends_on": p}
                                        for p in depends_on])
    LOG.debug("recorded journal row %d: %s %s %s after %s", seqnum, entry.operation,
              entry.object_type, entry.object_uuid, depends_on)
    return seqnum


def record(session: Session, entries: Sequence[Entry], now: dt.datetime | None = None,
           after: Sequence[int] = ()) -> list[int]:
    """Insert a pending row (plus dependency links) per entry, in order; return seqnums.

    Later entries of the batch may depend on earlier ones; every entry also waits
    for the rows in ``after``. Runs in ``session``'s transaction, never commits.
    """
    now = now or utcnow()
    hold_off_full_sync(session)
    if _in_one_statement(session, entries):
        return [_record_in_one_statement(session, entries[0], now, after)]
    index = blocking_rows(session, entries)
    seqnums: list[int] = []
    links: list[dict[str, int]] = []
    for entry in entries:
        depends_on = sorted(set(index.parents(entry)) | set(after))
        seqnum = _insert(session, entry, now)
        seqnums.append(seqnum)
        links.extend({"dependent": seqnum, "depends_on": p} for p in depends_on)
        index.add(Row(seqnum, entry.object_type, entry.object_uuid, entry.operation,
                      entry.refs))
        LOG.debug("recorded journal row %d: %s %s %s after %s", seqnum, entry.operation,
                  entry.object_type, entry.object_uuid, depends_on)
    if links:
        session.execute(_INSERT_LINKS, links)
    return seqnums


def record_one(session: Session, object_type: str, object_uuid: str, operation: str,
               data: dict[str, Any] | None) -> int:
    """``record`` for a single change."""
    return record(session, [Entry(object_type, object_uuid, operation, data)])[0]


def note(session: Session, seqnum: int, event: str, detail: str = "",
         now: dt.datetime | None = None) -> None:
    """Append an event (error, reset, retry, recovery) to a row's history."""
    session.execute(insert(JournalAttempt).values(
        seqnum=seqnum, at=now or utcnow(), event=event, detail=detail[:255]))
