"""Journal throughput: rows/s from API call to controller (end to end), rows/s of the
sync workers draining a recorded backlog, and the API's own ports/s with the
``sdn_controller`` driver off, recording only, and recording plus syncing. Prints JSON.

    .venv/bin/python -m bench.journal [--backends sqlite,postgresql] [--sizes 1000,10000]
                                      [--repeat 3] [--api-ports 1000]

Each run gets a fresh database, an in-process API server and a reference
controller in its own process over real HTTP (it is a separate service in
reality, and in-process it would compete with the server for the GIL). The
workload has dependencies: networks, one subnet each, then ports (bulk-created,
50 per request, from 4 client threads) spread over them.

- ``end_to_end``: sync workers on while the workload runs; rows/s is resources
  over the time from the first API call until the controller holds them all.
- ``drain``: the same workload recorded with no sync worker running, then 4
  workers started; rows/s is resources over the time until the controller holds
  them all. ``api_seconds`` of this run is the workload with the driver recording
  only.
- ``api_ports``: single-port creates (4 clients) with the driver off, recording
  only (no sync worker in this server), and recording plus syncing.

The machine is shared and small: every figure is the median of ``--repeat``
runs, with the runs themselves listed.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

# Run as ``python bench/journal.py`` (the README's way): the repository root is not on
# sys.path then, and the fixtures below live in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import ML2_TEST_CONFIG, _merge  # noqa: E402
from tests.fixtures.servers import (  # noqa: E402
    ApiServer,
    make_database,
    start_api_server,
)

PORTS_PER_REQUEST = 50
CLIENTS = 4
JOURNAL_WORKERS = 4
TYPES = ("network", "subnet", "port")


class ControllerProcess:
    """``neutrino-controller`` in a child process; ``applied()`` counts what it holds."""

    def __enter__(self) -> ControllerProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "neutrino.controller", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self._proc.stdout is not None
        self.northbound_url = self._proc.stdout.readline().split()[-1]
        self._http = httpx.Client(base_url=self.northbound_url.split("/controller/")[0])
        return self

    def counts(self) -> dict[str, int]:
        return dict(self._http.get("/health").json()["resources"])

    def applied(self) -> int:
        counts = self.counts()
        return sum(counts[t] for t in TYPES) - 1          # minus the canary network

    def wait_applied(self, total: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.applied() < total:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._http.close()
        self._proc.terminate()
        self._proc.wait(30)


def _server(db_url: str, ctl: ControllerProcess | None, workers: int) -> ApiServer:
    ml2: dict[str, Any] = {"mechanism_drivers": ["sdn_controller"] if ctl else []}
    journal = {"url": ctl.northbound_url, "sync_workers": workers, "sync_timeout": 1,
               "maintenance_interval": 60} if ctl else {}
    return start_api_server(_merge(ML2_TEST_CONFIG, {
        "DEFAULT": {"auth_strategy": "noauth", "debug": False},
        "database": {"connection": db_url, "max_pool_size": 20}, "ml2": ml2,
        "ml2_sdn": journal}))


def _stop(server: ApiServer) -> None:
    for driver in server.plugin.mechanism_manager.drivers:
        getattr(driver, "stop", lambda: None)()
    server.stop()


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body)
    response.raise_for_status()
    return response.json()


def _ports(url: str, net_id: str, count: int, bulk: int) -> None:
    with httpx.Client(base_url=url, timeout=600) as http:
        for start in range(0, count, bulk):
            n = min(bulk, count - start)
            if bulk == 1:
                _post(http, "/v2.0/ports", {"port": {"network_id": net_id}})
            else:
                _post(http, "/v2.0/ports", {"ports": [{"network_id": net_id}] * n})


def _workload(url: str, resources: int, bulk: int) -> None:
    # One client per network at a time: bulk creates racing on one subnet deadlock
    # in IPAM on PostgreSQL (reported separately), which is not what this measures.
    networks = max(CLIENTS, resources // 500)
    with httpx.Client(base_url=url, timeout=600) as http:
        nets = [_post(http, "/v2.0/networks", {"network": {"name": f"b{i}"}})["network"]["id"]
                for i in range(networks)]
        for i, net in enumerate(nets):
            _post(http, "/v2.0/subnets", {"subnet": {"network_id": net, "ip_version": 4,
                                                     "cidr": f"10.{i}.0.0/16"}})
    ports = resources - 2 * networks
    share = [ports // networks + (1 if i < ports % networks else 0) for i in range(networks)]
    jobs = list(zip(nets, share, strict=True))
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda job: _ports(url, job[0], job[1], bulk), jobs))


def _split(total: int, parts: int) -> list[int]:
    return [c for c in (total // parts + (1 if i < total % parts else 0)
                        for i in range(parts)) if c]


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def _deadline(resources: int) -> float:
    return 120 + resources * 0.2      # generous: a run that misses it reports incomplete


def end_to_end(backend: str, resources: int, tmp: Path) -> dict[str, Any]:
    """Workers on while the workload runs: API call to controller."""
    with ControllerProcess() as ctl, make_database(backend, tmp) as url:
        server = _server(url, ctl, JOURNAL_WORKERS)
        try:
            ctl.wait_applied(0, 30)                                  # canary: server ready
            t0 = time.monotonic()
            _workload(server.url, resources, PORTS_PER_REQUEST)
            api = time.monotonic() - t0
            done = ctl.wait_applied(resources, _deadline(resources))
            total = time.monotonic() - t0
            applied = ctl.applied()
        finally:
            _stop(server)
    return {"api_seconds": round(api, 2), "seconds": round(total, 2),
            "rows_per_s": _rate(applied, total), "complete": done}


def drain(backend: str, resources: int, tmp: Path) -> dict[str, Any]:
    """Record the workload with no sync worker, then time 4 workers draining it."""
    from sqlalchemy import func, select

    from neutrino.db.api import Database
    from neutrino.db.models.journal import JournalEntry
    from neutrino.journal.client import ControllerClient
    from neutrino.journal.full_sync import canary_pending
    from neutrino.journal.service import JournalService
    from neutrino.journal.worker import SyncSettings

    with ControllerProcess() as ctl, make_database(backend, tmp) as url:
        server = _server(url, ctl, workers=0)
        db = Database(url)
        try:
            # As end_to_end waits for the canary to reach the controller: the start-up
            # full sync must not overlap the workload (a change recorded while a full
            # sync drops and re-records the pending rows can lose its links to them).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with db.reader() as session:
                    if canary_pending(session):
                        break
                time.sleep(0.05)
            t0 = time.monotonic()
            _workload(server.url, resources, PORTS_PER_REQUEST)
            api = time.monotonic() - t0
        finally:
            _stop(server)
        with db.reader() as session:
            rows = session.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
        client = ControllerClient(ctl.northbound_url)
        service = JournalService(db, client, SyncSettings(
            workers=JOURNAL_WORKERS, sync_timeout=1, enable_maintenance=False))
        t0 = time.monotonic()
        service.start()
        # The controller starts empty: it holds every row once it holds that many.
        done = ctl.wait_applied(rows - 1, _deadline(resources))
        total = time.monotonic() - t0
        applied = ctl.applied() + 1
        service.stop()
        client.close()
        db.dispose()
    return {"api_seconds_recording_only": round(api, 2), "rows": rows,
            "seconds": round(total, 2),
            "rows_per_s": _rate(applied, total), "complete": done}


def api_ports(backend: str, ports: int, driver: str, tmp: Path) -> dict[str, Any]:
    """Single-port creates from 4 clients; ``driver``: none, record_only or sync."""
    with ControllerProcess() as ctl, make_database(backend, tmp) as url:
        workers = JOURNAL_WORKERS if driver == "sync" else 0
        server = _server(url, None if driver == "none" else ctl, workers)
        try:
            with httpx.Client(base_url=server.url, timeout=600) as http:
                net = _post(http, "/v2.0/networks", {"network": {"name": "api"}})["network"]
                _post(http, "/v2.0/subnets", {"subnet": {"network_id": net["id"],
                                                         "ip_version": 4, "cidr": "10.0.0.0/16"}})
            t0 = time.monotonic()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(lambda n: _ports(server.url, net["id"], n, 1),
                              _split(ports, CLIENTS)))
            elapsed = time.monotonic() - t0
        finally:
            _stop(server)
    return {"ports_per_s": _rate(ports, elapsed)}


def _median_of(repeat: int, run: Callable[[], dict[str, Any]], key: str) -> dict[str, Any]:
    runs = [run() for _ in range(repeat)]
    best = sorted(runs, key=lambda r: r[key])[len(runs) // 2]
    return {**best, key: statistics.median(r[key] for r in runs),
            "runs": [r[key] for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--api-ports", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parts", default="end_to_end,drain,api_ports")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    backends, parts = args.backends.split(","), args.parts.split(",")
    sizes = [int(n) for n in args.sizes.split(",")]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for backend in backends:
            for n in sizes:
                for part, run in (("end_to_end", end_to_end), ("drain", drain)):
                    if part in parts:
                        results.append({"measure": part, "backend": backend, "resources": n,
                                        **_median_of(args.repeat, partial(run, backend, n, tmp),
                                                     "rows_per_s")})
            if "api_ports" in parts:
                for driver in ("none", "record_only", "sync"):
                    results.append({"measure": "api_ports", "backend": backend,
                                    "driver": driver, "ports": args.api_ports,
                                    **_median_of(args.repeat, partial(
                                        api_ports, backend, args.api_ports, driver, tmp),
                                                 "ports_per_s")})
    print(json.dumps({"results": results, "clients": CLIENTS,
                      "ports_per_bulk_request": PORTS_PER_REQUEST,
                      "journal_workers": JOURNAL_WORKERS, "repeat": args.repeat,
                      "controller": "neutrino-controller in its own process"}, indent=2))


if __name__ == "__main__":
    main()
