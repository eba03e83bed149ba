"""Recording, claiming and finishing rows on a real (SQLite) database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from neutrino.db.models.journal import JournalAttempt, JournalDependency, JournalEntry
from neutrino.journal import claims
from neutrino.journal.dependencies import Entry
from neutrino.journal.journal import record, utcnow
from neutrino.journal.worker import Backoff, SyncWorker, Waker

NET = {"id": "net-1", "name": "n"}
SUB = {"id": "sub-1", "network_id": "net-1"}
PORT = {"id": "port-1", "network_id": "net-1", "fixed_ips": [{"subnet_id": "sub-1"}]}


def _record(db, *entries):
    with db.transaction() as session:
        return record(session, list(entries))


def _states(db):
    with db.reader() as session:
        return dict(session.execute(select(JournalEntry.seqnum, JournalEntry.state)).all())


def _worker(db, client, settings, backoff=None):
    return SyncWorker(0, db, client, settings, backoff or Backoff(), Waker(),
                      threading.Event())


def _topology(db):
    return _record(db, Entry("network", "net-1", "create", NET),
                   Entry("subnet", "sub-1", "create", SUB),
                   Entry("port", "port-1", "create", PORT))


def test_a_rolled_back_request_leaves_no_row(db):
    with pytest.raises(RuntimeError), db.transaction() as session:
        record(session, [Entry("network", "net-1", "create", NET)])
        raise RuntimeError("the request failed after precommit")
    assert _states(db) == {}
    _record(db, Entry("network", "net-1", "create", NET))
    assert list(_states(db).values()) == ["pending"]


def test_links_are_stored_at_record_time(db):
    net, sub, port = _topology(db)
    with db.reader() as session:
        links = set(session.execute(select(JournalDependency.dependent,
                                           JournalDependency.depends_on)).all())
    assert links == {(sub, net), (port, net), (port, sub)}


def test_claims_follow_dependencies(db):
    net, sub, port = _topology(db)
    first = claims.claim(db, 10, utcnow())
    assert [r.seqnum for r in first] == [net]
    assert claims.claim(db, 10, utcnow()) == []          # the rest wait for the network
    claims.finish(db, claims.Outcome(completed=first), 5, 0, utcnow())
    assert [r.seqnum for r in claims.claim(db, 10, utcnow())] == [sub]


def test_a_claimed_row_cannot_be_claimed_again(db):
    _record(db, Entry("network", "net-1", "create", NET))
    row = claims.claim(db, 1, utcnow())[0]
    with db.transaction() as session:
        assert not claims._take(session, row.seqnum, row.version_id - 1, utcnow())


def test_failed_rows_block_nothing(db, client, settings, controller):
    net, sub, _ = _topology(db)
    controller.faults.update(error_rate=1.0)
    worker = _worker(db, client, settings)
    for _ in range(settings.retry_count + 1):
        worker.run_once()
    assert _states(db)[net] == "failed"
    assert [r.seqnum for r in claims.claim(db, 10, utcnow())] == [sub]


def test_connection_error_keeps_the_row_pending_without_a_retry(db, client, settings,
                                                                transport):
    (seq,) = _record(db, Entry("network", "net-1", "create", NET))
    transport.down = True
    backoff = Backoff()
    _worker(db, client, settings, backoff).run_once()
    with db.reader() as session:
        row = session.get(JournalEntry, seq)
        state = (row.state, row.retry_count)
        events = session.execute(select(JournalAttempt.event)).scalars().all()
    assert state == ("pending", 0)
    assert backoff.active and events == ["connection_error"]


def test_completed_rows_are_deleted_or_kept_per_retention(db, client, settings, controller):
    _record(db, Entry("network", "net-1", "create", NET))
    _worker(db, client, settings).run_once()
    assert _states(db) == {}
    assert controller.store.get("network", "net-1")["name"] == "n"
    _record(db, Entry("network", "net-1", "update", {**NET, "name": "m"}))
    kept = type(settings)(**{**settings.__dict__, "completed_rows_retention": -1})
    _worker(db, client, kept).run_once()
    assert list(_states(db).values()) == ["completed"]


def test_every_row_is_claimed_once_by_racing_threads(db):
    _record(db, *[Entry("network", f"n{i}", "create", {"id": f"n{i}"}) for i in range(200)])
    got: list[int] = []
    lock = threading.Lock()

    def drain(index):
        while rows := claims.claim(db, 5, utcnow(), start=index):
            with lock:
                got.extend(r.seqnum for r in rows)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(set(got)) and len(got) == 200


def test_a_claimed_batch_holds_no_row_with_its_parent(db):
    _record(db, *[Entry("network", f"n{i}", "create", {"id": f"n{i}"}) for i in range(5)],
            *[Entry("subnet", f"s{i}", "create", {"id": f"s{i}", "network_id": f"n{i % 5}"})
              for i in range(10)],
            Entry("network", "n0", "update", {"id": "n0", "name": "x"}))
    with db.reader() as session:
        links = set(session.execute(select(JournalDependency.dependent,
                                           JournalDependency.depends_on)).all())
    batches = []
    while rows := claims.claim(db, 100, utcnow()):
        batches.append({r.seqnum for r in rows})
        claims.finish(db, claims.Outcome(completed=rows), 5, 0, utcnow())
    assert [len(b) for b in batches] == [5, 11]     # networks; then subnets and the update
    assert not any(child in b and parent in b for b in batches for child, parent in links)


def test_exchange_settles_and_claims_the_freed_dependents_at_once(db):
    net, sub, port = _topology(db)
    (first,) = claims.claim(db, 10, utcnow())
    rows = claims.exchange(db, claims.Outcome(completed=[first]), 10, utcnow(),
                           max_retries=5, retention=0)
    assert [r.seqnum for r in rows] == [sub]
    assert _states(db) == {sub: "processing", port: "pending"}
    rows = claims.exchange(db, claims.Outcome(completed=rows), 0, utcnow(),
                           max_retries=5, retention=0)
    assert rows == [] and _states(db) == {port: "pending"}


def test_drain_sends_everything_in_dependency_order(db, client, settings, controller):
    _topology(db)
    _record(db, Entry("port", "port-1", "update", {**PORT, "name": "p"}),
            Entry("port", "port-1", "delete", PORT), Entry("subnet", "sub-1", "delete", SUB))
    assert _worker(db, client, settings).drain() == 6
    assert _states(db) == {}
    assert [(e.method, e.object_type) for e in controller.log.entries()] == [
        ("POST", "network"), ("POST", "subnet"), ("POST", "port"), ("PUT", "port"),
        ("DELETE", "port"), ("DELETE", "subnet")]
    assert [n["id"] for n in controller.store.list("network")] == ["net-1"]
    assert controller.store.list("subnet") == controller.store.list("port") == []


def test_a_row_reset_and_reclaimed_is_not_completed_by_its_old_owner(db):
    """A slow worker outlived processing_timeout: its late completion must not finish
    (and so unblock the dependents of) the row another worker now owns."""
    import datetime as dt

    from neutrino.journal.maintenance import reset_stale

    _record(db, Entry("network", "net-1", "create", NET))
    first = claims.claim(db, 1, utcnow())[0]
    later = utcnow() + dt.timedelta(seconds=3600)
    assert reset_stale(db, 100, later) == 1
    second = claims.claim(db, 1, later)[0]
    assert second.seqnum == first.seqnum and second.version_id != first.version_id
    with db.transaction() as session:
        claims.settle(session, claims.Outcome(completed=[first]), 5, 0, utcnow())
    assert _states(db)[first.seqnum] == "processing"
    with db.transaction() as session:
        claims.settle(session, claims.Outcome(completed=[second]), 5, 0, utcnow())
    assert first.seqnum not in _states(db)
