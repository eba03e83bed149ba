"""The maintenance task: housekeeping that one server at a time runs for everyone.

A lock row (``sdn_journal_tasks``, task ``maintenance``) is taken by
compare-and-swap: free and not run by anyone within the interval, or held by an
owner that has not touched it for ``processing_timeout`` (it died). Phases, as
networking-odl's (neutron-facts §1.8): delete completed rows past the retention,
reset rows stuck in processing, purge history of deleted rows, full sync when the
controller lacks the canary, recover failed rows. Rows are changed by key, a
chunk at a time, so a phase never range-locks rows that workers are claiming.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable

from sqlalchemy import delete, exists, or_, select, update

from neutrino.db.api import Database
from neutrino.db.models.journal import (
    COMPLETED,
    PENDING,
    PROCESSING,
    JournalAttempt,
    JournalDependency,
    JournalEntry,
    JournalTask,
)
from neutrino.journal import full_sync, recovery
from neutrino.journal.client import BaseControllerClient, ControllerClientError
from neutrino.journal.journal import note, utcnow
from neutrino.journal.worker import SyncSettings

LOG = logging.getLogger(__name__)

TASK = "maintenance"
_CHUNK = 500


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


def acquire(db: Database, owner: str, now: dt.datetime, interval: float,
            stale_after: float, force: bool = False) -> bool:
    """Take the maintenance lock row; False if another server holds it or ran lately."""
    t = JournalTask
    due = or_(t.last_run.is_(None), t.last_run <= now - _seconds(interval * 0.9))
    free = (t.state == PENDING) if force else ((t.state == PENDING) & due)
    dead = (t.state == PROCESSING) & (t.lock_updated < now - _seconds(stale_after))

    def attempt() -> bool:
        with db.transaction() as session:
            done = session.execute(update(t).where(t.task == TASK, or_(free, dead)).values(
                state=PROCESSING, owner=owner, lock_updated=now, processing_operation=None))
            return bool(done.rowcount)  # type: ignore[attr-defined]
    return db.retrying(attempt)


def set_phase(db: Database, owner: str, phase: str | None, now: dt.datetime,
              release: bool = False) -> None:
    """Record the running phase (and refresh the lock), or release the lock."""
    t = JournalTask
    values: dict[str, object] = {"processing_operation": phase, "lock_updated": now}
    if release:
        values.update(state=PENDING, owner=None, last_run=now)

    def attempt() -> None:
        with db.transaction() as session:
            session.execute(update(t).where(t.task == TASK, t.owner == owner).values(**values))
    db.retrying(attempt)


def _delete_by_key(db: Database, seqnums: list[int]) -> None:
    j, link = JournalEntry, JournalDependency
    for i in range(0, len(seqnums), _CHUNK):
        chunk = seqnums[i:i + _CHUNK]

        def attempt(chunk: list[int] = chunk) -> None:
            with db.transaction() as session:
                session.execute(delete(j).where(j.seqnum.in_(chunk), j.state == COMPLETED))
                session.execute(delete(link).where(link.dependent.in_(chunk)))
        db.retrying(attempt)


def delete_completed(db: Database, retention: int, now: dt.datetime) -> int:
    """Delete completed rows older than ``retention`` seconds (-1: keep forever)."""
    if retention < 0:
        return 0
    j = JournalEntry
    with db.reader() as session:
        seqnums = list(session.execute(select(j.seqnum).where(
            j.state == COMPLETED, j.last_retried <= now - _seconds(retention))
            .order_by(j.seqnum)).scalars())
    _delete_by_key(db, seqnums)
    return len(seqnums)


def reset_stale(db: Database, timeout: float, now: dt.datetime) -> int:
    """Put rows in processing for longer than ``timeout`` back to pending (dead workers)."""
    j = JournalEntry
    with db.reader() as session:
        stale = session.execute(select(j.seqnum, j.version_id).where(
            j.state == PROCESSING, j.last_retried < now - _seconds(timeout))
            .order_by(j.seqnum)).all()
    reset = 0
    for seqnum, version in stale:
        def attempt(seqnum: int = seqnum, version: int = version) -> int:
            with db.transaction() as session:
                done = session.execute(update(j).where(j.seqnum == seqnum,
                                                       j.version_id == version)
                                       .values(state=PENDING, version_id=version + 1))
                if done.rowcount:  # type: ignore[attr-defined]
                    note(session, seqnum, "reset", f"processing for over {timeout:g}s", now)
                return int(done.rowcount)  # type: ignore[attr-defined]
        reset += db.retrying(attempt)
    if reset:
        LOG.warning("reset %d journal rows stuck in processing", reset)
    return reset


def purge_history(db: Database) -> int:
    """Drop history and links of rows that no longer exist."""
    j, a, link = JournalEntry, JournalAttempt, JournalDependency
    with db.reader() as session:
        gone = list(session.execute(select(a.seqnum).where(
            ~exists().where(j.seqnum == a.seqnum)).distinct().limit(_CHUNK)).scalars())
        orphans = list(session.execute(select(link.dependent).where(
            ~exists().where(j.seqnum == link.dependent)).distinct().limit(_CHUNK)).scalars())

    def attempt() -> None:
        with db.transaction() as session:
            if gone:
                session.execute(delete(a).where(a.seqnum.in_(gone)))
            if orphans:
                session.execute(delete(link).where(link.dependent.in_(orphans)))
    if gone or orphans:
        db.retrying(attempt)
    return len(gone) + len(orphans)


def sync_if_needed(db: Database, client: BaseControllerClient) -> bool:
    """Run a full sync when the controller lacks the canary; True if one ran."""
    with db.reader() as session:
        if not full_sync.full_sync_needed(client, session):
            return False

    def attempt() -> int:
        with db.transaction() as session:
            return full_sync.full_sync(session)
    LOG.warning("the SDN controller lacks the canary network: full sync")
    db.retrying(attempt)
    return True


class Maintenance:
    """One process's maintenance runner; ``run`` does nothing unless it gets the lock."""

    def __init__(self, db: Database, client: BaseControllerClient, settings: SyncSettings,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.db, self.client, self.settings, self.on_change = db, client, settings, on_change
        self.owner = f"{uuid.uuid4()}"

    def run(self, force: bool = False) -> bool:
        """One maintenance pass; False if another server has (or just had) the lock."""
        s = self.settings
        if not acquire(self.db, self.owner, utcnow(), s.maintenance_interval,
                       s.processing_timeout, force):
            return False
        try:
            self._phases()
        finally:
            set_phase(self.db, self.owner, None, utcnow(), release=True)
        return True

    def _phase(self, name: str) -> None:
        set_phase(self.db, self.owner, name, utcnow())

    def _phases(self) -> None:
        s = self.settings
        self._phase("delete_completed")
        delete_completed(self.db, s.completed_rows_retention, utcnow())
        self._phase("reset_stale")
        changed = reset_stale(self.db, s.processing_timeout, utcnow()) > 0
        self._phase("purge_history")
        purge_history(self.db)
        try:
            self._phase("full_sync")
            changed = sync_if_needed(self.db, self.client) or changed
            self._phase("recovery")
            changed = recovery.recover(self.db, self.client,
                                       s.completed_rows_retention) > 0 or changed
        except ControllerClientError as e:
            LOG.info("maintenance: controller not reachable (%s); full sync and recovery "
                     "wait for the next run", e)
        if changed:
            self.on_change()
