"""Journal throughput: rows/s from API call to controller, and API ports/s with the
``sdn_controller`` driver on and off. Prints JSON.

    .venv/bin/python -m bench.journal [--backends sqlite,postgresql] [--sizes 1000,10000]

Each run gets a fresh database, a reference controller over real HTTP and an
in-process API server. The workload has dependencies: networks, one subnet each,
then ports (bulk-created, 50 per request, from 4 client threads) spread over them.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from neutrino.controller import ControllerServer
from tests.conftest import ML2_TEST_CONFIG, _merge
from tests.fixtures.servers import ApiServer, make_database, start_api_server

PORTS_PER_REQUEST = 50
CLIENTS = 4


def _server(db_url: str, ctl: ControllerServer | None, workers: int = 4) -> ApiServer:
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


def _applied(ctl: ControllerServer) -> int:
    counts = ctl.controller.store.counts()
    return counts["network"] - 1 + counts["subnet"] + counts["port"]   # minus the canary


def sync_run(backend: str, resources: int, tmp: Path) -> dict[str, Any]:
    ctl = ControllerServer().start()
    with make_database(backend, tmp) as url:
        server = _server(url, ctl)
        try:
            deadline = time.monotonic() + 30
            while ctl.controller.store.counts()["network"] < 1 and time.monotonic() < deadline:
                time.sleep(0.05)                                   # canary: server ready
            t0 = time.monotonic()
            _workload(server.url, resources, PORTS_PER_REQUEST)
            api_done = time.monotonic() - t0
            while _applied(ctl) < resources:
                time.sleep(0.01)
            total = time.monotonic() - t0
        finally:
            _stop(server)
            ctl.stop()
    return {"backend": backend, "resources": resources, "api_seconds": round(api_done, 2),
            "api_to_controller_seconds": round(total, 2),
            "rows_per_s": round(resources / total, 1)}


def drain_run(backend: str, resources: int, tmp: Path) -> dict[str, Any]:
    """Record with no sync worker running, then time 4 workers draining the backlog."""
    from neutrino.conf import make_conf
    from neutrino.db.api import Database
    from neutrino.journal.client import ControllerClient
    from neutrino.journal.service import JournalService
    from neutrino.journal.worker import SyncSettings

    ctl = ControllerServer().start()
    with make_database(backend, tmp) as url:
        server = _server(url, ctl, workers=0)
        try:
            _workload(server.url, resources, PORTS_PER_REQUEST)
        finally:
            _stop(server)
        conf = make_conf([], overrides={"ml2_sdn": {"url": ctl.northbound_url}})
        db = Database(url)
        service = JournalService(db, ControllerClient.from_conf(conf.ml2_sdn), SyncSettings(
            workers=4, sync_timeout=1, maintenance_interval=600))
        t0 = time.monotonic()
        service.start()
        while _applied(ctl) < resources:
            time.sleep(0.01)
        total = time.monotonic() - t0
        service.stop()
        db.dispose()
        ctl.stop()
    return {"backend": backend, "resources": resources, "drain_seconds": round(total, 2),
            "rows_per_s": round(resources / total, 1)}


def api_run(backend: str, ports: int, driver: bool, tmp: Path) -> dict[str, Any]:
    ctl = ControllerServer().start() if driver else None
    with make_database(backend, tmp) as url:
        server = _server(url, ctl)
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
            if ctl:
                ctl.stop()
    return {"backend": backend, "driver": "sdn_controller" if driver else "none",
            "ports": ports, "ports_per_s": round(ports / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--api-ports", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        sync = [sync_run(b, int(n), Path(tmp)) for b in backends for n in args.sizes.split(",")]
        drain = [drain_run(b, int(n), Path(tmp)) for b in backends
                 for n in args.sizes.split(",")]
        api = [api_run(b, args.api_ports, d, Path(tmp)) for b in backends for d in (False, True)]
    print(json.dumps({"api_to_controller": sync, "journal_drain": drain, "api_ports": api,
                      "clients": CLIENTS, "ports_per_bulk_request": PORTS_PER_REQUEST},
                     indent=2))


if __name__ == "__main__":
    main()
