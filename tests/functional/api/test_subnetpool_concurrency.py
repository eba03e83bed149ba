"""Under concurrency subnets from one pool never overlap, and a project's share of a pool
never ends above its ``default_quota``: 2 worker processes, 16 clients, PostgreSQL and
MariaDB.

A real ``neutrino-server`` (gunicorn, ``api_workers = 2``). 16 clients, each on its
own network, take /27s and /28s from a /24 pool until refused: the subnets must not
overlap, must fill the pool exactly (a /28 client stops only when no /28 is left),
every refusal be a 409 SubnetAllocationError and nothing a 500. Then 8 clients of
one project take /28s from a pool with ``default_quota = 64``: exactly 4 subnets
exist in the end, every refusal a 409 SubnetPoolQuotaExceeded.
"""

from __future__ import annotations

import collections
import concurrent.futures
import time
from typing import Any

import httpx
import netaddr
import pytest

from tests.fixtures.servers import free_port, make_database, server_process, write_config

pytestmark = [pytest.mark.functional, pytest.mark.slow]

CLIENTS = 16
POOL = "10.88.0.0/24"
QUOTA_POOL = "10.89.0.0/16"
QUOTA = 64  # addresses: four /28s
PROJECT = "pool-quota-race"


def _config(tmp_path: Any, url: str, port: int) -> list[Any]:
    neutron = write_config(tmp_path / "neutron.conf", {
        "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1", "bind_port": port,
                    "api_workers": 2, "core_plugin": "ml2"},
        "database": {"connection": url}})
    ml2 = write_config(tmp_path / "ml2_conf.ini", {
        "ml2": {"type_drivers": "vxlan", "tenant_network_types": "vxlan",
                "mechanism_drivers": "logger"},
        "ml2_type_vxlan": {"vni_ranges": "100:300"}})
    return [neutron, ml2]


def _fill(base: str, net_id: str, pool_id: str, prefixlen: int,
          headers: dict[str, str]) -> list[httpx.Response]:
    """One client: create subnets from the pool until refused."""
    results: list[httpx.Response] = []
    with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
        while not results or results[-1].status_code == 201:
            results.append(http.post("/v2.0/subnets", json={"subnet": {
                "network_id": net_id, "ip_version": 4, "subnetpool_id": pool_id,
                "prefixlen": prefixlen}}))
    return results


def _race(base: str, jobs: list[tuple[str, str, int, dict[str, str]]]
          ) -> list[httpx.Response]:
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(_fill, base, *job) for job in jobs]
        return [r for f in futures for r in f.result()]


def _setup(admin: httpx.Client, prefixes: list[str], count: int, owner: str | None = None,
           **pool_attrs: Any) -> tuple[str, list[str]]:
    """A shared pool, and ``count`` networks (of ``owner`` if given)."""
    pool = admin.post("/v2.0/subnetpools", json={"subnetpool": {
        "prefixes": prefixes, "min_prefixlen": 24, "shared": True, **pool_attrs}})
    assert pool.status_code == 201, pool.text
    body = {"project_id": owner} if owner else {}
    nets = [admin.post("/v2.0/networks", json={"network": body}) for _ in range(count)]
    return pool.json()["subnetpool"]["id"], [n.json()["network"]["id"] for n in nets]


def _refusals(results: list[httpx.Response]) -> collections.Counter[str]:
    statuses = collections.Counter(r.status_code for r in results)
    assert set(statuses) <= {201, 409}, [r.text for r in results if r.status_code != 201][:3]
    return collections.Counter(r.json()["NeutronError"]["type"] for r in results
                               if r.status_code == 409)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_pool_subnets_never_overlap_nor_pass_the_quota(backend: str, tmp_path: Any) -> None:
    port = free_port()
    with make_database(backend, tmp_path) as url, \
            server_process(_config(tmp_path, url, port), port, tmp_path / "server.log"):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as admin:
            pool_id, nets = _setup(admin, [POOL], CLIENTS)
            results = _race(base, [(net, pool_id, 27 if i % 4 == 0 else 28, {})
                                   for i, net in enumerate(nets)])
            assert _refusals(results) == {"SubnetAllocationError": CLIENTS}
            subnets = admin.get("/v2.0/subnets", params={"subnetpool_id": pool_id}).json()
            cidrs = [netaddr.IPNetwork(s["cidr"]) for s in subnets["subnets"]]
            assert len(cidrs) == sum(r.status_code == 201 for r in results)
            assert sum(c.size for c in cidrs) == len(netaddr.IPSet(cidrs)) == 256
            assert netaddr.IPSet(cidrs) == netaddr.IPSet([POOL])

            quota_pool, quota_nets = _setup(admin, [QUOTA_POOL], 8, default_quota=QUOTA,
                                            owner=PROJECT)
            member = {"X-Project-Id": PROJECT, "X-Roles": "member"}
            results = _race(base, [(net, quota_pool, 28, member) for net in quota_nets])
            assert _refusals(results) == {"SubnetPoolQuotaExceeded": 8}
            taken = admin.get("/v2.0/subnets", params={"subnetpool_id": quota_pool}).json()
            assert len(taken["subnets"]) == QUOTA // 16
            assert all(s["project_id"] == PROJECT for s in taken["subnets"])
    assert (tmp_path / "server.log").read_text().count("Booting worker") == 2


def _wait_for_workers(log: Any, count: int, deadline_s: float = 30.0) -> None:
    """Until ``count`` workers serve (each logs its RPC consumer), so both get requests."""
    deadline = time.monotonic() + deadline_s
    while log.read_text().count("RPC server consuming") < count:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_concurrent_gets_on_two_workers_make_one_topology(backend: str, tmp_path: Any) -> None:
    """Builds race across processes too: the topology's key keeps one, the rest undo."""
    port = free_port()
    files = _config(tmp_path, "", port)
    with make_database(backend, tmp_path) as url:
        files[0] = write_config(tmp_path / "neutron.conf", {
            "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1",
                        "bind_port": port, "api_workers": 2, "core_plugin": "ml2",
                        "service_plugins": "router,auto_allocate"},
            "database": {"connection": url}})
        with server_process(files, port, tmp_path / "server.log"), \
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as admin:
            ext = admin.post("/v2.0/networks", json={"network": {
                "router:external": True, "is_default": True}}).json()["network"]
            admin.post("/v2.0/subnets", json={"subnet": {
                "network_id": ext["id"], "ip_version": 4, "cidr": "172.24.9.0/24"}})
            admin.post("/v2.0/subnetpools", json={"subnetpool": {
                "prefixes": ["10.90.0.0/16"], "default_prefixlen": 26, "is_default": True,
                "shared": True}}).raise_for_status()

            _wait_for_workers(tmp_path / "server.log", 2)

            def get(_: int) -> httpx.Response:
                with httpx.Client(base_url=str(admin.base_url), timeout=120) as http:
                    return http.get(f"/v2.0/auto-allocated-topology/{PROJECT}")

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                replies = list(pool.map(get, range(16)))
            assert {r.status_code for r in replies} == {200}, [r.text for r in replies][:3]
            assert len({r.json()["auto_allocated_topology"]["id"] for r in replies}) == 1
            mine = {"project_id": PROJECT}
            for collection, count in (("networks", 1), ("subnets", 1), ("routers", 1)):
                found = admin.get(f"/v2.0/{collection}", params=mine).json()[collection]
                assert len(found) == count, (collection, found)
