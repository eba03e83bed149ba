"""The OVS agent loop on in-memory bridges: binding, l2pop, tunnels, restarts, resync."""

from __future__ import annotations

from typing import Any

import pytest

from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.agent import OvsAgent, is_agent_cookie
from neutrino.agent.ovs.bridge import OvsStatus, tunnel_port_name, with_cookie
from neutrino.agent.ovs.simulated import SimulatedHost, simulated_config
from neutrino.agent.ovs.topology import TopologyConfig
from tests.unit.agent.fake_server import FakePlugin, FakeReports, vxlan_details

LOCAL_IP, REMOTE_IP, OTHER_IP = "192.0.2.1", "192.0.2.2", "192.0.2.3"
NET, NET2 = "net-1", "net-2"
PORT, PORT2 = "port-1", "port-2"
MAC, MAC2 = "fa:16:3e:00:00:01", "fa:16:3e:00:00:02"
REMOTE_MAC, REMOTE_VM_IP = "fa:16:3e:00:00:99", "198.51.100.99"


def fdb(net: str = NET, remote: str = REMOTE_IP, vni: int = 5001,
        entries: Any = None) -> dict[str, Any]:
    entries = entries or [["00:00:00:00:00:00", "0.0.0.0"], [REMOTE_MAC, REMOTE_VM_IP]]
    return {net: {"segment_id": vni, "network_type": "vxlan", "ports": {remote: entries}}}


@pytest.fixture
def plugin() -> FakePlugin:
    return FakePlugin(details={
        PORT: vxlan_details(PORT, NET, MAC, "198.51.100.1"),
        PORT2: vxlan_details(PORT2, NET2, MAC2, "198.51.100.2", vni=5002),
    })


@pytest.fixture
def host() -> SimulatedHost:
    return SimulatedHost("host-a")


def make_agent(host: SimulatedHost, plugin: FakePlugin, reports: FakeReports | None = None,
               **overrides: Any) -> OvsAgent:
    overrides.setdefault("stale_flow_grace", 0.0)
    overrides.setdefault("retry_interval", 0.0)
    return host.make_agent(simulated_config(host.name, LOCAL_IP, **overrides), plugin,
                           reports)


def tun_ports(host: SimulatedHost) -> list[str]:
    return [n for n in host.bridges["br-tun"].list_ports() if n != "patch-int"]


def behaviour(flows: Any) -> set[tuple[Any, Any]]:
    return {(f.key, f.actions) for f in flows}


def table_flows(host: SimulatedHost, bridge: str, table: str) -> set[str]:
    return {f.to_dump() for f in host.bridges[bridge].dump_flows(table=table)}


def test_plugged_vif_is_tagged_flowed_and_reported_up(host: SimulatedHost,
                                                      plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    vif = host.plug(PORT, MAC)
    agent.run_until_idle()
    lvid = agent.vlans.get(NET).lvid  # type: ignore[union-attr]
    assert host.int_br.get_port_tag(vif.name) == lvid
    assert plugin.up == {PORT}
    assert plugin.reports[0]["refresh_tunnels"] is True
    spoof = table_flows(host, "br-int", p.MAC_SPOOF_TABLE)
    assert any(f"in_port={vif.ofport},dl_src={MAC}" in f for f in spoof)
    assert any(f"tun_id={5001:#x}" in f for f in table_flows(host, "br-tun",
                                                                p.VXLAN_TUN_TO_LV))


def test_unbound_port_gets_dead_vlan_until_port_update(host: SimulatedHost,
                                                       plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    details = plugin.details.pop(PORT)
    vif = host.plug(PORT, MAC)
    agent.run_until_idle()
    assert host.int_br.get_port_tag(vif.name) == p.DEAD_VLAN_TAG
    assert plugin.up == set()
    plugin.details[PORT] = details
    agent.notify("port_update", port_id=PORT)
    agent.run_until_idle()
    assert host.int_br.get_port_tag(vif.name) == agent.vlans.get(NET).lvid  # type: ignore
    assert plugin.up == {PORT}


def test_fdb_creates_tunnel_and_flows_and_replay_is_idempotent(host: SimulatedHost,
                                                              plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    host.plug(PORT, MAC)
    agent.run_until_idle()
    agent.notify("add_fdb_entries", fdb_entries=fdb())
    agent.run_until_idle()
    assert tun_ports(host) == [tunnel_port_name("vxlan", REMOTE_IP)]
    before = host.bridges["br-tun"].dump_flows()
    assert any(REMOTE_MAC in f.to_dump() for f in before if f.table == p.UCAST_TO_TUN)
    assert any(f"arp_tpa={REMOTE_VM_IP}" in f.to_dump() for f in before
               if f.table == p.ARP_RESPONDER)
    agent.notify("add_fdb_entries", fdb_entries=fdb())
    agent.run_until_idle()
    assert host.bridges["br-tun"].dump_flows() == before


def test_fdb_for_a_network_without_local_ports_is_ignored(host: SimulatedHost,
                                                         plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    agent.run_until_idle()
    agent.notify("add_fdb_entries", fdb_entries=fdb(net="elsewhere"))
    agent.run_until_idle()
    assert tun_ports(host) == [] and agent.fdb == {}


def test_tunnel_deleted_when_last_shared_network_goes(host: SimulatedHost,
                                                      plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    host.plug(PORT, MAC)
    host.plug(PORT2, MAC2)
    agent.run_until_idle()
    agent.notify("add_fdb_entries", fdb_entries={**fdb(), **fdb(net=NET2, vni=5002)})
    agent.run_until_idle()
    name = tunnel_port_name("vxlan", REMOTE_IP)
    host.unplug(PORT)
    agent.run_until_idle()
    assert tun_ports(host) == [name]  # NET2 still shared with the remote
    assert plugin.port_status[PORT] == "DOWN"
    host.unplug(PORT2)
    agent.run_until_idle()
    assert tun_ports(host) == []
    tun_flows = host.bridges["br-tun"].dump_flows()
    assert not any(REMOTE_MAC in f.to_dump() for f in tun_flows)
    assert agent.vlans.all == {}


def test_remove_fdb_entries_deletes_the_tunnel(host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    host.plug(PORT, MAC)
    agent.run_until_idle()
    agent.notify("add_fdb_entries", fdb_entries=fdb())
    agent.run_until_idle()
    agent.notify("remove_fdb_entries", fdb_entries=fdb())
    agent.run_until_idle()
    assert tun_ports(host) == []


def test_ovs_restart_is_detected_and_flows_rebuilt(host: SimulatedHost,
                                                   plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    host.plug(PORT, MAC)
    agent.run_until_idle()
    agent.notify("add_fdb_entries", fdb_entries=fdb())
    agent.run_until_idle()
    expected = {name: br.dump_flows() for name, br in host.bridges.items()}
    host.restart_ovs()
    assert agent.check_ovs() == OvsStatus.RESTARTED
    agent.run_until_idle()
    assert {name: br.dump_flows() for name, br in host.bridges.items()} == expected
    assert agent.check_ovs() == OvsStatus.NORMAL


def test_port_up_syncs_from_the_last_pushed_flows_without_reading_the_switch(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    agent.run_until_idle()
    dumps = {name: br.dumps for name, br in host.bridges.items()}
    bundles = {name: br.bundles_applied for name, br in host.bridges.items()}
    host.plug(PORT, MAC)
    agent.run_until_idle()
    assert {name: br.dumps for name, br in host.bridges.items()} == dumps
    # one bundle on each bridge whose flows changed, none on the others
    changed = {name for name, br in host.bridges.items() if br.bundles_applied != bundles[name]}
    assert changed == {"br-int", "br-tun"}
    assert all(br.bundles_applied - bundles[name] == 1
               for name, br in host.bridges.items() if name in changed)


def test_resync_reads_the_switch_and_repairs_flows_removed_behind_its_back(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    host.plug(PORT, MAC)
    agent.run_until_idle()
    expected = host.int_br.dump_flows()
    victim = sorted(f for f in expected if is_agent_cookie(f.cookie))[0]
    host.int_br.flows = expected - {victim}  # an operator's del-flows
    agent.run_until_idle()
    assert victim not in host.int_br.dump_flows()  # no news: the agent trusts its record
    agent.resync("operator asked")
    agent.run_until_idle()
    assert host.int_br.dump_flows() == expected


def test_canary_verdict_queued_as_news_rebuilds_flows(host: SimulatedHost,
                                                      plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    host.plug(PORT, MAC)
    agent.run_until_idle()
    expected = {name: br.dump_flows() for name, br in host.bridges.items()}
    host.restart_ovs()
    agent.notify("ovs_status", status=OvsStatus.RESTARTED)  # what the canary thread sends
    agent.run_until_idle()
    assert {name: br.dump_flows() for name, br in host.bridges.items()} == expected


def test_agent_restart_keeps_old_flows_until_fdb_arrives(host: SimulatedHost,
                                                         plugin: FakePlugin) -> None:
    first = make_agent(host, plugin)
    host.plug(PORT, MAC)
    first.run_until_idle()
    first.notify("add_fdb_entries", fdb_entries=fdb())
    first.run_until_idle()
    old = {name: br.dump_flows() for name, br in host.bridges.items()}
    second = make_agent(host, plugin, stale_flow_grace=3600.0)
    host.replay_vifs()
    second.run_until_idle()
    # every old flow still forwards the same way (re-stamped with the new cookie or not)
    for name, flows in old.items():
        assert behaviour(flows) <= behaviour(host.bridges[name].dump_flows())
    assert tun_ports(host) == [tunnel_port_name("vxlan", REMOTE_IP)]
    second.notify("add_fdb_entries", fdb_entries=fdb())
    second.run_until_idle()
    for name, flows in old.items():
        now = host.bridges[name].dump_flows()
        assert now == with_cookie(flows, second.cookie)
        assert all(f.cookie == second.cookie for f in now if is_agent_cookie(f.cookie))


def test_vif_unplugged_while_agent_down_is_reported_down(host: SimulatedHost,
                                                         plugin: FakePlugin) -> None:
    first = make_agent(host, plugin)
    host.plug(PORT, MAC)
    first.run_until_idle()
    plugin.host_ports[host.name] = [PORT]
    host.unplug(PORT, notify=False)  # the agent is down
    second = make_agent(host, plugin)
    host.replay_vifs()
    second.run_until_idle()
    assert plugin.port_status[PORT] == "DOWN"
    assert not any(is_agent_cookie(f.cookie) and f.cookie != second.cookie
                   for br in host.bridges.values() for f in br.dump_flows())
    assert not any(f"dl_src={MAC}" in f.to_dump() for f in host.int_br.dump_flows())


def test_revived_heartbeat_triggers_full_resync(host: SimulatedHost, plugin: FakePlugin) -> None:
    reports = FakeReports()
    agent = make_agent(host, plugin, reports)
    host.plug(PORT, MAC)
    agent.run_until_idle()
    assert agent.report_state() == "new"
    assert "start_flag" not in agent.state_report()
    config = reports.states[0]["configurations"]
    assert config["tunneling_ip"] == LOCAL_IP and config["devices"] == 1
    assert config["l2_population"] and config["arp_responder_enabled"]
    reports.next_result = "revived"
    agent.report_state()
    agent.run_until_idle()
    assert plugin.reports[-1] == {"up": [PORT], "down": [], "refresh_tunnels": True}


def test_rpc_failure_then_full_resync(host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plugin.fail = True
    host.plug(PORT, MAC)
    assert agent.run_once(agent._drain(0)) is False
    plugin.fail = False
    agent.run_until_idle()
    assert plugin.up == {PORT}


def test_admin_down_port_is_dead_and_reported_down(host: SimulatedHost,
                                                   plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plugin.details[PORT]["admin_state_up"] = False
    vif = host.plug(PORT, MAC)
    agent.run_until_idle()
    assert host.int_br.get_port_tag(vif.name) == p.DEAD_VLAN_TAG
    assert plugin.port_status[PORT] == "DOWN"


def test_port_delete_drops_flows(host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    vif = host.plug(PORT, MAC)
    agent.run_until_idle()
    agent.notify("port_delete", port_id=PORT)
    agent.run_until_idle()
    assert not any(f"in_port={vif.ofport}" in f.to_dump() for f in host.int_br.dump_flows())
    assert host.int_br.get_port_tag(vif.name) == p.DEAD_VLAN_TAG


def test_without_l2pop_tunnels_follow_tunnel_sync(host: SimulatedHost,
                                                  plugin: FakePlugin) -> None:
    plugin.endpoints = [{"ip_address": REMOTE_IP, "host": "b"}]
    agent = make_agent(host, plugin, l2_population=False, arp_responder=False)
    agent.run_until_idle()
    assert tun_ports(host) == [tunnel_port_name("vxlan", REMOTE_IP)]
    agent.notify("tunnel_update", tunnel_ip=OTHER_IP, tunnel_type="vxlan")
    agent.run_until_idle()
    assert len(tun_ports(host)) == 2
    assert plugin.tunnel_syncs == [(LOCAL_IP, "vxlan")]


def test_vlan_network_needs_a_bridge_mapping(host: SimulatedHost, plugin: FakePlugin) -> None:
    plugin.details[PORT].update(network_type="vlan", segmentation_id=100,
                                physical_network="physnet1")
    topology = TopologyConfig(bridge_mappings={"physnet1": "br-phys1"})
    agent = make_agent(host, plugin, topology=topology)
    vif = host.plug(PORT, MAC)
    agent.run_until_idle()
    lvid = agent.vlans.get(NET).lvid  # type: ignore[union-attr]
    assert host.int_br.get_port_tag(vif.name) == lvid
    phys = {f.to_dump() for f in host.bridges["br-phys1"].dump_flows()}
    assert any(f"dl_vlan={lvid} actions=set_field:{100 | 0x1000}->vlan_vid" in f
               for f in phys)
    assert "br-tun" not in host.bridges
