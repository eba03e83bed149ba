"""DHCP on the server: scheduling, the agents' RPC, targeted casts, provisioning blocks.

Simulated DHCP agents (``dhcp_agents.py``) and OVS agents on the in-process bus talk
to a real server; assertions are on what each agent receives, how many casts the
server sent, and the ports' status as the API shows it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from neutrino.common import constants as const
from neutrino.db.base import utcnow
from neutrino.rpc.dhcp import DHCP_AGENT
from tests.fixtures.sim_agents import RpcRig, rpc_rig, wait_until
from tests.unit.rpc.dhcp_agents import SimDhcpAgent, dhcp_agents, dhcp_plugin
from tests.unit.rpc.scenarios import age_agent, make_network, make_port, port_status, up


@pytest.fixture
def rig(sqlite_url: str) -> Iterator[RpcRig]:
    # The failover check is driven by the tests (with ``now``), not by the thread.
    with rpc_rig(sqlite_url, "fake://", {"DEFAULT": {
            "allow_automatic_dhcp_failover": False}}) as r:
        yield r


@pytest.fixture
def three(rig: RpcRig) -> Iterator[list[SimDhcpAgent]]:
    agents = dhcp_agents(rig, 3)
    yield agents
    for agent in agents:
        agent.stop()


def sent(rig: RpcRig, method: str) -> int:
    return rig.rpc.caster.sent[(DHCP_AGENT, method)]


def hosting(rig: RpcRig, agents: list[SimDhcpAgent], net_id: str) -> list[SimDhcpAgent]:
    hosts = {h for h in dhcp_plugin(rig)._hosts(net_id)}
    return [a for a in agents if a.host in hosts]


def test_subnet_create_schedules_one_agent_and_tells_only_it(
        rig: RpcRig, three: list[SimDhcpAgent]) -> None:
    net = make_network(rig)
    [chosen] = hosting(rig, three, net["id"])
    [payload] = chosen.got("network_create_end")
    assert payload["payload"]["network"]["id"] == net["id"]
    assert sent(rig, "network_create_end") == 1
    assert all(not a.recorder.messages for a in three if a is not chosen)


def test_least_loaded_agent_is_chosen(rig: RpcRig, three: list[SimDhcpAgent]) -> None:
    nets = [make_network(rig, cidr=f"10.{i}.0.0/24") for i in range(1, 4)]
    owners = [hosting(rig, three, n["id"])[0].host for n in nets]
    assert sorted(owners) == sorted(a.host for a in three)  # one network each


def test_port_create_casts_once_to_the_hosting_agent(
        rig: RpcRig, three: list[SimDhcpAgent]) -> None:
    net = make_network(rig)
    [chosen] = hosting(rig, three, net["id"])
    before = sent(rig, "port_create_end")
    port = make_port(rig, net, "compute-1")
    [payload] = chosen.got("port_create_end")
    assert payload["payload"]["port"]["id"] == port["id"]
    assert sent(rig, "port_create_end") - before == 1
    with rig.api.http() as http:
        assert http.put(f"/v2.0/ports/{port['id']}", json={"port": {"name": "x"}}
                        ).status_code == 200
        assert http.put(f"/v2.0/ports/{port['id']}", json={"port": {
            "extra_dhcp_opts": [{"opt_name": "mtu", "opt_value": "1400"}]}}).status_code == 200
        assert http.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    chosen.got("port_delete_end")
    assert sent(rig, "port_update_end") == 1  # the rename is no news to DHCP
    [deleted] = chosen.recorder.of("port_delete_end")
    assert deleted["payload"] == {"port_id": port["id"], "network_id": net["id"],
                                  "fixed_ips": port["fixed_ips"]}
    assert all(not a.recorder.messages for a in three if a is not chosen)


def test_subnet_and_network_changes_reach_the_hosting_agent(
        rig: RpcRig, three: list[SimDhcpAgent]) -> None:
    net = make_network(rig)
    [chosen] = hosting(rig, three, net["id"])
    with rig.api.http() as http:
        sub = http.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4}}).json()["subnet"]
        http.put(f"/v2.0/subnets/{sub['id']}", json={"subnet": {"name": "s2"}})
        http.put(f"/v2.0/networks/{net['id']}", json={"network": {"name": "n2"}})
        http.delete(f"/v2.0/subnets/{sub['id']}")
        assert http.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    assert chosen.got("subnet_create_end")[0]["payload"]["subnet"]["id"] == sub["id"]
    assert chosen.got("subnet_update_end")[0]["payload"]["subnet"]["name"] == "s2"
    assert chosen.got("network_update_end")[0]["payload"]["network"]["name"] == "n2"
    assert chosen.got("subnet_delete_end")[0]["payload"] == {
        "subnet_id": sub["id"], "network_id": net["id"]}
    assert chosen.got("network_delete_end")[0]["payload"] == {"network_id": net["id"]}
    assert dhcp_plugin(rig).networks_of_host(chosen.host) == []
    assert all(not a.recorder.messages for a in three if a is not chosen)


def test_network_without_dhcp_is_not_scheduled(rig: RpcRig,
                                               three: list[SimDhcpAgent]) -> None:
    with rig.api.http() as http:
        net = http.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]
        http.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.3.0.0/24", "ip_version": 4,
            "enable_dhcp": False}})
    make_port(rig, net, "compute-1")
    assert hosting(rig, three, net["id"]) == []
    assert sum(rig.rpc.caster.sent[(DHCP_AGENT, m)] for m in
               ("network_create_end", "port_create_end", "subnet_create_end")) == 0


def test_port_create_reads_no_agents_while_none_exist_then_schedules_once_one_does(
        rig: RpcRig) -> None:
    """With no DHCP agent registered a port create skips the scheduling transaction
    (it could choose nobody); the first port created once an agent exists schedules."""
    net = make_network(rig)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    engines = {rig.api.server.db.engine, rig.api.server.db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        make_port(rig, net, "compute-1")
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    # The one agents question asked (with the network's hosts), and not the
    # scheduler's (agents with their load).
    assert [s for s in statements
            if "EXISTS (SELECT * FROM agents WHERE agents.agent_type = ?)" in s]
    assert not [s for s in statements if "FROM agents" in s and "count(*)" in s]
    assert not [s for s in statements if s.startswith("INSERT INTO networkdhcpagentbindings")]
    [agent] = dhcp_agents(rig, 1)
    try:
        make_port(rig, net, "compute-1")
        assert hosting(rig, [agent], net["id"]) == [agent]
        assert agent.got("network_create_end")[0]["payload"]["network"]["id"] == net["id"]
    finally:
        agent.stop()


def test_active_networks_info_schedules_on_first_sync_and_answers_the_contract(
        rig: RpcRig) -> None:
    net = make_network(rig)  # no DHCP agent yet: nobody to schedule to
    port = make_port(rig, net, "compute-1")
    [agent] = dhcp_agents(rig, 1)
    try:
        networks = agent.call("get_active_networks_info", host=agent.host,
                              enable_dhcp_filter=True)
        json.dumps(networks)
        [info] = networks
        assert info["id"] == net["id"] and info["non_local_subnets"] == []
        assert {"mtu", "admin_state_up", "project_id", "name"} <= set(info)
        [subnet] = info["subnets"]
        assert subnet["cidr"] == "10.1.0.0/24" and subnet["enable_dhcp"] is True
        assert {"gateway_ip", "dns_nameservers", "host_routes", "allocation_pools",
                "ipv6_address_mode", "ipv6_ra_mode"} <= set(subnet)
        [p] = [p for p in info["ports"] if p["id"] == port["id"]]
        assert {"fixed_ips", "mac_address", "device_owner", "device_id",
                "extra_dhcp_opts"} <= set(p)
        assert agent.call("get_network_info", network_id=net["id"], host=agent.host
                          )["id"] == net["id"]
        assert agent.call("get_network_info", network_id="nope", host=agent.host) is None
    finally:
        agent.stop()


def test_dhcp_port_create_update_release(rig: RpcRig) -> None:
    net = make_network(rig)
    [agent] = dhcp_agents(rig, 1)
    try:
        subnet_id = agent.call("get_network_info", network_id=net["id"],
                               host=agent.host)["subnets"][0]["id"]
        device_id = f"dhcp-some-uuid-{net['id']}"
        port = agent.call("create_dhcp_port", host=agent.host, port={"port": {
            "network_id": net["id"], "device_id": device_id, "tenant_id": net["project_id"],
            "fixed_ips": [{"subnet_id": subnet_id}]}})
        assert port["device_owner"] == "network:dhcp"
        assert port["binding:host_id"] == agent.host and port["device_id"] == device_id
        updated = agent.call("update_dhcp_port", port_id=port["id"], host=agent.host,
                             port={"port": {"fixed_ips": [{"subnet_id": subnet_id,
                                                           "ip_address": "10.1.0.50"}]}})
        assert [f["ip_address"] for f in updated["fixed_ips"]] == ["10.1.0.50"]
        agent.call("release_dhcp_port", network_id=net["id"], device_id=device_id,
                   host=agent.host)
        with rig.api.http() as http:
            assert http.get(f"/v2.0/ports/{port['id']}").status_code == 404
    finally:
        agent.stop()


# --- provisioning blocks -------------------------------------------------------------

def _served_port(rig: RpcRig, three: list[SimDhcpAgent]) -> tuple[Any, dict[str, Any]]:
    net = make_network(rig)
    ovs = rig.agent("compute-1", "192.0.2.1")
    port = make_port(rig, net, "compute-1")
    ovs.plugin_api.get_devices_details_list_and_failed_devices([port["id"]])
    return ovs, port


def test_port_waits_for_dhcp_after_l2(rig: RpcRig, three: list[SimDhcpAgent]) -> None:
    ovs, port = _served_port(rig, three)
    up(ovs, port)
    assert port_status(rig, port["id"]) == const.PORT_STATUS_BUILD
    three[0].call("dhcp_ready_on_ports", port_ids=[port["id"]])
    assert port_status(rig, port["id"]) == const.PORT_STATUS_ACTIVE


def test_port_waits_for_l2_after_dhcp(rig: RpcRig, three: list[SimDhcpAgent]) -> None:
    ovs, port = _served_port(rig, three)
    three[0].call("dhcp_ready_on_ports", port_ids=[port["id"]])
    assert port_status(rig, port["id"]) == const.PORT_STATUS_BUILD
    up(ovs, port)
    assert port_status(rig, port["id"]) == const.PORT_STATUS_ACTIVE


def test_network_owned_ports_and_dhcp_less_networks_do_not_wait(
        rig: RpcRig, three: list[SimDhcpAgent]) -> None:
    net = make_network(rig)
    ovs = rig.agent("compute-1", "192.0.2.1")
    with rig.api.http() as http:
        router_port = http.post("/v2.0/ports", json={"port": {
            "network_id": net["id"], "binding:host_id": "compute-1",
            "device_owner": "network:router_interface"}}).json()["port"]
        plain = http.post("/v2.0/networks", json={"network": {"name": "p"}}).json()["network"]
        http.post("/v2.0/subnets", json={"subnet": {
            "network_id": plain["id"], "cidr": "10.4.0.0/24", "ip_version": 4,
            "enable_dhcp": False}})
    other = make_port(rig, plain, "compute-1")
    up(ovs, router_port, other)
    assert port_status(rig, router_port["id"]) == const.PORT_STATUS_ACTIVE
    assert port_status(rig, other["id"]) == const.PORT_STATUS_ACTIVE


def test_readdressed_active_port_stays_active(rig: RpcRig,
                                              three: list[SimDhcpAgent]) -> None:
    ovs, port = _served_port(rig, three)
    up(ovs, port)
    three[0].call("dhcp_ready_on_ports", port_ids=[port["id"]])
    with rig.api.http() as http:
        sub = port["fixed_ips"][0]["subnet_id"]
        assert http.put(f"/v2.0/ports/{port['id']}", json={"port": {"fixed_ips": [
            {"subnet_id": sub, "ip_address": "10.1.0.77"}]}}).status_code == 200
    assert port_status(rig, port["id"]) == const.PORT_STATUS_ACTIVE
    three[0].call("dhcp_ready_on_ports", port_ids=[port["id"]])
    assert port_status(rig, port["id"]) == const.PORT_STATUS_ACTIVE


# --- failover ------------------------------------------------------------------------

def test_dead_agents_networks_move_to_alive_ones(rig: RpcRig,
                                                 three: list[SimDhcpAgent]) -> None:
    net = make_network(rig)
    [first] = hosting(rig, three, net["id"])
    plugin = dhcp_plugin(rig)
    assert plugin.reschedule_dead_agents(utcnow()) == {}  # everyone is alive
    age_agent(rig, first.host, seconds=rig.api.server.conf.agent_down_time + 5)
    moved = plugin.reschedule_dead_agents(utcnow())
    [new] = hosting(rig, three, net["id"])
    assert new is not first and moved == {net["id"]: [new.host]}
    assert new.got("network_create_end")[0]["payload"]["network"]["id"] == net["id"]
    assert plugin.reschedule_dead_agents(utcnow()) == {}  # converged


def test_nothing_moves_when_every_agent_is_down(rig: RpcRig,
                                               three: list[SimDhcpAgent]) -> None:
    net = make_network(rig)
    [first] = hosting(rig, three, net["id"])
    for agent in three:
        age_agent(rig, agent.host)
    assert dhcp_plugin(rig).reschedule_dead_agents(utcnow()) == {}
    assert hosting(rig, three, net["id"]) == [first]


def test_failover_thread_runs_the_check(sqlite_url: str) -> None:
    with rpc_rig(sqlite_url, "fake://", {"DEFAULT": {"agent_down_time": 2}}) as rig:
        agents = dhcp_agents(rig, 2)
        try:
            net = make_network(rig)
            [first] = hosting(rig, agents, net["id"])
            age_agent(rig, first.host)
            [other] = [a for a in agents if a is not first]

            def moved() -> bool:
                other.report()  # stay alive while the check runs
                return hosting(rig, agents, net["id"]) == [other]

            wait_until(moved, what="network moved by the periodic check")
        finally:
            for agent in agents:
                agent.stop()
