"""``get_ports`` of ``neutrino/rpc/metadata.py`` on a real API server over the in-process bus.

The agent's own RPC client (namespace ``metadata``) asks; ports are made through the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from neutrino.agent.metadata.lookup import PortLookup, TtlCache, port_filters, router_filters
from neutrino.agent.metadata.messaging import RpcMetadataPluginApi
from neutrino.rpc.metadata import core_filters
from tests.fixtures.sim_agents import RpcRig, rpc_rig


@pytest.fixture
def rig(sqlite_url: str) -> Iterator[RpcRig]:
    with rpc_rig(sqlite_url, "fake://") as r:
        yield r


def _network(rig: RpcRig, cidr: str) -> tuple[str, str]:
    with rig.api.http() as http:
        net = http.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]
        sub = http.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": cidr, "ip_version": 4}})
        assert sub.status_code == 201, sub.text
        return net["id"], sub.json()["subnet"]["id"]


def _port(rig: RpcRig, network_id: str, subnet_id: str, ip: str, **body: Any
          ) -> dict[str, Any]:
    with rig.api.http() as http:
        resp = http.post("/v2.0/ports", json={"port": {
            "network_id": network_id, "fixed_ips": [{"subnet_id": subnet_id,
                                                     "ip_address": ip}], **body}})
        assert resp.status_code == 201, resp.text
        return dict(resp.json()["port"])


def test_get_ports_by_address_and_network(rig: RpcRig) -> None:
    net1, sub1 = _network(rig, "10.0.0.0/24")
    net2, sub2 = _network(rig, "10.0.0.0/24")  # overlapping: the network decides
    vm1 = _port(rig, net1, sub1, "10.0.0.5", device_id="vm-1", device_owner="compute:nova")
    vm2 = _port(rig, net2, sub2, "10.0.0.5", device_id="vm-2", device_owner="compute:nova")
    api = RpcMetadataPluginApi(rig.agent_transport, timeout=10)

    found = api.get_ports(port_filters("10.0.0.5", [net1]))
    assert [(p["id"], p["device_id"]) for p in found] == [(vm1["id"], "vm-1")]
    assert found[0]["project_id"] == vm1["project_id"]
    assert {p["id"] for p in api.get_ports(port_filters("10.0.0.5", [net1, net2]))} == \
        {vm1["id"], vm2["id"]}
    assert api.get_ports(port_filters("10.0.0.6", [net1])) == []
    assert api.get_ports({}) == []  # never every port


def test_router_lookup_through_the_lookup(rig: RpcRig) -> None:
    net1, sub1 = _network(rig, "10.1.0.0/24")
    net2, sub2 = _network(rig, "10.2.0.0/24")
    _port(rig, net1, sub1, "10.1.0.1", device_id="router-1",
          device_owner="network:router_interface")
    _port(rig, net2, sub2, "10.2.0.7", device_id="vm-7", device_owner="compute:nova")
    api = RpcMetadataPluginApi(rig.agent_transport, timeout=10)
    assert {p["network_id"] for p in api.get_ports(router_filters("router-1"))} == {net1}

    lookup = PortLookup(api, TtlCache(0))
    assert lookup.instance("10.2.0.7", router_id="router-1") is None  # not its network
    _port(rig, net2, sub2, "10.2.0.1", device_id="router-1",
          device_owner="network:router_interface")
    found = lookup.instance("10.2.0.7", router_id="router-1")
    assert found is not None and found.instance_id == "vm-7"


def test_fixed_ips_keys_must_match_the_same_address() -> None:
    assert core_filters({"network_id": ["n"], "fixed_ips": {"ip_address": ["1.2.3.4"]},
                         "bogus": ["x"]}) == {"network_id": ["n"],
                                              "fixed_ips": ["ip_address=1.2.3.4"]}
    from neutrino.rpc.metadata import matches_fixed_ips
    port = {"fixed_ips": [{"subnet_id": "s1", "ip_address": "1.2.3.4"},
                          {"subnet_id": "s2", "ip_address": "5.6.7.8"}]}
    assert matches_fixed_ips(port, {"fixed_ips": {"ip_address": ["1.2.3.4"],
                                                  "subnet_id": ["s1"]}})
    assert not matches_fixed_ips(port, {"fixed_ips": {"ip_address": ["1.2.3.4"],
                                                      "subnet_id": ["s2"]}})
