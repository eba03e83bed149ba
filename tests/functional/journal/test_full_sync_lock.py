"""A change recorded while a full sync runs waits for it (no links to dropped rows).

Otherwise the change's dependencies would point at pending rows the full sync is
deleting and re-recording, and it could reach the controller before its parent.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from neutrino.db.api import Database
from neutrino.journal.full_sync import full_sync
from neutrino.journal.journal import record_one
from tests.fixtures.hosts import wait_for
from tests.fixtures.servers import make_database

pytestmark = pytest.mark.functional

_LOCK_WAITS = {
    "postgresql": "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
    "mariadb": "SELECT count(*) FROM information_schema.innodb_trx "
               "WHERE trx_state = 'LOCK WAIT'",
}


def _someone_waits_on_a_lock(url: str, backend: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text(_LOCK_WAITS[backend])).scalar())
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_recording_waits_for_a_running_full_sync(backend: str, tmp_path) -> None:
    with make_database(backend, tmp_path) as url:
        db = Database(url)
        recorded = threading.Event()

        def record_a_change() -> None:
            with db.transaction() as session:
                net_id = str(uuid.uuid4())
                record_one(session, "network", net_id, "create", {"id": net_id})
            recorded.set()

        recorder = threading.Thread(target=record_a_change)
        try:
            with db.transaction() as sync:
                full_sync(sync)
                recorder.start()
                wait_for(lambda: _someone_waits_on_a_lock(url, backend), timeout=30,
                         what="the recorder waiting for the full sync's lock")
                assert not recorded.is_set()
            recorder.join(30)
            assert recorded.is_set()
        finally:
            if recorder.is_alive():
                recorder.join(30)
            db.dispose()
