"""L2 population planning: who gets which FDB message (pure functions, no I/O)."""

from __future__ import annotations

from neutrino.db.l2pop import ActivePort, L2Agent
from neutrino.plugins.ml2.mechanisms import l2population as l2pop

NET = "net-1"
SEG = {"id": "seg", "network_type": "vxlan", "segmentation_id": 1001,
       "physical_network": None}
FLOOD = l2pop.FLOODING_ENTRY


def agent(host: str, ip: str, types: tuple[str, ...] = ("vxlan",),
          l2pop_on: bool = True) -> L2Agent:
    return L2Agent(host, ip, frozenset(types), l2pop_on, True)


AGENTS = {"a": agent("a", "10.0.0.1"), "b": agent("b", "10.0.0.2"),
          "c": agent("c", "10.0.0.3"), "g": agent("g", "10.0.0.7", ("gre",))}


def port(pid: str, host: str, mac: str, *ips: str) -> ActivePort:
    return ActivePort(pid, mac, host, tuple(ips))


def test_first_port_gets_full_fdb_and_peers_get_flood_plus_entries() -> None:
    others = [port("pb", "b", "fa:16:3e:00:00:02", "10.1.0.2"),
              port("pc", "c", "fa:16:3e:00:00:03", "10.1.0.3")]
    entries = [["fa:16:3e:00:00:01", "10.1.0.1"]]
    messages = l2pop.plan_port_up(NET, SEG, "a", entries, others, AGENTS, first=True,
                                  refresh=False)
    by_host = {h: (m, f) for h, m, f in messages}
    assert sorted(by_host) == ["a", "b", "c"]
    method, full = by_host["a"]
    assert method == "add_fdb_entries"
    assert full[NET]["ports"] == {"10.0.0.2": [FLOOD, ["fa:16:3e:00:00:02", "10.1.0.2"]],
                                  "10.0.0.3": [FLOOD, ["fa:16:3e:00:00:03", "10.1.0.3"]]}
    assert full[NET]["segment_id"] == 1001 and full[NET]["network_type"] == "vxlan"
    for peer in ("b", "c"):
        assert by_host[peer][1][NET]["ports"] == {"10.0.0.1": [FLOOD, *entries]}


def test_second_port_goes_only_to_peers_without_flood_entry() -> None:
    others = [port("pa", "a", "m1", "10.1.0.1"), port("pb", "b", "m2", "10.1.0.2")]
    messages = l2pop.plan_port_up(NET, SEG, "a", [["m3", "10.1.0.9"]], others, AGENTS,
                                  first=False, refresh=False)
    assert [(h, m) for h, m, _ in messages] == [("b", "add_fdb_entries")]
    assert messages[0][2][NET]["ports"] == {"10.0.0.1": [["m3", "10.1.0.9"]]}


def test_refresh_resends_full_fdb_to_the_agent_only() -> None:
    others = [port("pa", "a", "m1", "10.1.0.1"), port("pb", "b", "m2", "10.1.0.2")]
    messages = l2pop.plan_port_up(NET, SEG, "a", [], others, AGENTS, first=False,
                                  refresh=True)
    assert [(h, m) for h, m, _ in messages] == [("a", "add_fdb_entries")]


def test_hosts_without_a_serving_agent_are_left_out() -> None:
    others = [port("pg", "g", "m7", "10.1.0.7"), port("px", "x", "m8", "10.1.0.8")]
    messages = l2pop.plan_port_up(NET, SEG, "a", [["m1", "10.1.0.1"]], others, AGENTS,
                                  first=True, refresh=False)
    assert messages == []  # g serves only gre, x has no agent: no peers, nothing to send
    vlan = {**SEG, "network_type": "vlan"}
    assert l2pop.plan_port_up(NET, vlan, "a", [["m1", "10.1.0.1"]],
                              [port("pb", "b", "m2", "10.1.0.2")], AGENTS, True, False) == []


def test_last_port_down_removes_flood_entry() -> None:
    others = [port("pb", "b", "m2", "10.1.0.2")]
    messages = l2pop.plan_port_down(NET, SEG, "a", [["m1", "10.1.0.1"]], others, AGENTS)
    assert messages == [("b", "remove_fdb_entries",
                         {NET: {"segment_id": 1001, "network_type": "vxlan",
                                "ports": {"10.0.0.1": [["m1", "10.1.0.1"], FLOOD]}}})]


def test_port_down_with_others_left_keeps_flood_entry() -> None:
    others = [port("pa2", "a", "m9", "10.1.0.9"), port("pb", "b", "m2", "10.1.0.2")]
    messages = l2pop.plan_port_down(NET, SEG, "a", [["m1", "10.1.0.1"]], others, AGENTS)
    assert messages[0][2][NET]["ports"] == {"10.0.0.1": [["m1", "10.1.0.1"]]}


def test_ip_change_sends_chg_ip_to_peers() -> None:
    others = [port("pb", "b", "m2", "10.1.0.2"), port("pc", "c", "m3", "10.1.0.3")]
    messages = l2pop.plan_ip_change(NET, SEG, "a", "m1", ["10.1.0.1"], ["10.1.0.5"],
                                    others, AGENTS)
    assert [h for h, _, _ in messages] == ["b", "c"]
    assert messages[0][1] == "update_fdb_entries"
    assert messages[0][2] == {"chg_ip": {NET: {"10.0.0.1": {
        "before": [["m1", "10.1.0.1"]], "after": [["m1", "10.1.0.5"]]}}}}


def test_planning_is_deterministic() -> None:
    others = [port("pc", "c", "m3", "10.1.0.3"), port("pb", "b", "m2", "10.1.0.2")]
    first = l2pop.plan_port_up(NET, SEG, "a", [["m1", "10.1.0.1"]], others, AGENTS, True,
                               False)
    again = l2pop.plan_port_up(NET, SEG, "a", [["m1", "10.1.0.1"]], others[::-1], AGENTS,
                               True, False)
    assert first == again
