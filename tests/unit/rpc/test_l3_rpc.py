"""L3 on the server over a real RabbitMQ: scheduling, the agents' RPC, targeted casts.

Each test has a RabbitMQ virtual host of its own (``tests.fixtures.rabbit``). Simulated
L3 agents speak the agent side of the shared L3 contract directly over oslo.messaging
(calls on ``q-l3-plugin``, heartbeats on ``q-reports-plugin``) and record every cast
they receive on ``l3_agent.<host>``; a simulated OVS agent on each network node lets
ML2 bind the router ports there. Assertions are on what each agent receives, what
the server sent, and the API's view.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import oslo_messaging
import pytest

from neutrino.common import constants as const
from neutrino.db.base import utcnow
from neutrino.plugins.l3.plugin import Plugin
from neutrino.rpc import client, topics
from tests.fixtures.rabbit import rabbit_url  # noqa: F401 - a fixture
from tests.fixtures.sim_agents import Recorder, RpcRig, _handler, rpc_rig, wait_until
from tests.unit.rpc.scenarios import age_agent

pytestmark = pytest.mark.functional

L3_METHODS = ("routers_updated", "router_deleted", "router_added_to_agent",
              "router_removed_from_agent")
L3_CONFIG = {"DEFAULT": {"service_plugins": ["agents", "router"],
                         "allow_automatic_l3agent_failover": False}}


class L3Recorder(Recorder):
    """Records the L3 agent notifications."""


for _method in L3_METHODS:
    setattr(L3Recorder, _method, _handler(_method))


@dataclasses.dataclass
class SimL3Agent:
    """The agent side of the L3 contract, and nothing else."""

    transport: Any
    host: str
    zone: str = "nova"

    def __post_init__(self) -> None:
        self.recorder = L3Recorder()
        self.state_api = client.StateReportApi(self.transport, timeout=10)
        target = oslo_messaging.Target(topic=topics.L3PLUGIN, version="1.0")
        self.rpc = oslo_messaging.get_rpc_client(self.transport, target).prepare(timeout=10)
        self.server = oslo_messaging.get_rpc_server(
            self.transport, oslo_messaging.Target(topic=topics.L3_AGENT, server=self.host),
            [self.recorder], executor="threading")
        self.server.start()

    def report(self) -> str | None:
        return self.state_api.report_state({
            "binary": "neutron-l3-agent", "host": self.host, "topic": topics.L3_AGENT,
            "agent_type": const.AGENT_TYPE_L3, "start_flag": True,
            "availability_zone": self.zone,
            "configurations": {"agent_mode": "legacy", "interface_driver": "openvswitch",
                               "routers": 0, "ex_gw_ports": 0, "interfaces": 0,
                               "floating_ips": 0, "router_auto_schedule": True}})

    def call(self, method: str, **kwargs: Any) -> Any:
        return self.rpc.call({}, method, **kwargs)

    def got(self, method: str, count: int = 1) -> list[dict[str, Any]]:
        return wait_until(lambda: len(self.recorder.of(method)) >= count
                          and self.recorder.of(method), what=f"{method} on {self.host}")

    def stop(self) -> None:
        stop_all([self])


def stop_all(nodes: list[SimL3Agent]) -> None:
    """Stop the agents' consumers together (each stop waits for its poller)."""
    client.stop_servers([n.server for n in nodes])


@pytest.fixture
def rig(sqlite_url: str, rabbit_url: str) -> Iterator[RpcRig]:  # noqa: F811
    with rpc_rig(sqlite_url, rabbit_url, L3_CONFIG) as r:
        yield r


def network_nodes(rig: RpcRig, count: int) -> list[SimL3Agent]:
    """``count`` hosts, each with an OVS agent and an L3 agent that reported."""
    nodes = []
    for i in range(count):
        host = f"net-{i}-{uuid.uuid4().hex[:4]}"
        rig.agent(host, f"192.0.2.{i + 10}")
        node = SimL3Agent(rig.agent_transport, host)
        assert node.report() == const.AGENT_NEW
        nodes.append(node)
    return nodes


@pytest.fixture
def two(rig: RpcRig) -> Iterator[list[SimL3Agent]]:
    nodes = network_nodes(rig, 2)
    yield nodes
    stop_all(nodes)


def l3_plugin(rig: RpcRig) -> Plugin:
    return next(p for p in rig.api.server.service_plugins if isinstance(p, Plugin))


def hosting(rig: RpcRig, nodes: list[SimL3Agent], router_id: str) -> SimL3Agent:
    with rig.api.http() as http:
        [agent] = ok(http.get(f"/v2.0/routers/{router_id}/l3-agents"))["agents"]
    return next(n for n in nodes if n.host == agent["host"])


def ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def post(http: httpx.Client, collection: str, **body: Any) -> dict[str, Any]:
    member = collection[:-1]
    return dict(ok(http.post(f"/v2.0/{collection}", json={member: body}), 201)[member])


@dataclasses.dataclass
class Topology:
    """An external network, a private subnet behind a router, a VM port."""

    ext: dict[str, Any]
    ext_subnet: dict[str, Any]
    net: dict[str, Any]
    sub: dict[str, Any]
    router: dict[str, Any]
    vm: dict[str, Any]
    interface: dict[str, Any]


def topology(http: httpx.Client, cidr: str = "10.0.0.0/24",
             ext_cidr: str = "172.24.4.0/24") -> Topology:
    ext = post(http, "networks", name="public", **{"router:external": True})
    ext_subnet = post(http, "subnets", network_id=ext["id"], cidr=ext_cidr, ip_version=4)
    net = post(http, "networks", name="private")
    sub = post(http, "subnets", network_id=net["id"], cidr=cidr, ip_version=4,
               host_routes=[{"destination": "10.50.0.0/24", "nexthop": "10.0.0.254"}])
    router = post(http, "routers", name="r1",
                  external_gateway_info={"network_id": ext["id"]})
    interface = ok(http.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                            json={"subnet_id": sub["id"]}))
    vm = post(http, "ports", network_id=net["id"], device_owner="compute:nova",
              device_id="vm-1")
    return Topology(ext, ext_subnet, net, sub, router, vm, interface)


def sent(rig: RpcRig, method: str) -> int:
    return rig.rpc.caster.sent[(topics.L3_AGENT, method)]


# --- notifications --------------------------------------------------------------------

def test_every_router_change_reaches_only_the_hosting_agent(
        rig: RpcRig, two: list[SimL3Agent]) -> None:
    with rig.api.http() as http:
        router = post(http, "routers", name="r")
        chosen = hosting(rig, two, router["id"])
        [other] = [n for n in two if n is not chosen]
        assert chosen.got("router_added_to_agent")[0] == {"payload": [router["id"]]}
        expected = 0

        def updated() -> None:
            nonlocal expected
            expected += 1
            got = chosen.got("routers_updated", expected)
            assert got[-1] == {"routers": [router["id"]]}

        ok(http.put(f"/v2.0/routers/{router['id']}", json={"router": {"name": "r2"}}))
        updated()
        ext = post(http, "networks", **{"router:external": True})
        post(http, "subnets", network_id=ext["id"], cidr="172.24.4.0/24", ip_version=4)
        ok(http.put(f"/v2.0/routers/{router['id']}", json={"router": {
            "external_gateway_info": {"network_id": ext["id"]}}}))
        updated()
        net = post(http, "networks")
        sub = post(http, "subnets", network_id=net["id"], cidr="10.0.0.0/24", ip_version=4)
        ok(http.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                    json={"subnet_id": sub["id"]}))
        updated()
        ok(http.put(f"/v2.0/routers/{router['id']}/add_extraroutes", json={"router": {
            "routes": [{"destination": "10.9.0.0/24", "nexthop": "10.0.0.5"}]}}))
        updated()
        vm = post(http, "ports", network_id=net["id"])
        fip = post(http, "floatingips", floating_network_id=ext["id"], port_id=vm["id"])
        updated()
        ok(http.put(f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {
            "description": "no news for the agent"}}))
        ok(http.put(f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}}))
        updated()
        pf_fip = post(http, "floatingips", floating_network_id=ext["id"])
        pf = ok(http.post(f"/v2.0/floatingips/{pf_fip['id']}/port_forwardings", json={
            "port_forwarding": {"internal_port_id": vm["id"], "protocol": "tcp",
                                "internal_ip_address": vm["fixed_ips"][0]["ip_address"],
                                "internal_port": 22, "external_port": 2222}}), 201)
        updated()
        assert http.delete(f"/v2.0/floatingips/{pf_fip['id']}/port_forwardings/"
                           f"{pf['port_forwarding']['id']}").status_code == 204
        updated()
        assert http.delete(f"/v2.0/floatingips/{fip['id']}").status_code == 204
        assert http.delete(f"/v2.0/floatingips/{pf_fip['id']}").status_code == 204
        ok(http.put(f"/v2.0/routers/{router['id']}/remove_extraroutes", json={"router": {
            "routes": [{"destination": "10.9.0.0/24", "nexthop": "10.0.0.5"}]}}))
        updated()
        ok(http.put(f"/v2.0/routers/{router['id']}/remove_router_interface",
                    json={"subnet_id": sub["id"]}))
        updated()
        assert http.delete(f"/v2.0/routers/{router['id']}").status_code == 204
    assert chosen.got("router_deleted")[0] == {"router_id": router["id"]}
    assert sent(rig, "routers_updated") == expected
    assert other.recorder.messages == []


def test_moving_a_router_by_hand_tells_both_agents(rig: RpcRig,
                                                   two: list[SimL3Agent]) -> None:
    with rig.api.http() as http:
        router = post(http, "routers")
        first = hosting(rig, two, router["id"])
        [second] = [n for n in two if n is not first]
        agents = {a["host"]: a["id"] for a in ok(http.get(
            "/v2.0/agents", params={"agent_type": "L3 agent"}))["agents"]}
        assert http.delete(f"/v2.0/agents/{agents[first.host]}/l3-routers/"
                           f"{router['id']}").status_code == 204
        assert first.got("router_removed_from_agent")[0] == {
            "payload": {"router_id": router["id"]}}
        assert http.post(f"/v2.0/agents/{agents[second.host]}/l3-routers",
                         json={"router_id": router["id"]}).status_code == 201
    assert second.got("router_added_to_agent")[0] == {"payload": [router["id"]]}
    assert first.call("sync_routers", host=first.host) == []
    assert [r["id"] for r in second.call("sync_routers", host=second.host)] == [router["id"]]


# --- the agents' calls ----------------------------------------------------------------

def test_sync_routers_answers_the_contract_and_binds_the_ports(rig: RpcRig) -> None:
    [node] = network_nodes(rig, 1)
    try:
        with rig.api.http() as http:
            t = topology(http)
            ok(http.put(f"/v2.0/routers/{t.router['id']}/add_extraroutes", json={"router": {
                "routes": [{"destination": "10.9.0.0/24", "nexthop": "10.0.0.5"}]}}))
            fip = post(http, "floatingips", floating_network_id=t.ext["id"],
                       port_id=t.vm["id"])
            pf_fip = post(http, "floatingips", floating_network_id=t.ext["id"])
            pf = ok(http.post(f"/v2.0/floatingips/{pf_fip['id']}/port_forwardings", json={
                "port_forwarding": {"internal_port_id": t.vm["id"], "protocol": "udp",
                                    "internal_ip_address": t.vm["fixed_ips"][0]["ip_address"],
                                    "internal_port": 53, "external_port": 5353}}),
                201)["port_forwarding"]
            ports = {p["device_owner"]: p for p in ok(http.get(
                "/v2.0/ports", params={"device_id": t.router["id"]}))["ports"]}
            assert all(p["binding:host_id"] == "" for p in ports.values())

        [router] = node.call("sync_routers", host=node.host)
        assert set(router) == {
            "id", "name", "project_id", "tenant_id", "admin_state_up", "status",
            "distributed", "ha", "enable_snat", "routes", "external_gateway_info",
            "gw_port", "_interfaces", "_floatingips", "_port_forwardings"}
        assert router["id"] == t.router["id"] and router["name"] == "r1"
        assert (router["distributed"], router["ha"], router["enable_snat"]) == (
            False, False, True)
        assert router["admin_state_up"] is True
        assert router["routes"] == [{"destination": "10.9.0.0/24", "nexthop": "10.0.0.5"}]
        gateway = router["external_gateway_info"]
        assert gateway["network_id"] == t.ext["id"] and gateway["enable_snat"] is True
        gw = router["gw_port"]
        assert gw["id"] == ports["network:router_gateway"]["id"]
        assert gw["binding:host_id"] == node.host
        assert gw["mtu"] == t.ext["mtu"]
        [gw_ip] = gw["fixed_ips"]
        assert gw_ip["subnet_id"] == t.ext_subnet["id"] and gw_ip["prefixlen"] == 24
        assert gw["subnets"] == [{
            "id": t.ext_subnet["id"], "cidr": "172.24.4.0/24", "gateway_ip": "172.24.4.1",
            "ip_version": 4, "host_routes": []}]
        assert gateway["external_fixed_ips"] == [
            {"subnet_id": gw_ip["subnet_id"], "ip_address": gw_ip["ip_address"]}]
        [qr] = router["_interfaces"]
        assert qr["id"] == t.interface["port_id"]
        assert {"id", "network_id", "mac_address", "device_owner", "admin_state_up",
                "binding:host_id", "fixed_ips", "mtu", "subnets"} <= set(qr)
        assert qr["device_owner"] == "network:router_interface"
        assert qr["binding:host_id"] == node.host and qr["mtu"] == t.net["mtu"]
        assert qr["fixed_ips"] == [{"subnet_id": t.sub["id"], "ip_address": "10.0.0.1",
                                    "prefixlen": 24}]
        assert qr["subnets"] == [{
            "id": t.sub["id"], "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1",
            "ip_version": 4,
            "host_routes": [{"destination": "10.50.0.0/24", "nexthop": "10.0.0.254"}]}]
        assert router["_floatingips"] == [{
            "id": fip["id"], "floating_ip_address": fip["floating_ip_address"],
            "fixed_ip_address": t.vm["fixed_ips"][0]["ip_address"], "port_id": t.vm["id"],
            "router_id": t.router["id"], "status": "DOWN",
            "floating_network_id": t.ext["id"], "project_id": fip["project_id"]}]
        assert router["_port_forwardings"] == [{
            "id": pf["id"], "floatingip_id": pf_fip["id"],
            "floating_ip_address": pf_fip["floating_ip_address"],
            "internal_ip_address": t.vm["fixed_ips"][0]["ip_address"], "internal_port": 53,
            "external_port": 5353, "protocol": "udp", "internal_port_id": t.vm["id"]}]

        with rig.api.http() as http:  # ML2 bound the router ports on the node's OVS agent
            for port_id in (gw["id"], qr["id"]):
                shown = ok(http.get(f"/v2.0/ports/{port_id}"))["port"]
                assert shown["binding:host_id"] == node.host
                assert shown["binding:vif_type"] == "ovs"
        ovs = next(a for a in rig.agents if a.host == node.host)
        wait_until(lambda: {u["port"]["id"] for u in ovs.recorder.of("port_update")}
                   >= {gw["id"], qr["id"]}, what="port_update of the router ports")
        # Asked again: the same answer, and nothing is bound twice.
        before = len(ovs.recorder.of("port_update"))
        again = node.call("sync_routers", host=node.host, router_ids=[t.router["id"]])
        assert again == [router]
        assert len(ovs.recorder.of("port_update")) == before
    finally:
        node.stop()


def test_sync_routers_only_answers_for_the_hosts_own_routers(
        rig: RpcRig, two: list[SimL3Agent]) -> None:
    with rig.api.http() as http:
        first, second = post(http, "routers", name="a"), post(http, "routers", name="b")
        down = post(http, "routers", name="down")
        a = hosting(rig, two, first["id"])
        assert hosting(rig, two, second["id"]) is not a
        assert hosting(rig, two, down["id"]) is a
        ok(http.put(f"/v2.0/routers/{down['id']}", json={"router": {
            "admin_state_up": False}}))
    assert sorted(r["id"] for r in a.call("sync_routers", host=a.host)) == [first["id"]]
    assert a.call("sync_routers", host=a.host,
                  router_ids=[second["id"], "no-such-router", down["id"]]) == []
    assert a.call("get_router_ids", host=a.host) == sorted([first["id"], down["id"]])
    assert a.call("sync_routers", host="no-such-host") == []


def test_get_router_ids_takes_unhosted_routers(rig: RpcRig) -> None:
    with rig.api.http() as http:
        early = post(http, "routers", name="before any agent")
        assert ok(http.get(f"/v2.0/routers/{early['id']}/l3-agents"))["agents"] == []
    first, second = network_nodes(rig, 2)
    try:
        assert first.call("get_router_ids", host=first.host) == [early["id"]]
        assert second.call("get_router_ids", host=second.host) == []
        assert "router" in first.call("get_service_plugin_list")
    finally:
        stop_all([first, second])


def test_floating_ip_status_follows_the_agent(rig: RpcRig) -> None:
    [node] = network_nodes(rig, 1)
    try:
        with rig.api.http() as http:
            t = topology(http)
            fip = post(http, "floatingips", floating_network_id=t.ext["id"],
                       port_id=t.vm["id"])
            assert fip["status"] == "DOWN"

            def status() -> str:
                return str(ok(http.get(f"/v2.0/floatingips/{fip['id']}"))["floatingip"][
                    "status"])

            assert node.call("update_floatingip_statuses", router_id=t.router["id"],
                             fip_statuses={fip["id"]: "ACTIVE"}) is None
            assert status() == "ACTIVE"
            node.call("update_floatingip_statuses", router_id="another-router",
                      fip_statuses={fip["id"]: "ERROR"})
            node.call("update_floatingip_statuses", router_id=t.router["id"],
                      fip_statuses={fip["id"]: "BOGUS", "no-such-fip": "ACTIVE"})
            assert status() == "ACTIVE"
            ok(http.put(f"/v2.0/floatingips/{fip['id']}", json={"floatingip": {
                "port_id": None}}))
            assert status() == "DOWN"
            node.call("update_floatingip_statuses", router_id=t.router["id"],
                      fip_statuses={fip["id"]: "ACTIVE"})  # no longer on that router
            assert status() == "DOWN"
    finally:
        node.stop()


def test_failover_thread_moves_routers_of_a_dead_agent(sqlite_url: str,
                                                       rabbit_url: str) -> None:  # noqa: F811
    config = {"DEFAULT": {**L3_CONFIG["DEFAULT"], "allow_automatic_l3agent_failover": True,
                          "agent_down_time": 2}}
    with rpc_rig(sqlite_url, rabbit_url, config) as rig:
        nodes = network_nodes(rig, 2)
        try:
            with rig.api.http() as http:
                router = post(http, "routers")
            first = hosting(rig, nodes, router["id"])
            [other] = [n for n in nodes if n is not first]
            age_agent(rig, first.host)
            assert l3_plugin(rig).reschedule_dead_agents(utcnow()) in (
                {}, {router["id"]: other.host})  # the thread may have been first

            def moved() -> bool:
                other.report()  # stay alive while the check runs
                return hosting(rig, nodes, router["id"]) is other

            wait_until(moved, what="router moved off the dead agent")
            assert other.got("router_added_to_agent")[-1] == {"payload": [router["id"]]}
            assert first.got("router_removed_from_agent")[0] == {
                "payload": {"router_id": router["id"]}}
        finally:
            stop_all(nodes)
