"""Recovery of failed rows: ask the controller what it holds, then repair.

The decision table is networking-odl's journal recovery (neutron-facts §1.10):

=============  ==========  =====================================================
on controller  operation   action
=============  ==========  =====================================================
yes            create      complete the row
yes            delete      back to pending (retries reset)
yes            update      record an update with the current copy, complete
no             delete      complete the row
no             create/upd  record a create with the current copy, complete
=============  ==========  =====================================================

When Neutrino no longer has the resource, there is nothing to re-send and the row
is completed. A controller that cannot be asked leaves the row failed.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from neutrino.db.api import Database
from neutrino.db.models.journal import CREATE, DELETE, FAILED, PENDING, UPDATE, JournalEntry
from neutrino.journal.claims import complete_rows
from neutrino.journal.client import BaseControllerClient, ControllerClientError
from neutrino.journal.dependencies import Entry
from neutrino.journal.full_sync import load, source_for
from neutrino.journal.journal import note, record, utcnow

LOG = logging.getLogger(__name__)


class Action(enum.Enum):
    COMPLETE = "complete"
    RETRY = "retry"
    RECORD_UPDATE = "record_update"
    RECORD_CREATE = "record_create"


def action_for(operation: str, on_controller: bool) -> Action:
    """What to do with a failed row, given whether the controller has the resource."""
    if on_controller:
        return {CREATE: Action.COMPLETE, DELETE: Action.RETRY}.get(operation,
                                                                   Action.RECORD_UPDATE)
    return Action.COMPLETE if operation == DELETE else Action.RECORD_CREATE


def retry_row(session: Session, seqnum: int, now: dt.datetime, why: str) -> bool:
    """Failed → pending with its retries reset; False if the row is not failed."""
    j = JournalEntry
    done = session.execute(update(j).where(j.seqnum == seqnum, j.state == FAILED)
                           .values(state=PENDING, retry_count=0, last_retried=now,
                                   version_id=j.version_id + 1))
    if done.rowcount:  # type: ignore[attr-defined]
        note(session, seqnum, "retry", why, now)
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _rerecord(session: Session, row: JournalEntry, operation: str, now: dt.datetime) -> None:
    source = source_for(row.object_type)
    current = load(source, session, [row.object_uuid]) if source else []
    if current:
        record(session, [Entry(row.object_type, row.object_uuid, operation, current[0])], now)


def apply(session: Session, row: JournalEntry, action: Action, retention: int,
          now: dt.datetime) -> None:
    """Carry out ``action`` for failed ``row`` in ``session``'s transaction."""
    if action is Action.RETRY:
        retry_row(session, row.seqnum, now, "recovery: the controller still has it")
        return
    if action is not Action.COMPLETE:
        _rerecord(session, row, UPDATE if action is Action.RECORD_UPDATE else CREATE, now)
    note(session, row.seqnum, "recovered", action.value, now)
    complete_rows(session, [row.seqnum], retention, now)


def _still_failed(session: Session, seqnum: int) -> JournalEntry | None:
    return session.execute(select(JournalEntry).where(
        JournalEntry.seqnum == seqnum, JournalEntry.state == FAILED)).scalar()


def recover_one(db: Database, client: BaseControllerClient, seqnum: int, object_type: str,
                object_uuid: str, retention: int) -> Action | None:
    """Repair one failed row; None when the controller could not be asked."""
    try:
        on_controller = client.get(object_type, object_uuid) is not None
    except ControllerClientError as e:
        LOG.warning("recovery of journal row %d: controller not asked: %s", seqnum, e)
        return None

    def attempt() -> Action | None:
        with db.transaction() as session:
            row = _still_failed(session, seqnum)
            if row is None:
                return None
            action = action_for(row.operation, on_controller)
            apply(session, row, action, retention, utcnow())
            return action
    return db.retrying(attempt)


def recover(db: Database, client: BaseControllerClient, retention: int,
            limit: int = 1000) -> int:
    """Repair up to ``limit`` failed rows, oldest first; return how many were handled."""
    j = JournalEntry
    with db.reader() as session:
        failed = session.execute(select(j.seqnum, j.object_type, j.object_uuid)
                                 .where(j.state == FAILED).order_by(j.seqnum)
                                 .limit(limit)).all()
    handled = 0
    for seqnum, object_type, object_uuid in failed:
        if recover_one(db, client, seqnum, object_type, object_uuid, retention) is not None:
            handled += 1
    if handled:
        LOG.info("journal recovery repaired %d failed rows", handled)
    return handled
