"""Sync workers: threads that claim journal rows, send them, and record the outcome.

A worker wakes when a postcommit says a row was committed (``Waker``, one worker
per commit) or when ``sync_timeout`` passes, then claims, sends and settles
batches until nothing is sendable, settling each batch in the transaction that
claims the next. A connection error releases the row without using up a retry and makes
every worker of the process back off together (0.1 s doubling to 60 s, one probe
at a time, reset by the next success); any other error uses up a retry.

A row is sent only while its claim is younger than half of ``processing_timeout``
(``SEND_WINDOW``): maintenance, on any server, puts rows processing for longer
back to pending, and another worker then sends them. A slow batch therefore hands
its unsent tail back (``Outcome.expired``) instead of sending rows that someone
else may be sending too — which would apply a change twice, or a stale update
after the newer changes that waited for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from typing import Any

from neutrino.db.api import Database
from neutrino.db.models.journal import CREATE, UPDATE
from neutrino.journal.claims import Claimed, Outcome, exchange
from neutrino.journal.client import (
    BaseControllerClient,
    ControllerConnectionError,
    ControllerError,
)
from neutrino.journal.journal import utcnow

LOG = logging.getLogger(__name__)

RETRY_SLEEP_MIN = 0.1
RETRY_SLEEP_MAX = 60.0
# Share of processing_timeout during which a claimed row may still be sent: a send
# started within it ends (a request is shorter than ``[ml2_sdn] timeout``, itself
# well below half of processing_timeout) before maintenance may reset the row.
SEND_WINDOW = 0.5


@dataclasses.dataclass(frozen=True)
class SyncSettings:
    """The ``[ml2_sdn]`` values the workers and maintenance use."""

    workers: int = 2
    batch_size: int = 50
    sync_timeout: float = 10.0
    retry_count: int = 5
    completed_rows_retention: int = 0
    processing_timeout: float = 100.0
    maintenance_interval: float = 300.0
    enable_maintenance: bool = True

    @classmethod
    def from_conf(cls, group: Any) -> SyncSettings:
        return cls(workers=group.sync_workers, batch_size=group.sync_batch_size,
                   sync_timeout=group.sync_timeout, retry_count=group.retry_count,
                   completed_rows_retention=group.completed_rows_retention,
                   processing_timeout=group.processing_timeout,
                   maintenance_interval=group.maintenance_interval,
                   enable_maintenance=group.enable_maintenance)


class Backoff:
    """Shared exponential backoff after connection errors; ``now`` is monotonic seconds."""

    def __init__(self, minimum: float = RETRY_SLEEP_MIN, maximum: float = RETRY_SLEEP_MAX
                 ) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.delay = 0.0
        self._next_at = 0.0
        self._probing = False
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.delay > 0

    def permit(self, now: float) -> float:
        """0 when the caller may send now, else seconds to wait first."""
        with self._lock:
            if self.delay == 0:
                return 0.0
            if now < self._next_at:
                return self._next_at - now
            if self._probing:  # another worker is finding out whether it is back
                return self.minimum
            self._probing = True
            return 0.0

    def failure(self, now: float) -> None:
        with self._lock:
            self.delay = min(self.maximum, max(self.minimum, self.delay * 2))
            self._next_at = now + self.delay
            self._probing = False

    def success(self) -> None:
        with self._lock:
            self.delay, self._probing = 0.0, False

    def idle(self) -> None:
        """The probe found nothing to send; let the next one try."""
        with self._lock:
            self._probing = False


class Waker:
    """Wakes one waiting worker per wake; a wake between a worker's claim and its wait
    is not lost.

    One is enough: the worker woken drains until nothing is sendable, and a burst
    of commits wakes one more idle worker per commit. Waking every worker for
    each commit made all but one of them run an empty claim transaction.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.generation = 0

    def wake(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify()

    def wake_all(self) -> None:
        """Wake every waiting worker (to stop them, or when much became sendable)."""
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until a wake after generation ``seen``, or ``timeout``; True if woken."""
        with self._cond:
            return self._cond.wait_for(lambda: self.generation != seen, timeout)


def send(client: BaseControllerClient, row: Claimed) -> None:
    """Apply one row on the controller, idempotently: replaying it converges.

    A create the controller already has becomes an update (the row was sent
    before its worker died); an update of something the controller lacks becomes
    a create; deleting what is absent is done.
    """
    data = row.data or {"id": row.object_uuid}
    if row.operation == CREATE:
        try:
            client.create(row.object_type, data)
        except ControllerError as e:
            if e.status != 409 or client.get(row.object_type, row.object_uuid) is None:
                raise
            client.update(row.object_type, row.object_uuid, data)
    elif row.operation == UPDATE:
        try:
            client.update(row.object_type, row.object_uuid, data)
        except ControllerError as e:
            if e.status != 404:
                raise
            client.create(row.object_type, data)
    else:
        client.delete(row.object_type, row.object_uuid)


class SyncWorker:
    """One sync thread's loop; ``index`` spreads workers over the sendable rows."""

    def __init__(self, index: int, db: Database, client: BaseControllerClient,
                 settings: SyncSettings, backoff: Backoff, waker: Waker,
                 stopping: threading.Event) -> None:
        self.index, self.db, self.client, self.settings = index, db, client, settings
        self.backoff, self.waker, self.stopping = backoff, waker, stopping

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._step()
            except Exception:
                LOG.exception("journal sync worker %d failed; going on", self.index)
                self.stopping.wait(1.0)

    def _step(self) -> None:
        pause = self.backoff.permit(time.monotonic())
        if pause > 0:
            self.stopping.wait(pause)
            return
        seen = self.waker.generation
        claimed = self.drain()
        if claimed and self.backoff.active:
            return  # unreachable mid-drain: the next permit() paces the retry
        if not claimed:
            self.backoff.idle()
        # A drain ends with a claim that found nothing, made after settling the last
        # batch: only a commit since ``seen`` (its wake moves the generation) or
        # another process's rows (the timer) can have made more sendable, so
        # looping again at once would only add an empty claim transaction.
        self.waker.wait(seen, self.settings.sync_timeout)

    def run_once(self) -> int:
        """Claim one batch, send it and record the outcome; return the rows claimed."""
        claimed_at = utcnow()
        rows = self._exchange(Outcome(), self._batch_size(), claimed_at)
        if rows:
            self._exchange(self.process(rows, claimed_at), 0, utcnow())
        return len(rows)

    def drain(self) -> int:
        """Claim, send and settle batches until none is sendable; return the rows claimed.

        Each batch is settled in the transaction that claims the next one. The
        loop stops early (settling only) when the controller became unreachable
        or the service is stopping.
        """
        claimed = 0
        claimed_at = utcnow()
        rows = self._exchange(Outcome(), self._batch_size(), claimed_at)
        while rows:
            claimed += len(rows)
            outcome = self.process(rows, claimed_at)
            more = 0 if outcome.released or self.stopping.is_set() else self._batch_size()
            claimed_at = utcnow()
            rows = self._exchange(outcome, more, claimed_at)
        return claimed

    def _batch_size(self) -> int:
        return 1 if self.backoff.active else self.settings.batch_size

    def _exchange(self, outcome: Outcome, limit: int, now: dt.datetime) -> list[Claimed]:
        # ``now`` is the claim's time (rows' last_retried), which maintenance ages.
        return exchange(self.db, outcome, limit, now,
                        max_retries=self.settings.retry_count,
                        retention=self.settings.completed_rows_retention, start=self.index)

    def _claim_expired(self, claimed_at: dt.datetime) -> bool:
        age = (utcnow() - claimed_at).total_seconds()
        return age >= self.settings.processing_timeout * SEND_WINDOW

    def process(self, rows: list[Claimed], claimed_at: dt.datetime | None = None) -> Outcome:
        """Send ``rows`` in order; those not started before the claim made at
        ``claimed_at`` grew too old for sending are handed back (``expired``)."""
        outcome = Outcome()
        for i, row in enumerate(rows):
            if self.stopping.is_set():
                outcome.released.extend(rows[i:])
                break
            if claimed_at is not None and self._claim_expired(claimed_at):
                LOG.info("journal claim older than %gs: %d unsent rows handed back",
                         self.settings.processing_timeout * SEND_WINDOW, len(rows) - i)
                outcome.expired.extend(rows[i:])
                break
            try:
                send(self.client, row)
            except ControllerConnectionError as e:
                LOG.warning("controller unreachable (%s); backing off", e)
                self.backoff.failure(time.monotonic())
                outcome.released.extend(rows[i:])
                outcome.release_reason = str(e)
                break
            except Exception as e:
                LOG.warning("journal row %d (%s %s %s) refused: %s", row.seqnum,
                            row.operation, row.object_type, row.object_uuid, e)
                outcome.errors.append((row, f"{type(e).__name__}: {e}"))
            else:
                self.backoff.success()
                outcome.completed.append(row)
        return outcome
