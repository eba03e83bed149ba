"""The OVS agent keeps its firewall model in step with the server (fake server, in-memory OVS).

Three ports on one network: PORT_WEB and PORT_WEB2 in sg-web, PORT_DB in sg-db, whose
rules admit sg-web's members (remote_group_id). A fourth port, on another host, is in
sg-web too: its address is one of sg-web's members.
"""

from __future__ import annotations

from typing import Any

import pytest

from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.agent import OvsAgent
from neutrino.agent.ovs.firewall import FirewallState, firewall_state
from neutrino.agent.ovs.simulated import SimulatedHost, simulated_config
from tests.unit.agent.fake_server import FakePlugin, sg_rule, vxlan_details

LOCAL_IP = "192.0.2.1"
NET = "net-1"
PORT_WEB, PORT_WEB2, PORT_DB, REMOTE_WEB = "port-web", "port-web2", "port-db", "port-remote"
SG_WEB, SG_DB = "sg-web", "sg-db"


def web_group(*extra: dict[str, Any]) -> dict[str, Any]:
    return {"stateful": True, "rules": [sg_rule("egress"), sg_rule("egress", "IPv6"),
                                        sg_rule("ingress", protocol="tcp", port_range_min=80,
                                                port_range_max=80), *extra]}


@pytest.fixture
def plugin() -> FakePlugin:
    ports = {PORT_WEB: ("fa:16:3e:00:00:01", "10.0.0.1"),
             PORT_WEB2: ("fa:16:3e:00:00:02", "10.0.0.2"),
             PORT_DB: ("fa:16:3e:00:00:03", "10.0.0.3")}
    return FakePlugin(
        details={port: vxlan_details(port, NET, mac, ip) for port, (mac, ip) in ports.items()},
        port_groups={PORT_WEB: [SG_WEB], PORT_WEB2: [SG_WEB], PORT_DB: [SG_DB],
                     REMOTE_WEB: [SG_WEB]},
        port_ips={REMOTE_WEB: ["10.0.0.9"]},
        security_groups={
            SG_WEB: web_group(),
            SG_DB: {"stateful": True, "rules": [
                sg_rule("egress"),
                sg_rule("ingress", protocol="tcp", port_range_min=5432, port_range_max=5432,
                        remote_group_id=SG_WEB)]}})


@pytest.fixture
def host() -> SimulatedHost:
    return SimulatedHost("host-a")


def make_agent(host: SimulatedHost, plugin: FakePlugin, **overrides: Any) -> OvsAgent:
    overrides.setdefault("stale_flow_grace", 0.0)
    overrides.setdefault("retry_interval", 0.0)
    overrides.setdefault("firewall_driver", "openvswitch")
    return host.make_agent(simulated_config(host.name, LOCAL_IP, **overrides), plugin)


def plug_all(host: SimulatedHost, agent: OvsAgent) -> None:
    for index, port in enumerate((PORT_WEB, PORT_WEB2, PORT_DB)):
        host.plug(port, f"fa:16:3e:00:00:0{index + 1}")
    agent.run_until_idle()


def firewall(agent: OvsAgent) -> FirewallState:
    assert agent.firewall is not None
    return agent.firewall


def expected_firewall(plugin: FakePlugin, ports: list[str]) -> FirewallState:
    """What the server says about ``ports``, without recording the call."""
    state = firewall_state(plugin.security_group_info_for_devices(ports))
    plugin.sg_calls.pop()
    return state


def all_flows(host: SimulatedHost) -> dict[str, Any]:
    return {name: br.dump_flows() for name, br in host.bridges.items()}


def test_bound_ports_get_their_groups_in_one_call_before_their_flows(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    synced: list[Any] = []
    agent.listeners.append(lambda event, payload: synced.append(payload["state"])
                           if event == "flows_synced" else None)
    plug_all(host, agent)
    assert plugin.sg_calls == [[PORT_DB, PORT_WEB, PORT_WEB2]]
    assert firewall(agent) == expected_firewall(plugin, [PORT_DB, PORT_WEB, PORT_WEB2])
    assert firewall(agent).members[SG_WEB]["IPv4"] == frozenset(
        {"10.0.0.1", "10.0.0.2", "10.0.0.9"})
    # no flows were ever computed for a port whose groups were not known yet
    wired = [s for s in synced if s.ports]
    assert wired and all(port.port_id in s.firewall.port_groups
                         for s in wired for port in s.ports)


def test_a_large_round_makes_one_call_per_processing_step(host: SimulatedHost,
                                                          plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin, processing_step=2)
    plug_all(host, agent)
    assert plugin.sg_calls == [[PORT_DB, PORT_WEB], [PORT_WEB2]]
    assert set(firewall(agent).port_groups) == {PORT_DB, PORT_WEB, PORT_WEB2}


def test_rule_update_refetches_exactly_the_ports_of_the_group(host: SimulatedHost,
                                                              plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    before = firewall(agent)
    ssh = sg_rule("ingress", protocol="tcp", port_range_min=22, port_range_max=22,
                  remote_ip_prefix="203.0.113.0/24")
    plugin.security_groups[SG_WEB] = web_group(ssh)
    agent.notify("security_groups_rule_updated", security_groups=[SG_WEB])
    agent.run_until_idle()
    assert plugin.sg_calls[1:] == [[PORT_WEB, PORT_WEB2]]
    after = firewall(agent)
    assert after.groups[SG_DB] == before.groups[SG_DB]
    assert len(after.groups[SG_WEB].rules) == len(before.groups[SG_WEB].rules) + 1
    assert any(r.remote_ip_prefix == "203.0.113.0/24" for r in after.groups[SG_WEB].rules)


def test_rule_update_of_a_group_without_local_ports_fetches_nothing(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    flows = all_flows(host)
    agent.notify("security_groups_rule_updated", security_groups=["sg-elsewhere"])
    agent.run_until_idle()
    assert plugin.sg_calls == [[PORT_DB, PORT_WEB, PORT_WEB2]]
    assert all_flows(host) == flows


def test_member_update_refetches_the_ports_whose_rules_name_the_group(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    plugin.port_groups["port-remote2"] = [SG_WEB]  # a new web server on another host
    plugin.port_ips["port-remote2"] = ["10.0.0.10", "2001:db8::10"]
    agent.notify("security_groups_member_updated", security_groups=[SG_WEB])
    agent.run_until_idle()
    assert plugin.sg_calls[1:] == [[PORT_DB]]  # only sg-db admits sg-web's members
    members = firewall(agent).members[SG_WEB]
    assert "10.0.0.10" in members["IPv4"] and "2001:db8::10" in members["IPv6"]


def test_notifications_of_one_round_share_one_call(host: SimulatedHost,
                                                   plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    agent.notify("security_groups_rule_updated", security_groups=[SG_WEB])
    agent.notify("security_groups_member_updated", security_groups=[SG_WEB])
    agent.notify("security_groups_rule_updated", security_groups=[SG_DB])
    agent.run_until_idle()
    assert plugin.sg_calls[1:] == [[PORT_DB, PORT_WEB, PORT_WEB2]]


def test_replaying_a_notification_leaves_the_same_flows(host: SimulatedHost,
                                                        plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    plugin.security_groups[SG_WEB] = web_group(sg_rule("ingress", protocol="icmp"))
    agent.notify("security_groups_rule_updated", security_groups=[SG_WEB])
    agent.run_until_idle()
    once, state_once = all_flows(host), firewall(agent)
    for _ in range(2):
        agent.notify("security_groups_rule_updated", security_groups=[SG_WEB])
        agent.notify("security_groups_member_updated", security_groups=[SG_WEB])
        agent.run_until_idle()
    assert all_flows(host) == once and firewall(agent) == state_once


def test_rule_update_changes_the_flows_and_reverting_restores_them(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    original = all_flows(host)
    plugin.security_groups[SG_WEB] = web_group(sg_rule("ingress", protocol="udp",
                                                       port_range_min=53, port_range_max=53))
    agent.notify("security_groups_rule_updated", security_groups=[SG_WEB])
    agent.run_until_idle()
    assert all_flows(host) != original
    plugin.security_groups[SG_WEB] = web_group()
    agent.notify("security_groups_rule_updated", security_groups=[SG_WEB])
    agent.run_until_idle()
    assert all_flows(host) == original


def test_port_update_that_changes_groups_refetches_that_port(host: SimulatedHost,
                                                             plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    plugin.port_groups[PORT_WEB2] = [SG_WEB, SG_DB]
    agent.notify("port_update", port_id=PORT_WEB2)
    agent.run_until_idle()
    assert plugin.sg_calls[1:] == [[PORT_WEB2]]
    assert firewall(agent).port_groups[PORT_WEB2] == (SG_DB, SG_WEB)


def test_unplugged_and_deleted_ports_are_forgotten(host: SimulatedHost,
                                                   plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    host.unplug(PORT_DB)
    agent.run_until_idle()
    assert PORT_DB not in firewall(agent).port_groups
    assert SG_DB not in firewall(agent).groups
    assert SG_WEB not in firewall(agent).members  # only sg-db's rule named it
    agent.notify("port_delete", port_id=PORT_WEB)
    agent.run_until_idle()
    assert set(firewall(agent).port_groups) == {PORT_WEB2}
    assert len(plugin.sg_calls) == 1


def test_full_resync_rebuilds_the_firewall(host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    # changes the agent was never told about (a lost cast, a server restart)
    plugin.port_groups[PORT_WEB] = [SG_DB]
    plugin.security_groups[SG_DB]["rules"].append(sg_rule("ingress", protocol="icmp"))
    agent.resync("operator asked")
    agent.run_until_idle()
    assert firewall(agent) == expected_firewall(plugin, [PORT_DB, PORT_WEB, PORT_WEB2])
    assert plugin.sg_calls[1:] == [[PORT_DB, PORT_WEB, PORT_WEB2]]


def test_failed_fetch_fails_the_round_and_the_retry_wires_the_port(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    calls = plugin.security_group_info_for_devices
    failures = iter([True])

    def flaky(devices: list[str]) -> dict[str, Any]:
        if next(failures, False):
            raise RuntimeError("timed out")
        return calls(devices)

    plugin.security_group_info_for_devices = flaky  # type: ignore[method-assign]
    plug_all(host, agent)
    assert set(firewall(agent).port_groups) == {PORT_DB, PORT_WEB, PORT_WEB2}
    assert plugin.up == {PORT_DB, PORT_WEB, PORT_WEB2}


def test_firewall_off_fetches_nothing_and_keeps_transient_normal(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin, firewall_driver="noop")
    plug_all(host, agent)
    agent.notify("security_groups_rule_updated", security_groups=[SG_WEB])
    agent.run_until_idle()
    assert agent.firewall is None and plugin.sg_calls == []
    transient = host.int_br.dump_flows(table=p.TRANSIENT_TABLE)
    assert [(f.match, f.actions) for f in transient] == [((), ("NORMAL",))]


def test_firewall_on_sends_transient_traffic_of_a_port_through_the_firewall(
        host: SimulatedHost, plugin: FakePlugin) -> None:
    agent = make_agent(host, plugin)
    plug_all(host, agent)
    transient = host.int_br.dump_flows(table=p.TRANSIENT_TABLE)
    assert len(transient) > 1  # the firewall's classification beside the NORMAL default
