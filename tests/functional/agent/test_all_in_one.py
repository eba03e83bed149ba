"""The all-in-one: API server and OVS agent in one process, on the in-process bus.

``neutrino`` with no configuration serves the API and, when an OVS answers, runs the
agent in the same process over the ``fake://`` transport. Here the OVS is a
namespaced host; two VMs plugged as Nova would get ACTIVE ports and ping.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from neutrino.cmd.neutrino import ALL_IN_ONE, start_local_agent, stop_local_agent
from tests.fixtures import hosts
from tests.fixtures.servers import make_database, start_api_server

pytestmark = [
    pytest.mark.functional,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and OVS"),
]


def _port(http: Any, net_id: str) -> dict[str, Any]:
    resp = http.post("/v2.0/ports", json={"port": {
        "network_id": net_id, "binding:host_id": "aio", "device_owner": "compute:nova"}})
    assert resp.status_code == 201, resp.text
    return resp.json()["port"]


def test_all_in_one_binds_ports_and_vms_ping(tmp_path) -> None:
    with hosts.Cleanup() as cleanup, make_database("sqlite", tmp_path) as url:
        host = hosts.create_host(cleanup)
        server = start_api_server({**ALL_IN_ONE, "DEFAULT": {
            "auth_strategy": "noauth", "host": "aio", "transport_url": "fake://"},
            "database": {"connection": url}})
        cleanup.add(server.stop)
        local = start_local_agent(server.server, [], overrides={
            "ovs": {"ovsdb_connection": host.db, "datapath_type": "netdev"}})
        assert local is not None, "the agent should start when OVS answers"
        cleanup.add(stop_local_agent, local)
        with server.http() as http:
            net = http.post("/v2.0/networks", json={"network": {"name": "aio"}}).json()
            net_id = net["network"]["id"]
            http.post("/v2.0/subnets", json={"subnet": {
                # no DHCP: the all-in-one's DHCP agent plugs its port where this
                # process runs, not into the host namespace (test_all_in_one_dhcp.py)
                "network_id": net_id, "cidr": "10.60.0.0/24", "ip_version": 4,
                "enable_dhcp": False}}
                      ).raise_for_status()
            ports = [_port(http, net_id) for _ in range(2)]
            assert {p["binding:vif_type"] for p in ports} == {"ovs"}
            vms = [hosts.create_vm(cleanup, host, p["id"], p["mac_address"],
                                   f"{p['fixed_ips'][0]['ip_address']}/24") for p in ports]

            def active() -> bool:
                return all(http.get(f"/v2.0/ports/{p['id']}").json()["port"]["status"]
                           == "ACTIVE" for p in ports)

            hosts.wait_for(active, timeout=30, what="both ports ACTIVE")
            target = ports[1]["fixed_ips"][0]["ip_address"]
            hosts.wait_for(lambda: vms[0].ping(target), timeout=30, what="VM to VM ping")


def test_no_agent_without_an_ovs(tmp_path) -> None:
    with make_database("sqlite", tmp_path) as url:
        server = start_api_server({**ALL_IN_ONE, "DEFAULT": {"auth_strategy": "noauth"},
                                   "database": {"connection": url}})
        try:
            assert start_local_agent(server.server, [], overrides={
                "ovs": {"ovsdb_connection": f"unix:{tmp_path}/no-such.sock"}}) is None
        finally:
            server.stop()
