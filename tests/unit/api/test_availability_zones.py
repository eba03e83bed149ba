"""Availability zones: the agents' zones listed, networks' hints and zones, scheduling.

Agents are recorded as their heartbeats record them (``report_state`` with the
``availability_zone`` the DHCP agent reads from ``[AGENT]``); time is passed in to
make an agent dead, never waited for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from neutrino.common import constants as const
from neutrino.conf.dhcp import make_dhcp_agent_conf
from neutrino.db import agents as agents_db
from neutrino.db.base import utcnow
from neutrino.plugins import availability_zones as zones_db
from neutrino.plugins.dhcp import scheduling
from tests.fixtures.servers import ApiServer
from tests.unit.api.conftest import ServerFactory
from tests.unit.api.helpers import assert_error, network, ok, show, subnet

AZ_URL = "/v2.0/availability_zones"


def heartbeat(server: ApiServer, host: str, zone: str | None,
              agent_type: str = const.AGENT_TYPE_DHCP, when: dt.datetime | None = None
              ) -> str:
    state = {"agent_type": agent_type, "host": host, "binary": "neutron-dhcp-agent",
             "topic": "dhcp_agent"}
    if zone is not None:
        state["availability_zone"] = zone
    db = server.plugin.db
    with db.transaction() as session:
        agents_db.record_heartbeat(session, state, when or utcnow(), 75)
    with db.reader() as session:
        row = agents_db.get_by_type_and_host(session, agent_type, host)
        assert row is not None
        return row.id


def zones(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(http.get(AZ_URL, params=params))["availability_zones"]


def dhcp_agents_of(http: httpx.Client, net_id: str) -> list[dict[str, Any]]:
    return ok(http.get(f"/v2.0/networks/{net_id}/dhcp-agents"))["agents"]


@pytest.fixture
def server(make_server: ServerFactory) -> ApiServer:
    return make_server({"DEFAULT": {"dhcp_agents_per_network": 2}})


def test_the_dhcp_agent_reports_its_configured_zone() -> None:
    assert make_dhcp_agent_conf([]).agent.availability_zone == "nova"
    conf = make_dhcp_agent_conf([], overrides={"agent": {"availability_zone": "az9"}})
    from neutrino.agent.dhcp.config import DhcpAgentConfig
    assert DhcpAgentConfig.from_conf(conf).availability_zone == "az9"


def test_extensions_are_listed(server: ApiServer) -> None:
    with server.http() as http:
        found = {e["alias"]: e for e in ok(http.get("/v2.0/extensions"))["extensions"]}
        assert {"availability_zone", "network_availability_zone"} <= set(found)
        assert found["availability_zone"]["name"] == "Availability Zone"


def test_zones_of_dhcp_and_l3_agents_with_their_state(server: ApiServer) -> None:
    heartbeat(server, "net-1", "az1")
    heartbeat(server, "net-2", "az2", when=utcnow() - dt.timedelta(seconds=600))
    down = heartbeat(server, "net-3", "az3")
    heartbeat(server, "l3-1", "az1", agent_type=const.AGENT_TYPE_L3)
    heartbeat(server, "ovs-1", None, agent_type=const.AGENT_TYPE_OVS)
    with server.http() as http, server.http(project="p-az") as member:
        assert ok(http.put(f"/v2.0/agents/{down}", json={
            "agent": {"admin_state_up": False}}))
        listed = zones(member)
        assert listed == [
            {"name": "az1", "resource": "network", "state": "available"},
            {"name": "az2", "resource": "network", "state": "unavailable"},
            {"name": "az3", "resource": "network", "state": "unavailable"},
            {"name": "az1", "resource": "router", "state": "available"}]
        assert zones(http, resource="router") == [listed[3]]
        assert [z["name"] for z in zones(http, state="unavailable")] == ["az2", "az3"]
        assert zones(http, name="az1", resource="network") == [listed[0]]
        assert all(set(z) == {"name"} for z in zones(http, fields="name"))
        assert ok(http.get(f"{AZ_URL}/az2"))["availability_zone"] == listed[1]
        assert_error(http.get(f"{AZ_URL}/nowhere"), 404, "AvailabilityZoneNotFound")
        assert_error(http.get(AZ_URL, params={"host": "x"}), 400)
        assert_error(http.post(AZ_URL, json={"availability_zone": {}}), 405)
        assert_error(http.delete(f"{AZ_URL}/az1"), 405)


def test_a_second_alive_agent_keeps_a_zone_available(server: ApiServer) -> None:
    heartbeat(server, "a", "az1", when=utcnow() - dt.timedelta(seconds=600))
    with server.http() as http:
        assert zones(http)[0]["state"] == "unavailable"
        heartbeat(server, "b", "az1")
        assert zones(http) == [{"name": "az1", "resource": "network", "state": "available"}]


def test_network_hints_must_name_a_dhcp_agents_zone(server: ApiServer) -> None:
    heartbeat(server, "net-1", "az1")
    heartbeat(server, "l3-1", "az-l3", agent_type=const.AGENT_TYPE_L3)
    with server.http() as http:
        before = ok(http.get("/v2.0/networks"))["networks"]
        error = assert_error(http.post("/v2.0/networks", json={"network": {
            "availability_zone_hints": ["az1", "az-l3"]}}), 404, "AvailabilityZoneNotFound")
        assert "az-l3" in error["message"]
        assert ok(http.get("/v2.0/networks"))["networks"] == before
        net = network(http, availability_zone_hints=["az1"])
        assert net["availability_zone_hints"] == ["az1"]
        assert net["availability_zones"] == []
        assert show(http, "networks", net["id"])["availability_zone_hints"] == ["az1"]
        plain = network(http)
        assert (plain["availability_zone_hints"], plain["availability_zones"]) == ([], [])


@pytest.mark.parametrize(("hints", "type_"), [
    ("az1", "InvalidInput"), ([1], "InvalidInput"), (["az1", "az1"], "InvalidInput"),
    ([f"zone-{i:03}" for i in range(30)], "InvalidInput"),
])
def test_bad_hints_are_refused(server: ApiServer, hints: Any, type_: str) -> None:
    with server.http() as http:
        error = assert_error(http.post("/v2.0/networks", json={"network": {
            "availability_zone_hints": hints}}), 400, type_)
        if isinstance(hints, list) and len(hints) == 30:
            assert "Too many availability_zone_hints" in error["message"]


def test_hints_are_create_only(server: ApiServer) -> None:
    heartbeat(server, "net-1", "az1")
    with server.http() as http:
        net = network(http)
        assert_error(http.put(f"/v2.0/networks/{net['id']}", json={
            "network": {"availability_zone_hints": ["az1"]}}), 400)


def test_networks_show_the_zones_of_their_dhcp_agents(server: ApiServer) -> None:
    heartbeat(server, "net-1", "az1")
    heartbeat(server, "net-2", "az2")
    with server.http() as http:
        net = network(http)
        subnet(http, net["id"], "10.0.0.0/24")
        assert show(http, "networks", net["id"])["availability_zones"] == ["az1", "az2"]
        listed = ok(http.get("/v2.0/networks", params={"id": net["id"]}))["networks"]
        assert listed[0]["availability_zones"] == ["az1", "az2"]


def test_the_scheduler_keeps_to_the_hinted_zones(server: ApiServer) -> None:
    heartbeat(server, "net-1", "az1")
    heartbeat(server, "net-2", "az2")
    heartbeat(server, "net-3", "az2")
    with server.http() as http:
        net = network(http, availability_zone_hints=["az2"])
        subnet(http, net["id"], "10.0.0.0/24")
        hosts = sorted(a["host"] for a in dhcp_agents_of(http, net["id"]))
        assert hosts == ["net-2", "net-3"]
        assert show(http, "networks", net["id"])["availability_zones"] == ["az2"]


def test_the_scheduler_spreads_a_network_across_zones(server: ApiServer) -> None:
    # az1 has the two least loaded agents; the second agent still goes to az2.
    heartbeat(server, "a-1", "az1")
    heartbeat(server, "a-2", "az1")
    heartbeat(server, "b-1", "az2")
    with server.http() as http:
        busy = network(http, availability_zone_hints=["az2"])
        subnet(http, busy["id"], "10.9.0.0/24")
        net = network(http)
        subnet(http, net["id"], "10.0.0.0/24")
        zones_of = {a["availability_zone"] for a in dhcp_agents_of(http, net["id"])}
        assert zones_of == {"az1", "az2"}


def test_default_availability_zones_become_the_hints(make_server: ServerFactory) -> None:
    server = make_server({"DEFAULT": {"default_availability_zones": ["az2"]}})
    with server.http() as http:
        assert_error(http.post("/v2.0/networks", json={"network": {}}), 404,
                     "AvailabilityZoneNotFound")
        heartbeat(server, "net-1", "az1")
        heartbeat(server, "net-2", "az2")
        net = network(http)
        assert net["availability_zone_hints"] == ["az2"]
        subnet(http, net["id"], "10.0.0.0/24")
        assert [a["host"] for a in dhcp_agents_of(http, net["id"])] == ["net-2"]
        given = network(http, availability_zone_hints=["az1"])
        assert given["availability_zone_hints"] == ["az1"]


def test_validate_hints_for_routers_reads_l3_agents(server: ApiServer) -> None:
    heartbeat(server, "l3-1", "r-az", agent_type=const.AGENT_TYPE_L3,
              when=utcnow() - dt.timedelta(seconds=600))
    with server.plugin.db.reader() as session:
        zones_db.validate_hints(session, "router", ["r-az"])
        with pytest.raises(Exception, match="r-az2"):
            zones_db.validate_hints(session, "router", ["r-az", "r-az2"])
        with pytest.raises(Exception, match="r-az"):
            zones_db.validate_hints(session, "network", ["r-az"])


def _agent(name: str, zone: str, load: int, now: dt.datetime) -> scheduling.DhcpAgent:
    return scheduling.DhcpAgent(name, name, True, now, load, zone)


def test_spreading_is_pure_and_deterministic() -> None:
    now = utcnow()
    agents = [_agent("a1", "az1", 0, now), _agent("a2", "az1", 1, now),
              _agent("b1", "az2", 5, now), _agent("c1", "az3", 2, now)]
    picked = scheduling.choose_agents(agents, [], 3, now, 75)
    assert [a.id for a in picked] == ["a1", "c1", "b1"]
    # az1 already serves the network: the next agent comes from another zone.
    picked = scheduling.choose_agents(agents, ["a1"], 2, now, 75)
    assert [a.id for a in picked] == ["c1"]
    picked = scheduling.choose_agents(agents, [], 3, now, 75, zones=["az1"])
    assert [a.id for a in picked] == ["a1", "a2"]
