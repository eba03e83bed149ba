"""Under concurrency no IP is handed out twice: 2 worker processes, 16 clients, PostgreSQL.

A real ``neutrino-server`` (gunicorn, ``api_workers = 2``) reads its config files;
16 threads create ports on a /27 until it is full. Every address must be unique,
every failure a 409 IpAddressGenerationFailure, and nothing a 500.
"""

from __future__ import annotations

import collections
import concurrent.futures
import ipaddress

import httpx
import pytest

from tests.fixtures.servers import free_port, make_database, server_process, write_config

pytestmark = [pytest.mark.functional, pytest.mark.slow]

CLIENTS = 16
CIDR = "10.77.0.0/27"  # 29 usable addresses after network, broadcast and gateway


def _config(tmp_path, url: str, port: int) -> list:
    neutron = write_config(tmp_path / "neutron.conf", {
        "DEFAULT": {"auth_strategy": "noauth", "bind_host": "127.0.0.1", "bind_port": port,
                    "api_workers": 2, "core_plugin": "ml2"},
        "database": {"connection": url}})
    ml2 = write_config(tmp_path / "ml2_conf.ini", {
        "ml2": {"type_drivers": "vxlan", "tenant_network_types": "vxlan",
                "mechanism_drivers": "logger"},
        "ml2_type_vxlan": {"vni_ranges": "100:200"}})
    return [neutron, ml2]


def _fill(base: str, net_id: str) -> list[httpx.Response]:
    """One client: create ports until the subnet says it is full."""
    results = []
    with httpx.Client(base_url=base, timeout=60) as http:
        while True:
            resp = http.post("/v2.0/ports", json={"port": {"network_id": net_id}})
            results.append(resp)
            if resp.status_code != 201:
                return results


def test_no_ip_is_allocated_twice(tmp_path):
    port = free_port()
    with make_database("postgresql", tmp_path) as url, \
            server_process(_config(tmp_path, url, port), port, tmp_path / "server.log"):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as http:
            net = http.post("/v2.0/networks", json={"network": {"name": "race"}}).json()
            net_id = net["network"]["id"]
            subnet = http.post("/v2.0/subnets", json={"subnet": {
                "network_id": net_id, "cidr": CIDR, "ip_version": 4}})
            assert subnet.status_code == 201, subnet.text
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            results = [r for f in [pool.submit(_fill, base, net_id) for _ in range(CLIENTS)]
                       for r in f.result()]
        statuses = collections.Counter(r.status_code for r in results)
        assert set(statuses) <= {201, 409}, statuses
        assert statuses[409] == CLIENTS
        conflicts = {r.json()["NeutronError"]["type"] for r in results if r.status_code == 409}
        assert conflicts == {"IpAddressGenerationFailure"}
        ips = [r.json()["port"]["fixed_ips"][0]["ip_address"]
               for r in results if r.status_code == 201]
        assert len(ips) == len(set(ips)) == 29
        assert all(ipaddress.ip_address(ip) in ipaddress.ip_network(CIDR) for ip in ips)
        with httpx.Client(base_url=base) as http:
            listed = http.get("/v2.0/ports", params={"network_id": net_id}).json()["ports"]
        assert sorted(p["fixed_ips"][0]["ip_address"] for p in listed) == sorted(ips)
    assert (tmp_path / "server.log").read_text().count("Booting worker") == 2


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_concurrent_bulk_creates_do_not_deadlock(backend: str, tmp_path) -> None:
    """Bulk creates on one subnet, in parallel: every request succeeds, IPs unique."""
    from tests.conftest import ML2_TEST_CONFIG
    from tests.fixtures.servers import start_api_server

    with make_database(backend, tmp_path) as url:
        server = start_api_server({**ML2_TEST_CONFIG, "DEFAULT": {"auth_strategy": "noauth"},
                                   "database": {"connection": url}})
        try:
            with server.http() as http:
                net_id = http.post("/v2.0/networks", json={"network": {}}).json()[
                    "network"]["id"]
                http.post("/v2.0/subnets", json={"subnet": {
                    "network_id": net_id, "cidr": "10.88.0.0/22", "ip_version": 4}}
                          ).raise_for_status()

            def bulk(_: int) -> list[str]:
                with server.http() as http:
                    got = []
                    for _ in range(4):
                        resp = http.post("/v2.0/ports", json={
                            "ports": [{"network_id": net_id}] * 10})
                        assert resp.status_code == 201, resp.text
                        got += [p["fixed_ips"][0]["ip_address"]
                                for p in resp.json()["ports"]]
                    return got

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                ips = [ip for chunk in pool.map(bulk, range(8)) for ip in chunk]
            assert len(ips) == len(set(ips)) == 8 * 4 * 10
        finally:
            server.stop()
