"""A slow batch must not send rows that maintenance may have handed to another worker.

Maintenance (of any server) puts rows processing for longer than
``processing_timeout`` back to pending; another worker then claims and sends them.
A worker still going through its batch must not send them as well: the change
would reach the controller twice — or, once the new owner's send has unblocked
later rows, a stale update would land after them. The clock is a fake so that a
"slow" request is a jump of time, not a wait.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select

from neutrino.db.models.journal import JournalEntry
from neutrino.journal import maintenance, worker
from neutrino.journal.dependencies import Entry
from neutrino.journal.journal import record, utcnow
from neutrino.journal.worker import SEND_WINDOW, Backoff, SyncWorker, Waker

NETS = [f"net-{i}" for i in range(3)]


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(worker, "utcnow", fake)
    return fake


def _record(db, operation, name):
    with db.transaction() as session:
        record(session, [Entry("network", n, operation, {"id": n, "name": name})
                         for n in NETS])


def _worker(db, client, settings, index):
    return SyncWorker(index, db, client, settings, Backoff(), Waker(), threading.Event())


def _puts(controller):
    return Counter(e.resource_id for e in controller.log.entries()
                   if e.method == "PUT" and 200 <= e.status < 300)


def _states(db):
    with db.reader() as session:
        return list(session.execute(select(JournalEntry.state)).scalars())


def test_a_slow_batch_hands_back_rows_instead_of_sending_them_twice(
        db, client, settings, controller, transport, clock, monkeypatch):
    timeout = settings.processing_timeout
    here, there = _worker(db, client, settings, 0), _worker(db, client, settings, 1)
    _record(db, "create", "v1")
    assert here.run_once() == len(NETS)
    _record(db, "update", "v2")
    inner = transport.handle_request
    sends: list[str] = []

    def slow_controller(request: httpx.Request) -> httpx.Response:
        sends.append(request.url.path.rsplit("/", 1)[-1])
        if len(sends) == 1:
            # The batch's first request takes longer than the send window, though
            # less than processing_timeout: nobody may have reset the rows yet.
            clock.advance(timeout * (SEND_WINDOW + 0.1))
        elif len(sends) == 2:
            # The worker went on anyway: time passes, maintenance elsewhere resets
            # the rows it holds, and another server's worker sends them.
            _another_server_takes_over(clock, timeout, db, there, transport, inner)
        return inner(request)

    monkeypatch.setattr(transport, "handle_request", slow_controller)
    here.run_once()
    monkeypatch.setattr(transport, "handle_request", inner)
    # Whatever the first worker handed back is sent by whoever claims it next.
    _another_server_takes_over(clock, timeout, db, there, transport, inner)
    while here.run_once() or there.run_once():
        pass
    assert _puts(controller) == Counter(NETS)
    assert _states(db) == []
    assert all(controller.store.get("network", n)["name"] == "v2" for n in NETS)


def _another_server_takes_over(clock: Clock, timeout: float, db, there: SyncWorker,
                               transport, inner: Callable[..., httpx.Response]) -> None:
    clock.advance(timeout * 0.5)
    maintenance.reset_stale(db, timeout, clock())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "handle_request", inner)
        while there.run_once():
            pass
