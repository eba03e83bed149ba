"""Agent RPC scenarios, run on the in-process bus (unit) and on RabbitMQ (functional)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from neutrino.common import constants as const
from neutrino.db.models import Agent
from neutrino.rpc import topics
from tests.fixtures.sim_agents import RpcRig, SimAgent, wait_until


def make_network(rig: RpcRig, cidr: str = "10.1.0.0/24", **body: Any) -> dict[str, Any]:
    with rig.api.http() as http:
        net = http.post("/v2.0/networks", json={"network": {"name": "n", **body}})
        assert net.status_code == 201, net.text
        network = net.json()["network"]
        sub = http.post("/v2.0/subnets", json={"subnet": {
            "network_id": network["id"], "cidr": cidr, "ip_version": 4}})
        assert sub.status_code == 201, sub.text
    return network


def make_port(rig: RpcRig, network: dict[str, Any], host: str) -> dict[str, Any]:
    with rig.api.http() as http:
        resp = http.post("/v2.0/ports", json={"port": {"network_id": network["id"],
                                                       "binding:host_id": host}})
        assert resp.status_code == 201, resp.text
        return resp.json()["port"]


def port_status(rig: RpcRig, port_id: str) -> str:
    with rig.api.http() as http:
        return str(http.get(f"/v2.0/ports/{port_id}").json()["port"]["status"])


def age_agent(rig: RpcRig, host: str, seconds: int = 3600) -> None:
    """Make ``host``'s last heartbeat ``seconds`` old (the agent looks dead)."""
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=seconds)
    with rig.plugin.db.transaction() as session:
        session.execute(update(Agent).where(Agent.host == host)
                        .values(heartbeat_timestamp=old))


def l2pop_sent(rig: RpcRig, method: str) -> int:
    return rig.rpc.caster.sent[(topics.L2POPULATION_UPDATE, method)]


def wait_messages(agent: SimAgent, method: str, count: int) -> list[dict[str, Any]]:
    return wait_until(lambda: len(agent.recorder.of(method)) >= count and
                      agent.recorder.of(method), what=f"{count} {method} on {agent.host}")


def up(agent: SimAgent, *ports: dict[str, Any]) -> dict[str, Any]:
    reply = agent.plugin_api.update_device_list([p["id"] for p in ports], [])
    assert reply["failed_devices_up"] == []
    return reply


# --- scenarios ------------------------------------------------------------------------

def report_state_new_alive_revived(rig: RpcRig) -> None:
    agent = rig.agent("host-r", "10.0.0.9")  # start() saw 'new'
    assert agent.report() == const.AGENT_ALIVE
    age_agent(rig, "host-r")
    with rig.api.http() as http:
        agents = http.get("/v2.0/agents", params={"host": "host-r"}).json()["agents"]
        assert [a["alive"] for a in agents] == [False]
    assert agent.report() == const.AGENT_REVIVED
    assert agent.report() == const.AGENT_ALIVE


def device_up_down_and_l2pop_targets(rig: RpcRig) -> None:
    a, b = rig.agent("host-a", "10.0.0.1"), rig.agent("host-b", "10.0.0.2")
    c, d = rig.agent("host-c", "10.0.0.3"), rig.agent("host-d", "10.0.0.4")
    net1, net2 = make_network(rig), make_network(rig, "10.2.0.0/24")
    pa, pb = make_port(rig, net1, "host-a"), make_port(rig, net1, "host-b")
    pc = make_port(rig, net2, "host-c")
    assert pa["binding:vif_type"] == "ovs"

    details = a.plugin_api.get_devices_details_list_and_failed_devices([pa["id"]])
    (entry,) = details["devices"]
    assert entry["port_id"] == pa["id"] and entry["network_type"] == "vxlan"
    assert entry["segmentation_id"] == net1["provider:segmentation_id"]
    assert port_status(rig, pa["id"]) == const.PORT_STATUS_BUILD

    up(a, pa)  # the first port anywhere on net1: nobody to tell
    assert port_status(rig, pa["id"]) == const.PORT_STATUS_ACTIVE
    assert l2pop_sent(rig, "add_fdb_entries") == 0
    up(c, pc)  # alone on net2
    assert l2pop_sent(rig, "add_fdb_entries") == 0

    up(b, pb)  # b's first port on net1: full FDB to b, b's flood + entry to a
    full = wait_messages(b, "add_fdb_entries", 1)[0]["fdb_entries"][net1["id"]]
    assert full["ports"]["10.0.0.1"][0] == list(const.FLOODING_ENTRY)
    assert [pa["mac_address"], pa["fixed_ips"][0]["ip_address"]] in full["ports"]["10.0.0.1"]
    inc = wait_messages(a, "add_fdb_entries", 1)[0]["fdb_entries"][net1["id"]]
    assert inc["ports"] == {"10.0.0.2": [list(const.FLOODING_ENTRY),
                                         [pb["mac_address"], pb["fixed_ips"][0]["ip_address"]]]}
    assert l2pop_sent(rig, "add_fdb_entries") == 2

    pa2 = make_port(rig, net1, "host-a")
    up(a, pa2)  # second port of a: only b hears of it
    wait_messages(b, "add_fdb_entries", 2)
    assert l2pop_sent(rig, "add_fdb_entries") == 3
    assert c.recorder.of("add_fdb_entries") == [] and d.recorder.of("add_fdb_entries") == []

    down = a.plugin_api.update_device_list([], [pa2["id"]])
    assert down["devices_down"] == [{"device": pa2["id"], "exists": True}]
    assert port_status(rig, pa2["id"]) == const.PORT_STATUS_DOWN
    removed = wait_messages(b, "remove_fdb_entries", 1)[0]["fdb_entries"][net1["id"]]
    assert removed["ports"] == {"10.0.0.1": [[pa2["mac_address"],
                                              pa2["fixed_ips"][0]["ip_address"]]]}
    assert l2pop_sent(rig, "remove_fdb_entries") == 1

    with rig.api.http() as http:  # deleting a's last active port: flood entry goes too
        assert http.delete(f"/v2.0/ports/{pa['id']}").status_code == 204
    second = wait_messages(b, "remove_fdb_entries", 2)[1]["fdb_entries"][net1["id"]]
    assert list(const.FLOODING_ENTRY) in second["ports"]["10.0.0.1"]
    assert wait_messages(a, "port_delete", 1)[0] == {"port_id": pa["id"]}
    assert b.recorder.of("port_delete") == [] and c.recorder.of("remove_fdb_entries") == []
    assert d.recorder.messages == [m for m in d.recorder.messages if m[0] == "tunnel_update"]


def ip_change_and_port_update(rig: RpcRig) -> None:
    a, b = rig.agent("host-a", "10.0.0.1"), rig.agent("host-b", "10.0.0.2")
    net = make_network(rig)
    pa, pb = make_port(rig, net, "host-a"), make_port(rig, net, "host-b")
    up(a, pa)
    up(b, pb)
    with rig.api.http() as http:
        resp = http.put(f"/v2.0/ports/{pa['id']}", json={"port": {"fixed_ips": [
            {"subnet_id": pa["fixed_ips"][0]["subnet_id"], "ip_address": "10.1.0.200"}]}})
        assert resp.status_code == 200, resp.text
    change = wait_messages(b, "update_fdb_entries", 1)[0]["fdb_entries"]["chg_ip"]
    assert change[net["id"]]["10.0.0.1"] == {
        "before": [[pa["mac_address"], pa["fixed_ips"][0]["ip_address"]]],
        "after": [[pa["mac_address"], "10.1.0.200"]]}
    update = wait_messages(a, "port_update", 1)[0]
    assert update["port"]["id"] == pa["id"] and update["network_type"] == "vxlan"
    assert a.recorder.of("update_fdb_entries") == []
    assert b.recorder.of("port_update") == []


def unknown_and_unbound_devices(rig: RpcRig) -> None:
    a = rig.agent("host-a", "10.0.0.1")
    net = make_network(rig)
    elsewhere = make_port(rig, net, "host-z")  # no agent there: binding_failed
    assert elsewhere["binding:vif_type"] == "binding_failed"
    reply = a.plugin_api.get_devices_details_list_and_failed_devices(
        ["no-such-port", elsewhere["id"]])
    assert reply == {"devices": [{"device": "no-such-port"}, {"device": elsewhere["id"]}],
                     "failed_devices": []}
    assert a.plugin_api.update_device_down("no-such-port") == {"device": "no-such-port",
                                                                "exists": False}


def ports_by_vnic_type_and_host(rig: RpcRig) -> None:
    """What a restarted agent asks to find VIFs unplugged while it was down."""
    a = rig.agent("host-a", "10.0.0.1")
    net = make_network(rig)
    mine = make_port(rig, net, "host-a")
    make_port(rig, net, "host-z")
    assert [p["id"] for p in a.plugin_api.get_ports_by_vnic_type_and_host("normal")] == [
        mine["id"]]
    assert a.plugin_api.get_ports_by_vnic_type_and_host("direct") == []


def tunnel_sync_and_remap(rig: RpcRig) -> None:
    a, b = rig.agent("host-a", "10.0.0.1"), rig.agent("host-b", "10.0.0.2")
    reply = a.plugin_api.tunnel_sync("10.0.0.1", "vxlan")
    assert {(t["ip_address"], t["host"]) for t in reply["tunnels"]} == {
        ("10.0.0.1", "host-a"), ("10.0.0.2", "host-b")}
    before = rig.rpc.caster.sent[(topics.TUNNEL_UPDATE, "tunnel_update")]
    a.plugin_api.tunnel_sync("10.0.0.1", "vxlan")  # nothing new: no announcement
    assert rig.rpc.caster.sent[(topics.TUNNEL_UPDATE, "tunnel_update")] == before
    a.plugin_api.tunnel_sync("10.0.0.11", "vxlan")  # host-a moved to a new IP
    deleted = wait_messages(b, "tunnel_delete", 1)[0]
    assert deleted == {"tunnel_ip": "10.0.0.1", "tunnel_type": "vxlan"}
    wait_until(lambda: {"tunnel_ip": "10.0.0.11", "tunnel_type": "vxlan"}
               in b.recorder.of("tunnel_update"))


def agents_api(rig: RpcRig) -> None:
    rig.agent("host-a", "10.0.0.1")
    rig.agent("host-b", "10.0.0.2")
    age_agent(rig, "host-b")
    with rig.api.http() as http:
        listed = http.get("/v2.0/agents").json()["agents"]
        assert sorted(a["host"] for a in listed) == ["host-a", "host-b"]
        first = next(a for a in listed if a["host"] == "host-a")
        for key in ("agent_type", "binary", "host", "topic", "alive", "admin_state_up",
                    "configurations", "heartbeat_timestamp", "started_at", "created_at",
                    "description", "availability_zone"):
            assert key in first
        assert first["agent_type"] == const.AGENT_TYPE_OVS and first["alive"] is True
        assert first["configurations"]["tunneling_ip"] == "10.0.0.1"
        alive = http.get("/v2.0/agents", params={"alive": "true"}).json()["agents"]
        assert [a["host"] for a in alive] == ["host-a"]
        shown = http.get(f"/v2.0/agents/{first['id']}").json()["agent"]
        assert shown["id"] == first["id"]
        resp = http.put(f"/v2.0/agents/{first['id']}", json={"agent": {
            "admin_state_up": False, "description": "drained"}})
        assert resp.status_code == 200, resp.text
        assert resp.json()["agent"]["admin_state_up"] is False
        assert resp.json()["agent"]["description"] == "drained"
        bad = http.put(f"/v2.0/agents/{first['id']}", json={"agent": {"host": "x"}})
        assert bad.status_code == 400
        assert http.post("/v2.0/agents", json={"agent": {}}).status_code in (400, 405)
        assert http.get("/v2.0/agents/nope").status_code == 404
    with rig.api.http(project="p1") as user:
        assert user.get("/v2.0/agents").json()["agents"] == []
        assert user.get(f"/v2.0/agents/{first['id']}").status_code == 404
        assert user.delete(f"/v2.0/agents/{first['id']}").status_code == 404
    with rig.api.http() as http:
        assert http.delete(f"/v2.0/agents/{first['id']}").status_code == 204
        assert http.get(f"/v2.0/agents/{first['id']}").status_code == 404
        assert "agent" in [e["alias"] for e in http.get("/v2.0/extensions").json()["extensions"]]
    b = rig.agents[1]
    assert {"tunnel_ip": "10.0.0.1", "tunnel_type": "vxlan"} in wait_until(
        lambda: b.recorder.of("tunnel_delete"))


def binding_follows_agents(rig: RpcRig) -> None:
    rig.agent("host-t", "10.0.0.1")  # vxlan only
    rig.agent("host-v", "10.0.0.2", tunnel_types=(), bridge_mappings={"physnet1": "br-eth1"})
    vx = make_network(rig)
    vlan = make_network(rig, "10.3.0.0/24", **{"provider:network_type": "vlan",
                                               "provider:physical_network": "physnet1"})
    assert make_port(rig, vx, "host-t")["binding:vif_type"] == "ovs"
    assert make_port(rig, vx, "host-v")["binding:vif_type"] == "binding_failed"
    assert make_port(rig, vlan, "host-v")["binding:vif_type"] == "ovs"
    assert make_port(rig, vlan, "host-t")["binding:vif_type"] == "binding_failed"
    assert make_port(rig, vx, "host-nowhere")["binding:vif_type"] == "binding_failed"

    age_agent(rig, "host-t")  # dead agent: no binding
    dead = make_port(rig, vx, "host-t")
    assert dead["binding:vif_type"] == "binding_failed"
    assert rig.agents[0].report() == const.AGENT_REVIVED  # back: failed bindings retried
    with rig.api.http() as http:
        wait_until(lambda: http.get(f"/v2.0/ports/{dead['id']}").json()["port"][
            "binding:vif_type"] == "ovs", what="rebinding after revival")
        agent_id = http.get("/v2.0/agents", params={"host": "host-t"}).json()["agents"][0]["id"]
        http.put(f"/v2.0/agents/{agent_id}", json={"agent": {"admin_state_up": False}})
    assert make_port(rig, vx, "host-t")["binding:vif_type"] == "binding_failed"


def multi_segment_port_down(rig: RpcRig) -> None:
    """A port of a two-segment network goes: peers hear of it, though its binding
    (the only record of which segment it used) went with the same change."""
    a, b = rig.agent("host-a", "10.0.0.1"), rig.agent("host-b", "10.0.0.2")
    rig.agent("host-c", "10.0.0.3")
    net = make_network(rig, segments=[
        {"provider:network_type": "vxlan", "provider:segmentation_id": 1500},
        {"provider:network_type": "gre", "provider:segmentation_id": 700}])
    pa, pb = make_port(rig, net, "host-a"), make_port(rig, net, "host-b")
    pa2 = make_port(rig, net, "host-a")
    up(a, pa)
    up(b, pb)
    up(a, pa2)
    wait_messages(b, "add_fdb_entries", 2)

    def entry(port: dict[str, Any]) -> list[str]:
        return [port["mac_address"], port["fixed_ips"][0]["ip_address"]]

    with rig.api.http() as http:  # pa2 moves to host-c: b forgets it on host-a
        moved = http.put(f"/v2.0/ports/{pa2['id']}",
                         json={"port": {"binding:host_id": "host-c"}})
        assert moved.status_code == 200, moved.text
    removed = wait_messages(b, "remove_fdb_entries", 1)[0]["fdb_entries"][net["id"]]
    assert removed["segment_id"] == 1500 and removed["network_type"] == "vxlan"
    assert removed["ports"] == {"10.0.0.1": [entry(pa2)]}

    with rig.api.http() as http:  # pb (b's only port) goes: a drops it and b's flood
        assert http.delete(f"/v2.0/ports/{pb['id']}").status_code == 204
    removed = wait_messages(a, "remove_fdb_entries", 1)[0]["fdb_entries"][net["id"]]
    assert removed["segment_id"] == 1500
    assert removed["ports"] == {"10.0.0.2": [entry(pb), list(const.FLOODING_ENTRY)]}


def network_delete_targets_port_hosts(rig: RpcRig) -> None:
    """network_delete goes to the hosts of the ports deleted with the network only."""
    a, b = rig.agent("host-a", "10.0.0.1"), rig.agent("host-b", "10.0.0.2")
    sent = lambda: rig.rpc.caster.sent[(topics.NETWORK_DELETE, "network_delete")]  # noqa: E731
    empty = make_network(rig)
    with rig.api.http() as http:  # no ports: no agent has anything of it
        assert http.delete(f"/v2.0/networks/{empty['id']}").status_code == 204
    assert sent() == 0
    net = make_network(rig, "10.3.0.0/24")
    with rig.api.http() as http:
        dhcp = http.post("/v2.0/ports", json={"port": {
            "network_id": net["id"], "device_owner": "network:dhcp",
            "binding:host_id": "host-a"}})
        assert dhcp.status_code == 201, dhcp.text
        make_port(rig, make_network(rig, "10.4.0.0/24"), "host-b")  # b is busy elsewhere
        assert http.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    (notice,) = wait_messages(a, "network_delete", 1)
    assert notice["network_id"] == net["id"]
    assert wait_messages(a, "port_delete", 1)[0]["port_id"] == dhcp.json()["port"]["id"]
    assert sent() == 1 and b.recorder.of("network_delete") == []
