"""Claims race on every backend (SQLite, PostgreSQL, MariaDB): recording, claiming and
finishing from many threads at once — each row claimed once, in dependency order,
and no deadlock surfaces."""

from __future__ import annotations

import threading

import pytest

from neutrino.db.api import Database
from neutrino.journal import claims
from neutrino.journal.dependencies import Entry
from neutrino.journal.journal import record, utcnow
from tests.functional.journal.conftest import journal_counts

pytestmark = pytest.mark.functional


def _recorder(db: Database, n: int) -> None:
    for i in range(n):
        net, sub = f"n{i}-{threading.get_ident()}", f"s{i}-{threading.get_ident()}"

        def attempt(net: str = net, sub: str = sub) -> None:
            with db.transaction() as session:
                record(session, [Entry("network", net, "create", {"id": net})])
                record(session, [Entry("subnet", sub, "create", {"id": sub, "network_id": net})])
        db.retrying(attempt)


def _drainer(db: Database, index: int, done: threading.Event, got: list[tuple[int, str]],
             lock: threading.Lock) -> None:
    while True:
        rows = claims.claim(db, 5, utcnow(), start=index)
        if not rows and done.is_set() and not journal_counts(db).get("pending"):
            return
        with lock:
            got.extend((r.seqnum, r.object_uuid) for r in rows)
        claims.finish(db, claims.Outcome(completed=rows), 5, 0, utcnow())


def test_concurrent_record_claim_finish(db_url):
    db = Database(db_url)
    got: list[tuple[int, str]] = []
    lock, done = threading.Lock(), threading.Event()
    recorders = [threading.Thread(target=_recorder, args=(db, 40)) for _ in range(3)]
    drainers = [threading.Thread(target=_drainer, args=(db, i, done, got, lock))
                for i in range(6)]
    for t in recorders + drainers:
        t.start()
    for t in recorders:
        t.join()
    done.set()
    for t in drainers:
        t.join(120)
    db.dispose()
    seqnums = [s for s, _ in got]
    assert len(seqnums) == len(set(seqnums)) == 3 * 40 * 2
    order = {uuid: i for i, (_, uuid) in enumerate(got)}
    assert all(order[u.replace("s", "n", 1)] < i for u, i in order.items() if u[0] == "s")
