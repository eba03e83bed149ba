"""API benchmark: port and network throughput, list latency and the server's peak RSS.

Runs a real ``neutrino-server`` (one process, threads) per backend and prints JSON:

    python bench/api.py [--backends sqlite,postgresql] [--auth noauth,keystone]
                        [--ports 300] [--list 2000] [--client stdlib|httpx]

``--auth`` picks the server's ``auth_strategy`` (both by default). With ``keystone`` a
real Keystone is started as the test suite starts it (``tests/fixtures/keystone.py``);
every request carries a token that the server validates through keystonemiddleware's
``auth_token`` (fetched from Keystone once, then from its token cache, as a deployment
without memcached runs it). With ``noauth`` the same identities travel as
``X-Project-Id``/``X-Roles``.

The main figures are those of a member of one project (``bench``) whose quotas are
on — the default quota driver, with limits set above what the run creates (not −1, so
every create takes the lock row and counts) — ``quota_enforcement`` in the output says
so, and the project's ``used`` count from ``/v2.0/quotas/{id}/details`` at the end shows
that every port was counted. The list is timed once the database has analyzed the
freshly made rows (``ANALYZE``, as autovacuum would have long since done in service).
The load average (1 minute) before and after each run is reported: the machine is
shared, so compare runs made when it was quiet.

The client runs on the same two cores as the server and the database, and every
request is serial per client, so the client's own CPU time adds to each measured
request. The default client is the standard library's ``http.client`` over one
persistent connection per client thread (about 0.15 ms of CPU per request here);
``--client httpx`` measures through httpx instead (about 1 ms per request).

Reference: real Neutron 29 on this machine kind (Keystone tokens, one API worker)
creates 10.87 ports/s one by one, 12.0 ports/s with 8 clients, lists 2,000 ports in
0.981 s and does 13.92 network create+delete pairs/s; the target is 20× on each,
with the server under 250 MB. Those figures were measured on a faster machine:
``--reference FILE`` takes the JSON of ``bench/neutron_reference.py`` (real Neutron 29
run here with this workload) and adds ``speedup_vs_neutron_this_machine`` next to
``speedup_vs_neutron``.

Quotas (``quotas`` in the output): ports/s one by one for a project with a port
limit (lock row + count in the transaction), for a project whose limit is −1, and on
a second server with ``quota_driver = …DbQuotaDriverNull`` (quotas off); and 8
clients creating ports for a project at its limit: refusals/s, every one a 409. These
clients have the admin role in their project (their ports go on the bench network).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import psutil
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.servers import (  # noqa: E402
    free_port,
    make_database,
    server_process,
    write_config,
)

NEUTRON = {"ports_per_s_serial": 10.87, "ports_per_s_8_clients": 12.0,
           "list_2000_ports_s": 0.981, "network_create_delete_pairs_per_s": 13.92}
NULL_QUOTA_DRIVER = "neutron.db.quota.driver_null.DbQuotaDriverNull"
# The bench project's limits: enforced (not −1), above what a run creates.
BENCH_LIMITS = {"network": 100000, "subnet": 1000, "port": 100000}


class Response:
    def __init__(self, status: int, data: bytes) -> None:
        self.status_code = status
        self._data = data

    def json(self) -> Any:
        return json.loads(self._data)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self._data[:500]!r}")


class StdlibClient:
    """A keep-alive JSON client on ``http.client``: one connection, reopened if closed."""

    def __init__(self, base_url: str, timeout: float = 120,
                 headers: dict[str, str] | None = None) -> None:
        url = urlsplit(base_url)
        self._headers = headers or {}
        self._host, self._port, self._timeout = url.hostname, url.port, timeout
        self._conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(str(self._host), self._port, timeout=self._timeout)

    def request(self, method: str, path: str, body: Any = None,
                params: dict[str, Any] | None = None) -> Response:
        if params:
            path = f"{path}?{urlencode(params)}"
        headers = {"Accept": "application/json", **self._headers}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self._conn.request(method, path, body=payload, headers=headers)
        resp = self._conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self._conn.close()
            self._conn = self._connect()
        return Response(resp.status, data)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any) -> Response:  # noqa: A002 - httpx's name
        return self.request("POST", path, body=json)

    def put(self, path: str, json: Any) -> Response:  # noqa: A002 - httpx's name
        return self.request("PUT", path, body=json)

    def delete(self, path: str) -> Response:
        return self.request("DELETE", path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StdlibClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NoAuthIdentities:
    """Who calls, with ``auth_strategy = noauth``: Neutron's noauth headers."""

    auth = "noauth"

    def server_conf(self) -> dict[str, dict[str, Any]]:
        return {"DEFAULT": {"auth_strategy": "noauth"}}

    def admin(self) -> dict[str, str]:
        return {}  # noauth: a request without a project is the admin

    def project(self, name: str, role: str = "member") -> tuple[str, dict[str, str]]:
        """(project id, headers) of a user with ``role`` in project ``name``."""
        return name, {"X-Project-Id": name, "X-Roles": role}


class KeystoneIdentities:
    """Who calls, with ``auth_strategy = keystone``: tokens from a real Keystone, which
    the server validates through keystonemiddleware's auth_token."""

    auth = "keystone"

    def __init__(self, keystone: Any) -> None:
        self.ks = keystone
        self._projects: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
        self._suffix = uuid.uuid4().hex[:6]

    def server_conf(self) -> dict[str, dict[str, Any]]:
        admin = self.ks.admin_credentials
        return {"DEFAULT": {"auth_strategy": "keystone"},
                "keystone_authtoken": {
                    "www_authenticate_uri": self.ks.auth_url, "auth_url": self.ks.auth_url,
                    "auth_type": "password", "username": admin.username,
                    "password": admin.password, "project_name": admin.project_name,
                    "user_domain_id": "default", "project_domain_id": "default",
                    "region_name": admin.region_name}}

    def admin(self) -> dict[str, str]:
        return {"X-Auth-Token": self.ks.admin_token}

    def project(self, name: str, role: str = "member") -> tuple[str, dict[str, str]]:
        """(project id, token header) of a user with ``role`` in Keystone project
        ``name`` (made on first use; one user and token per project and role)."""
        key = (name, role)
        if key not in self._projects:
            full = f"{name}-{self._suffix}"
            user, password = f"{full}-{role}", f"pw-{full}-{role}"
            found = self.ks.request("GET", "/projects", params={"name": full}).json()
            project = found["projects"][0] if found["projects"] \
                else self.ks.create_project(full)
            made = self.ks.create_user(user, password, project_id=project["id"])
            self.ks.assign_role(made["id"], project["id"], role)
            token = self.ks.get_token(user, password, full)
            self._projects[key] = (project["id"], {"X-Auth-Token": token})
        return self._projects[key]


def make_client(kind: str, base: str, headers: dict[str, str] | None = None) -> Any:
    if kind == "httpx":
        return httpx.Client(base_url=base, timeout=120, headers=headers or {})
    return StdlibClient(base, headers=headers)


class RssSampler(threading.Thread):
    """Samples a process tree's resident memory until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(0.05):
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                return


def _ports_serial(http: Any, net_id: str, count: int) -> dict[str, float]:
    latencies = []
    start = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        resp = http.post("/v2.0/ports", json={"port": {"network_id": net_id}})
        resp.raise_for_status()
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    return {"ports_per_s_serial": count / elapsed,
            "port_create_p50_ms": statistics.median(latencies) * 1000}


def _ports_concurrent(kind: str, base: str, headers: dict[str, str], net_id: str,
                      count: int, clients: int) -> float:
    per_client = count // clients

    def work() -> None:
        with make_client(kind, base, headers) as http:
            for _ in range(per_client):
                http.post("/v2.0/ports", json={"port": {"network_id": net_id}}
                          ).raise_for_status()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(work) for _ in range(clients)]:
            f.result()
    return per_client * clients / (time.perf_counter() - start)


def _fill_to(http: Any, net_id: str, total: int) -> None:
    have = len(http.get("/v2.0/ports", params={"fields": "id"}).json()["ports"])
    batch = 100
    while have < total:
        n = min(batch, total - have)
        http.post("/v2.0/ports", json={"ports": [{"network_id": net_id}] * n}
                  ).raise_for_status()
        have += n


def _list_seconds(http: Any, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        resp = http.get("/v2.0/ports")
        resp.raise_for_status()
        resp.json()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _network_pairs(http: Any, count: int) -> dict[str, float]:
    latencies = []
    start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        net = http.post("/v2.0/networks", json={"network": {"name": f"b{i}"}})
        net.raise_for_status()
        http.delete(f"/v2.0/networks/{net.json()['network']['id']}").raise_for_status()
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    return {"network_create_delete_pairs_per_s": count / (time.perf_counter() - start),
            "network_pair_p50_ms": latencies[len(latencies) // 2] * 1000,
            "network_pair_max_ms": latencies[-1] * 1000}


def _project_ports_per_s(kind: str, base: str, headers: dict[str, str], net_id: str,
                         count: int) -> float:
    with make_client(kind, base, headers) as http:
        return _ports_serial(http, net_id, count)["ports_per_s_serial"]


def _refusals(kind: str, base: str, headers: dict[str, str], net_id: str, count: int,
              clients: int = 8) -> dict[str, Any]:
    """``clients`` clients creating ports for a project at its limit: all refused."""
    per_client = count // clients

    def work() -> list[int]:
        with make_client(kind, base, headers) as http:
            return [http.post("/v2.0/ports", json={"port": {"network_id": net_id}}
                              ).status_code for _ in range(per_client)]

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        statuses = [s for f in [pool.submit(work) for _ in range(clients)]
                    for s in f.result()]
    elapsed = time.perf_counter() - start
    if set(statuses) != {409}:
        raise RuntimeError(f"a project at its limit got {sorted(set(statuses))}")
    return {"refusals_per_s_8_clients": len(statuses) / elapsed}


def _set_limits(kind: str, base: str, ids: Any, project_id: str,
                limits: dict[str, int]) -> None:
    with make_client(kind, base, ids.admin()) as admin:
        admin.put(f"/v2.0/quotas/{project_id}", json={"quota": limits}).raise_for_status()


def _quotas(kind: str, base: str, ids: Any, net_id: str, count: int) -> dict[str, Any]:
    projects = {name: ids.project(name, "admin")
                for name in ("q-limited", "q-unlimited", "q-full")}
    for name, limit in (("q-limited", 10**6), ("q-unlimited", -1), ("q-full", 0)):
        _set_limits(kind, base, ids, projects[name][0], {"port": limit})
    result = {"ports_per_s_serial_limited": _project_ports_per_s(
                  kind, base, projects["q-limited"][1], net_id, count),
              "ports_per_s_serial_unlimited": _project_ports_per_s(
                  kind, base, projects["q-unlimited"][1], net_id, count)}
    result.update(_refusals(kind, base, projects["q-full"][1], net_id, count))
    return result


def _quotas_off(kind: str, base: str, ids: Any, count: int) -> float:
    with make_client(kind, base, ids.admin()) as http:
        net_id = _bench_network(http)
    return _project_ports_per_s(kind, base, ids.project("q-off", "admin")[1], net_id, count)


def _bench_network(http: Any) -> str:
    net = http.post("/v2.0/networks", json={"network": {"name": "bench"}})
    net.raise_for_status()
    net_id = str(net.json()["network"]["id"])
    http.post("/v2.0/subnets", json={"subnet": {
        "network_id": net_id, "cidr": "10.0.0.0/16", "ip_version": 4}}).raise_for_status()
    return net_id


def load_1min() -> float:
    return round(os.getloadavg()[0], 2)


def run_backend(backend: str, ids: Any, ports: int, listed: int, workers: int,
                client: str) -> dict[str, Any]:
    load = load_1min()
    result = _serve(backend, ids, workers, {},
                    lambda base, url: _measure(client, base, url, ids, ports, listed))
    off = _serve(backend, ids, workers, {"quotas": {"quota_driver": NULL_QUOTA_DRIVER}},
                 lambda base, url: {"ports_per_s_serial_off": _quotas_off(
                     client, base, ids, min(ports, 200))})
    result["quotas"]["ports_per_s_serial_off"] = off["ports_per_s_serial_off"]
    result["quotas"] = {k: round(v, 4) for k, v in result["quotas"].items()}
    result["load_avg_1min"] = {"before": load, "after": load_1min()}
    return result


def analyze(url: str) -> None:
    """Refresh the planner's statistics, as autovacuum does on a database that has been
    running: a table filled seconds ago still reads as empty to the planner, and the
    list's plan then depends on whether autovacuum happened to pass meanwhile."""
    if url.startswith("mysql"):
        return  # InnoDB samples its statistics itself as tables change
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def _serve(backend: str, ids: Any, workers: int, extra: dict[str, dict[str, Any]],
           measure: Any) -> dict[str, Any]:
    """Run ``measure(base url, database url)`` against a fresh server and database;
    adds peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        port = free_port()
        auth = ids.server_conf()
        with make_database(backend, tmpdir) as url:
            conf = write_config(tmpdir / "neutron.conf", {
                **auth, **extra,
                "DEFAULT": {**auth["DEFAULT"], "bind_host": "127.0.0.1",
                            "bind_port": port, "api_workers": workers},
                "database": {"connection": url},
                # What a deployment runs (the logger driver would log every call).
                "ml2": {"type_drivers": "vxlan,local", "tenant_network_types": "vxlan",
                        "mechanism_drivers": "openvswitch,l2population"},
                "ml2_type_vxlan": {"vni_ranges": "1:100000"}})
            with server_process([conf], port, tmpdir / "server.log") as proc:
                sampler = RssSampler(proc.pid)
                sampler.start()
                result: dict[str, Any] = measure(f"http://127.0.0.1:{port}", url)
                sampler.stop_event.set()
                sampler.join()
                result["server_peak_rss_mb"] = round(sampler.peak / 2**20, 1)
    return result


def _quota_enforcement(kind: str, base: str, ids: Any, project_id: str) -> dict[str, Any]:
    """Evidence that the figures were taken with quotas on: the project's limits and
    what the quota engine counts as used."""
    with make_client(kind, base, ids.admin()) as admin:
        details = admin.get(f"/v2.0/quotas/{project_id}/details")
        details.raise_for_status()
    body = details.json()["quota"]
    return {"quota_driver": "default (DbQuotaDriver: lock row + count in the transaction)",
            "project_limits": {r: body[r]["limit"] for r in BENCH_LIMITS},
            "ports_used_at_end": body["port"]["used"]}


def _measure(kind: str, base: str, db_url: str, ids: Any, ports: int,
             listed: int) -> dict[str, Any]:
    project_id, member = ids.project("bench", "member")
    _set_limits(kind, base, ids, project_id, BENCH_LIMITS)
    with make_client(kind, base, member) as http:
        net_id = _bench_network(http)
        result: dict[str, Any] = _ports_serial(http, net_id, ports)
        result["ports_per_s_8_clients"] = _ports_concurrent(kind, base, member, net_id,
                                                            ports, 8)
        _fill_to(http, net_id, listed)
        analyze(db_url)
        result["list_2000_ports_s"] = _list_seconds(http)
        result.update(_network_pairs(http, 100))
    result = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}
    result["quota_enforcement"] = _quota_enforcement(kind, base, ids, project_id)
    result["quotas"] = _quotas(kind, base, ids, net_id, min(ports, 200))
    return result


def speedups(result: dict[str, Any],
             reference: dict[str, Any] | None = None) -> dict[str, float]:
    """``result`` against ``reference`` (the fixed NEUTRON figures by default): how many
    times faster; the list compares seconds, the rest rates."""
    ref = NEUTRON if reference is None else reference
    return {
        "ports_per_s_serial": result["ports_per_s_serial"] / ref["ports_per_s_serial"],
        "ports_per_s_8_clients": (result["ports_per_s_8_clients"]
                                  / ref["ports_per_s_8_clients"]),
        "list_2000_ports_s": ref["list_2000_ports_s"] / result["list_2000_ports_s"],
        "network_create_delete_pairs_per_s": (
            result["network_create_delete_pairs_per_s"]
            / ref["network_create_delete_pairs_per_s"]),
    }


def load_reference(path: str) -> dict[str, Any]:
    """The same-machine Neutron figures that ``bench/neutron_reference.py`` printed."""
    data = json.loads(Path(path).read_text())
    figures = data.get("neutron_29_this_machine")
    if not isinstance(figures, dict) or not set(NEUTRON) <= set(figures):
        raise ValueError(f"{path}: no neutron_29_this_machine figures "
                         "(the JSON of bench/neutron_reference.py)")
    return {"figures": {k: figures[k] for k in NEUTRON},
            "neutron_version": data.get("neutron_version"),
            "backend": figures.get("backend"),
            "load_avg_1min": data.get("load_avg_1min")}


@contextlib.contextmanager
def identities(auth: str) -> Iterator[Any]:
    """The identities of ``auth`` mode; for keystone, a Keystone running meanwhile."""
    if auth == "noauth":
        yield NoAuthIdentities()
        return
    from tests.fixtures.keystone import KeystoneServer

    with KeystoneServer() as keystone:
        yield KeystoneIdentities(keystone)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--auth", default="noauth,keystone",
                        help="auth_strategy of the server: noauth, keystone or both "
                             "(comma-separated)")
    parser.add_argument("--ports", type=int, default=300)
    parser.add_argument("--list", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=0,
                        help="api_workers: 0 serves from threads of one process (cheroot), "
                             "N >= 1 from N gunicorn processes (keep-alive)")
    parser.add_argument("--client", choices=("stdlib", "httpx"), default="stdlib",
                        help="HTTP client of the benchmark (see above)")
    parser.add_argument("--reference", metavar="FILE",
                        help="JSON of bench/neutron_reference.py (real Neutron measured "
                             "on this machine): adds speedup_vs_neutron_this_machine")
    args = parser.parse_args()
    modes = [m.strip() for m in args.auth.split(",") if m.strip()]
    unknown = set(modes) - {"noauth", "keystone"}
    if unknown:
        parser.error(f"--auth: unknown mode(s) {', '.join(sorted(unknown))}")
    reference = None
    if args.reference:
        try:
            reference = load_reference(args.reference)
        except (OSError, ValueError) as e:
            parser.error(f"--reference: {e}")
    out: dict[str, Any] = {"benchmark": "api", "api_workers": args.workers,
                           "client": args.client, "cpus": os.cpu_count(),
                           "neutron_reference": NEUTRON, "results": {}}
    if reference is not None:
        out["neutron_reference_this_machine"] = reference
    for auth in modes:
        with identities(auth) as ids:
            for backend in args.backends.split(","):
                result = run_backend(backend, ids, args.ports, args.list, args.workers,
                                     args.client)
                result["speedup_vs_neutron"] = {k: round(v, 1)
                                                for k, v in speedups(result).items()}
                if reference is not None:
                    result["speedup_vs_neutron_this_machine"] = {
                        k: round(v, 1)
                        for k, v in speedups(result, reference["figures"]).items()}
                out["results"].setdefault(auth, {})[backend] = result
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
