"""Real ``neutrino-server`` processes: SIGKILL with rows in processing, and several
servers (one of them gunicorn with two worker processes) sharing one journal."""

from __future__ import annotations

import contextlib
import signal
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from neutrino.conf import make_conf
from neutrino.db.api import Database
from neutrino.plugins.ml2.plugin import Ml2Plugin
from neutrino.plugins.registry import load_service_plugins
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import free_port, server_process, write_config
from tests.functional.journal.conftest import (
    applied_writes,
    duplicates,
    fast_journal,
    journal_counts,
    refused_writes,
    wait_synced,
    wait_until,
)
from tests.functional.journal.workload import (
    Expected,
    churn,
    create_topology,
    implicit_security_groups,
    order_violations,
)

pytestmark = [pytest.mark.functional, pytest.mark.slow]


def _config(tmp_path: Path, name: str, db_url: str, ctl_url: str, api_workers: int = 0,
            debug: bool = False, **journal: Any) -> tuple[Path, int]:
    port = free_port()
    sections = _merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1", "bind_port": port,
                    "api_workers": api_workers, "debug": debug},
        "database": {"connection": db_url},
        "ml2": {"mechanism_drivers": ["sdn_controller"]},
        "ml2_sdn": fast_journal(ctl_url, **journal)})
    return write_config(tmp_path / f"{name}.conf", sections), port


@contextlib.contextmanager
def _reader(db_url: str) -> Iterator[tuple[Database, Any]]:
    """The database and a plugin-free view of Neutrino's state, for the test's checks."""
    conf = make_conf([], overrides={"database": {"connection": db_url},
                                    "ml2": ML2_TEST_CONFIG["ml2"] | {"mechanism_drivers": []}})
    db = Database(db_url)
    try:
        plugin = Ml2Plugin(conf, db)
        # Service plugins add to the core resources (a port's security_groups).
        load_service_plugins(conf, db, plugin)
        yield db, plugin
    finally:
        db.dispose()


def test_sigkill_with_rows_in_processing_then_restart(backend_url, controller, ctl,
                                                      tmp_path):
    conf, port = _config(tmp_path, "a", backend_url, controller.northbound_url)
    url = f"http://127.0.0.1:{port}"
    with _reader(backend_url) as (db, plugin):
        with server_process([conf], port, tmp_path / "a.log") as proc:
            wait_until(lambda: ctl.applied(), 30, "the canary")
            ctl.set_faults(delay=2.0)      # every send takes long: rows sit in processing
            create_topology(url, Expected(), networks=4, ports_per_net=8)
            wait_until(lambda: journal_counts(db).get("processing"), 30, "rows in processing")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert journal_counts(db).get("processing")
        ctl.clear_faults()
        with server_process([conf], port, tmp_path / "b.log"):
            wait_synced(plugin, controller, db, deadline_s=90)
        assert refused_writes(ctl) == [] or all(
            e["status"] == 409 for e in refused_writes(ctl))    # replays of sent creates


def _two_servers(controller: Any, ctl: Any, tmp_path: Path, networks: int, ports_per_net: int,
                 delay: float = 0.0, debug: bool = False, **journal: Any) -> None:
    """Two servers (one with two API workers) on one PostgreSQL journal, a workload
    through both, then: every write reached the controller exactly once, in order."""
    from tests.fixtures.servers import make_database
    with make_database("postgresql", tmp_path) as db_url, _reader(db_url) as (db, plugin):
        conf_a, port_a = _config(tmp_path, "a", db_url, controller.northbound_url,
                                 api_workers=2, debug=debug, **journal)
        conf_b, port_b = _config(tmp_path, "b", db_url, controller.northbound_url,
                                 debug=debug, **journal)
        with server_process([conf_a], port_a, tmp_path / "a.log"), \
                server_process([conf_b], port_b, tmp_path / "b.log"):
            wait_until(lambda: ctl.applied(), 30, "the canary")
            since = ctl.log()[-1]["seq"]
            if delay:
                ctl.set_faults(delay=delay)
            urls = [f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"]
            expecteds = [Expected(), Expected()]

            def work(i: int) -> None:
                topo = create_topology(urls[i], expecteds[i], networks=networks,
                                       ports_per_net=ports_per_net, prefix=f"s{i}", workers=2)
                churn(urls[i], expecteds[i], topo, updates=20, deletes=20, drop_networks=1)

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(work, range(2)))
            ctl.clear_faults()
            wait_synced(plugin, controller, db, deadline_s=90)
            implicit = implicit_security_groups(urls[0])
        applied = applied_writes(ctl, since)
        assert duplicates(applied) == []
        # A re-sent create shows as a PUT (send() turns the 409 into an update), so
        # the counts of PUTs catch double sends too.
        assert Counter(applied) == Counter(expecteds[0].writes + expecteds[1].writes
                                           + implicit.writes)
        parents = {**expecteds[0].parents, **expecteds[1].parents, **implicit.parents}
        assert order_violations(applied, parents) == []


def test_two_servers_never_send_a_row_twice(controller, ctl, tmp_path):
    # processing_timeout well above twice the request timeout (5 s): a request slowed
    # by load ends before maintenance may reset its row (worker.SEND_WINDOW), so
    # exact counts hold however loaded the machine is.
    _two_servers(controller, ctl, tmp_path, networks=4, ports_per_net=30,
                 processing_timeout=12)


def test_a_slow_controller_never_gets_a_row_twice(controller, ctl, tmp_path):
    """Batches that take longer than processing_timeout: maintenance resets the rows
    their workers have not sent yet and other workers send them, so the first
    workers must hand them back rather than send them too (each send here takes
    30 ms more, processing_timeout is 0.6 s: a batch of 20 rows outlasts it). Debug
    logging (lines per request and per row) slows the servers as a loaded machine
    does, so rows pile up into such batches; without it they are sent as they come.
    Before workers handed back the tail of a slow batch, this sent ~30 rows twice."""
    _two_servers(controller, ctl, tmp_path, networks=4, ports_per_net=30, delay=0.03,
                 debug=True, processing_timeout=0.6)
