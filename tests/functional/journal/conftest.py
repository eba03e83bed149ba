"""Fixtures and checks of the journal fault tests: a real controller over HTTP, real
databases, API servers with the ``sdn_controller`` driver in-process or as processes.

``assert_synced`` is the heart of every test: the controller must hold exactly
Neutrino's resources, field for field, except the fields that Neutrino changes
without a journal row (a network's ``subnets`` list and its revision/updated_at
move when a subnet comes or goes — networking-odl does not resend the network
either).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from neutrino.context import admin_context
from neutrino.controller import ControllerServer, ControllerTestApi
from neutrino.db.api import Database
from neutrino.db.models.journal import JournalEntry
from neutrino.journal.full_sync import CANARY_ID
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, make_database, start_api_server

TYPES = ("network", "subnet", "port")
DERIVED = {"network": ("subnets", "revision_number", "updated_at")}
JOURNAL_BACKENDS = ["sqlite", "postgresql"]


def fast_journal(url: str, **overrides: Any) -> dict[str, Any]:
    """[ml2_sdn] settings that make the timers short enough for tests."""
    return {"url": url, "sync_workers": 4, "sync_timeout": 0.5, "maintenance_interval": 0.5,
            "processing_timeout": 3, "retry_count": 2, "timeout": 5, **overrides}


@pytest.fixture
def controller() -> Iterator[ControllerServer]:
    server = ControllerServer().start()
    yield server
    server.stop()


@pytest.fixture
def ctl(controller: ControllerServer) -> Iterator[ControllerTestApi]:
    with ControllerTestApi(controller.url) as api:
        yield api


@pytest.fixture(params=JOURNAL_BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with make_database(request.param, tmp_path) as url:
        yield url


def stop_server(server: ApiServer) -> None:
    for driver in server.plugin.mechanism_manager.drivers:
        getattr(driver, "stop", lambda: None)()
    server.stop()


@contextlib.contextmanager
def journal_server(db_url: str, ml2_sdn: dict[str, Any]) -> Iterator[ApiServer]:
    server = start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth"}, "database": {"connection": db_url},
        "ml2": {"mechanism_drivers": ["sdn_controller"]}, "ml2_sdn": ml2_sdn}))
    try:
        yield server
    finally:
        stop_server(server)


def wait_until(predicate: Callable[[], Any], deadline_s: float, what: str) -> Any:
    deadline = time.monotonic() + deadline_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(0.1)


def journal_counts(db: Database) -> dict[str, int]:
    with db.reader() as session:
        return dict(session.execute(select(JournalEntry.state, func.count())
                                    .group_by(JournalEntry.state)).all())


def _normal(object_type: str, item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in DERIVED.get(object_type, ())}


def neutrino_state(plugin: Any) -> dict[str, dict[str, Any]]:
    ctx = admin_context()
    found = {"network": plugin.get_networks(ctx, {}), "subnet": plugin.get_subnets(ctx, {}),
             "port": plugin.get_ports(ctx, {})}
    return {t: {i["id"]: _normal(t, i) for i in items} for t, items in found.items()}


def controller_state(controller: ControllerServer) -> dict[str, dict[str, Any]]:
    store = controller.controller.store
    return {t: {i["id"]: _normal(t, i) for i in store.list(t) if i["id"] != CANARY_ID}
            for t in TYPES}


def in_sync(plugin: Any, controller: ControllerServer, db: Database) -> bool:
    counts = journal_counts(db)
    if counts.get("pending") or counts.get("processing"):
        return False
    return neutrino_state(plugin) == controller_state(controller)


def wait_synced(plugin: Any, controller: ControllerServer, db: Database,
                deadline_s: float = 120) -> None:
    try:
        wait_until(lambda: in_sync(plugin, controller, db), deadline_s, "controller in sync")
    except AssertionError:
        ours, theirs = neutrino_state(plugin), controller_state(controller)
        for t in TYPES:
            assert set(ours[t]) == set(theirs[t]), f"{t} ids differ"
            for rid in ours[t]:
                assert ours[t][rid] == theirs[t][rid], f"{t} {rid} differs"
        raise


def applied_writes(ctl: ControllerTestApi, since: int = 0) -> list[tuple[str, str, str]]:
    return [w for w in ctl.applied(since) if w[2] != CANARY_ID]


def refused_writes(ctl: ControllerTestApi, since: int = 0) -> list[dict[str, Any]]:
    return [e for e in ctl.log(since) if e["method"] in ("POST", "PUT", "DELETE")
            and e["status"] >= 400 and e["resource_id"] != CANARY_ID]


def duplicates(writes: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """POSTs or DELETEs that reached the controller more than once."""
    counts = Counter(w for w in writes if w[0] != "PUT")
    return [w for w, n in counts.items() if n > 1]
