"""Maintenance on SQLite: the lock row, stale rows, cleanup, full sync, recovery, CLI."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select, update

from neutrino.cmd import neutrino as neutrino_cmd
from neutrino.db.models.journal import JournalEntry
from neutrino.journal import claims, maintenance, recovery
from neutrino.journal.dependencies import Entry
from neutrino.journal.full_sync import CANARY_ID
from neutrino.journal.journal import record, utcnow
from neutrino.journal.maintenance import Maintenance
from tests.fixtures.servers import write_config

NET = {"id": "net-1", "name": "n"}


def _record(db, *entries):
    with db.transaction() as session:
        return record(session, list(entries))


def _rows(db):
    with db.reader() as session:
        return [(r.object_uuid, r.operation, r.state) for r in session.execute(
            select(JournalEntry).order_by(JournalEntry.seqnum)).scalars()]


def test_only_one_server_holds_the_lock(db, client, settings):
    now = utcnow()
    assert maintenance.acquire(db, "a", now, 300, 100)
    assert not maintenance.acquire(db, "b", now, 300, 100, force=True)
    maintenance.set_phase(db, "a", None, now, release=True)
    assert not maintenance.acquire(db, "b", now, 300, 100)          # ran just now
    assert maintenance.acquire(db, "b", now, 300, 100, force=True)


def test_a_dead_holder_loses_the_lock_after_processing_timeout(db):
    now = utcnow()
    assert maintenance.acquire(db, "dead", now, 300, 100, force=True)
    assert not maintenance.acquire(db, "b", now + dt.timedelta(seconds=50), 300, 100)
    assert maintenance.acquire(db, "b", now + dt.timedelta(seconds=101), 300, 100)


def test_stale_processing_rows_go_back_to_pending(db):
    (seq,) = _record(db, Entry("network", "net-1", "create", NET))
    claims.claim(db, 1, utcnow() - dt.timedelta(seconds=200))
    assert maintenance.reset_stale(db, 100, utcnow()) == 1
    assert _rows(db) == [("net-1", "create", "pending")]


def test_completed_rows_past_retention_are_deleted(db):
    _record(db, Entry("network", "net-1", "create", NET))
    rows = claims.claim(db, 1, utcnow())
    claims.finish(db, claims.Outcome(completed=rows), 5, 60, utcnow() - dt.timedelta(
        seconds=120))
    assert maintenance.delete_completed(db, -1, utcnow()) == 0
    assert maintenance.delete_completed(db, 60, utcnow()) == 1
    assert _rows(db) == []


def test_full_sync_when_the_canary_is_missing(db, client, settings, controller):
    _record(db, Entry("network", "net-1", "update", NET))
    Maintenance(db, client, settings).run(force=True)
    assert _rows(db) == [(CANARY_ID, "create", "pending")]       # the update was superseded
    Maintenance(db, client, settings).run(force=True)             # canary on its way: no resync
    assert _rows(db) == [(CANARY_ID, "create", "pending")]


def test_recovery_completes_a_create_the_controller_has(db, client, controller):
    (seq,) = _record(db, Entry("network", "net-1", "create", NET))
    with db.transaction() as session:
        session.execute(update(JournalEntry).values(state="failed"))
    client.create("network", NET)
    assert recovery.recover(db, client, retention=0) == 1
    assert _rows(db) == []


def test_recovery_retries_a_delete_the_controller_still_has(db, client):
    _record(db, Entry("network", "net-1", "delete", NET))
    with db.transaction() as session:
        session.execute(update(JournalEntry).values(state="failed", retry_count=6))
    client.create("network", NET)
    recovery.recover(db, client, retention=0)
    assert _rows(db) == [("net-1", "delete", "pending")]


def _cli(db, capsys, tmp_path, *args):
    conf = write_config(tmp_path / "n.conf", {"database": {"connection": db.url}})
    code = neutrino_cmd.main(["journal", *args, "--json", "--config-file", str(conf)])
    return code, capsys.readouterr().out


def test_cli_status_list_show_retry_sync(db, capsys, tmp_path):
    (seq,) = _record(db, Entry("network", "net-1", "create", NET))
    code, out = _cli(db, capsys, tmp_path, "status")
    assert code == 0 and json.loads(out)["rows"]["pending"] == 1
    code, out = _cli(db, capsys, tmp_path, "list", "--state", "pending")
    assert [r["seqnum"] for r in json.loads(out)] == [seq]
    with db.transaction() as session:
        session.execute(update(JournalEntry).values(state="failed"))
    assert _cli(db, capsys, tmp_path, "retry", str(seq))[0] == 0
    code, out = _cli(db, capsys, tmp_path, "show", str(seq))
    shown = json.loads(out)
    assert shown["state"] == "pending" and [h["event"] for h in shown["history"]] == [
        "recorded", "retry"]
    assert _cli(db, capsys, tmp_path, "retry", str(seq))[0] == 1      # not failed any more
    assert _cli(db, capsys, tmp_path, "sync")[0] == 0
    assert _rows(db) == [(CANARY_ID, "create", "pending")]
