"""Unit tests of the pure OVS flow computation (flows.py, flowtable.py, pipeline.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from neutrino.agent.ovs import flows
from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.flowtable import (
    Flow,
    FlowDiff,
    apply_diff,
    diff_flows,
    make_flow,
    parse_dump,
    parse_dump_line,
    split_actions,
)
from neutrino.agent.ovs.state import FLOODING_ENTRY, AgentState, LocalPort, PortInfo
from tests.unit.agent.ovs_samples import COOKIE, NET_GRE, NET_VXLAN, REMOTE_A, sample_state

GOLDEN = Path(__file__).parent / "golden"
PIPELINES = {"br-int": p.BR_INT, "br-tun": p.BR_TUN, "br-physnet1": p.BR_PHYS}


def _lines(flow_set: frozenset[Flow]) -> set[str]:
    return {flow.to_dump() for flow in flow_set}


def _table(flow_set: frozenset[Flow], name: str) -> list[Flow]:
    return sorted(f for f in flow_set if f.table == name)


# golden data: the dumps were taken from a real ovs-vswitchd holding these flows ----------

@pytest.mark.parametrize("bridge", sorted(PIPELINES))
def test_rendering_matches_ovs_dump_golden(bridge: str) -> None:
    golden = (GOLDEN / f"{bridge}.dump").read_text()
    computed = flows.compute_flows(sample_state())[bridge]
    assert _lines(computed) == {line.strip() for line in golden.splitlines() if line.strip()}


@pytest.mark.parametrize("bridge", sorted(PIPELINES))
def test_golden_dump_parses_back_to_computed_flows(bridge: str) -> None:
    golden = (GOLDEN / f"{bridge}.dump").read_text()
    assert parse_dump(golden, PIPELINES[bridge]) == flows.compute_flows(sample_state())[bridge]


def test_golden_strings_of_key_tun_flows() -> None:
    tun = _lines(flows.tun_flows(sample_state()))
    assert ("cookie=0x5eed, table=4, priority=1,tun_id=0x1389 actions=push_vlan:0x8100,"
            "set_field:4097->vlan_vid,goto_table:10") in tun
    assert ("cookie=0x5eed, table=22, priority=1,dl_vlan=1 actions=pop_vlan,"
            "set_field:0x1389->tun_id,output:2,output:3") in tun
    assert ("cookie=0x5eed, table=20, priority=2,dl_vlan=1,dl_dst=fa:16:3e:aa:00:01 "
            "actions=pop_vlan,set_field:0x1389->tun_id,output:2") in tun


# pipeline --------------------------------------------------------------------------------

def test_pipeline_numbers_match_neutron() -> None:
    expected_tun = {"LOCAL_SWITCHING": 0, "PATCH_LV_TO_TUN": 2, "GRE_TUN_TO_LV": 3,
                    "VXLAN_TUN_TO_LV": 4, "GENEVE_TUN_TO_LV": 6, "LEARN_FROM_TUN": 10,
                    "UCAST_TO_TUN": 20, "ARP_RESPONDER": 21, "FLOOD_TO_TUN": 22}
    assert {t.name: t.number for t in p.BR_TUN} == expected_tun
    expected_int = {"LOCAL_SWITCHING": 0, "CANARY_TABLE": 23, "ARP_SPOOF_TABLE": 24,
                    "MAC_SPOOF_TABLE": 25, "TRANSIENT_TABLE": 60}
    assert expected_int.items() <= {t.name: t.number for t in p.BR_INT}.items()


def test_every_goto_is_an_allowed_next_table() -> None:
    for bridge, flow_set in flows.compute_flows(sample_state()).items():
        pipeline = PIPELINES[bridge]
        for flow in flow_set:
            source = pipeline.by_number(flow.table_id)
            for action in flow.actions:
                if action.startswith("goto_table:"):
                    target = pipeline.by_number(int(action.split(":")[1]))
                    assert target.name in source.next_tables, flow.to_dump()


def test_make_flow_refuses_unknown_band_and_forbidden_goto() -> None:
    with pytest.raises(p.PipelineError):
        make_flow(p.BR_TUN, p.UCAST_TO_TUN, "nonsense", (), (), COOKIE)
    with pytest.raises(p.PipelineError):
        make_flow(p.BR_TUN, p.FLOOD_TO_TUN, "default", (), (), COOKIE, goto=p.UCAST_TO_TUN)


# determinism, idempotence, convergence -----------------------------------------------------

def test_computation_is_deterministic_and_order_independent() -> None:
    state = sample_state()
    shuffled = dataclasses.replace(state, ports=tuple(reversed(state.ports)),
                                   tunnels=tuple(reversed(state.tunnels)),
                                   bridge_mappings=tuple(reversed(state.bridge_mappings)))
    assert flows.compute_flows(state) == flows.compute_flows(sample_state())
    assert flows.compute_flows(shuffled) == flows.compute_flows(state)


def test_diff_apply_converges_and_reverts() -> None:
    before = flows.tun_flows(sample_state())
    after = flows.tun_flows(dataclasses.replace(sample_state(), arp_responder=False))
    table = apply_diff(frozenset(), diff_flows(before, frozenset()))
    assert table == before
    assert diff_flows(before, table).empty  # applying again changes nothing
    table = apply_diff(table, diff_flows(after, table))
    assert table == after
    table = apply_diff(table, diff_flows(before, table))
    assert table == before  # revert restores the same table


def test_changed_flow_is_replaced_in_place_not_deleted() -> None:
    old = make_flow(p.BR_TUN, p.FLOOD_TO_TUN, "flood", ["dl_vlan=1"], ["output:2"], COOKIE)
    new = dataclasses.replace(old, actions=("output:2", "output:3"))
    diff = diff_flows([new], [old])
    assert diff == FlowDiff(add=(new,), delete=())
    assert diff.bundle().startswith("add table=22,priority=1,cookie=0x5eed,dl_vlan=1,")


def test_bundle_adds_before_deletes() -> None:
    a = make_flow(p.BR_TUN, p.FLOOD_TO_TUN, "flood", ["dl_vlan=1"], ["output:2"], COOKIE)
    b = make_flow(p.BR_TUN, p.FLOOD_TO_TUN, "flood", ["dl_vlan=2"], ["output:2"], COOKIE)
    lines = diff_flows([b], [a]).bundle().splitlines()
    assert lines == [f"add {b.to_ofctl()}",
                     "delete_strict table=22,priority=1,cookie=0x5eed/-1,dl_vlan=1"]


def test_parse_round_trip_and_action_split() -> None:
    for flow in flows.tun_flows(sample_state()):
        assert parse_dump_line(" " + flow.to_dump(), p.BR_TUN) == flow
    assert split_actions("learn(a=1,b[]=c[]),output:1,resubmit(,10)") == (
        "learn(a=1,b[]=c[])", "output:1", "resubmit(,10)")
    stats = (" cookie=0x1, duration=1.5s, table=2, n_packets=3, n_bytes=4, idle_age=1, "
             "priority=1,arp,dl_dst=ff:ff:ff:ff:ff:ff actions=goto_table:21")
    flow = parse_dump_line(stats, p.BR_TUN)
    assert (flow.table, flow.priority, flow.match) == (
        p.PATCH_LV_TO_TUN, 1, ("arp", "dl_dst=ff:ff:ff:ff:ff:ff"))


# br-tun behaviour ------------------------------------------------------------------------------

def test_learn_from_tun_uses_neutron_learn_spec() -> None:
    (flow,) = _table(flows.tun_flows(sample_state()), p.LEARN_FROM_TUN)
    assert flow.actions[0].startswith("learn(table=20,hard_timeout=300,priority=1,")
    assert flow.actions[1] == "output:1"  # then on to br-int through patch-int


def test_flooding_entry_feeds_flood_to_tun_only() -> None:
    state = sample_state()
    flood = {f.match: f.actions for f in _table(flows.tun_flows(state), p.FLOOD_TO_TUN)}
    assert flood[("dl_vlan=1",)][-2:] == ("output:2", "output:3")
    ucast = [f for f in _table(flows.tun_flows(state), p.UCAST_TO_TUN)
             if "dl_dst=00:00:00:00:00:00" in f.match]
    assert not ucast


def test_without_l2pop_flood_goes_to_every_tunnel_of_the_type() -> None:
    state = dataclasses.replace(sample_state(), l2_population=False, fdb={})
    flood = {f.match: f.actions for f in _table(flows.tun_flows(state), p.FLOOD_TO_TUN)}
    assert flood[("dl_vlan=1",)][-2:] == ("output:2", "output:3")
    assert flood[("dl_vlan=4",)][-1:] == ("output:4",)


def test_arp_responder_off_removes_table_21_entries_and_table_2_redirect() -> None:
    tun = flows.tun_flows(sample_state(arp_responder=False))
    assert [f.priority for f in _table(tun, p.ARP_RESPONDER)] == [0]
    assert all("arp" not in f.match for f in _table(tun, p.PATCH_LV_TO_TUN))


def test_arp_responder_reply_actions_follow_neutron() -> None:
    actions = flows.arp_reply_actions("FA:16:3E:AA:00:01", "198.51.100.11")
    assert actions == (
        "set_field:2->arp_op", "move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]",
        "move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[]", "set_field:fa:16:3e:aa:00:01->arp_sha",
        "set_field:198.51.100.11->arp_spa", "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]",
        "set_field:fa:16:3e:aa:00:01->eth_src", "IN_PORT")


def test_entries_without_a_tunnel_port_are_skipped() -> None:
    state = dataclasses.replace(sample_state(), tunnels=())
    tun = flows.tun_flows(state)
    assert [f.priority for f in _table(tun, p.UCAST_TO_TUN)] == [0]
    assert [f.priority for f in _table(tun, p.FLOOD_TO_TUN)] == [0]


def test_local_ip_entries_never_become_flows() -> None:
    state = sample_state()
    assert "192.0.2.1" not in state.fdb[NET_VXLAN]
    tun = _lines(flows.tun_flows(state))
    assert not any("198.51.100.5," in line or "fa:16:3e:00:00:01" in line for line in tun)


def test_gre_network_uses_gre_table_and_gre_tunnel() -> None:
    state = sample_state()
    (seg,) = [f for f in _table(flows.tun_flows(state), p.GRE_TUN_TO_LV) if f.priority]
    assert seg.match == ("tun_id=0x4d",)
    assert state.fdb[NET_GRE][REMOTE_A] >= {FLOODING_ENTRY, PortInfo("fa:16:3e:aa:00:07",
                                                                      "203.0.113.7")}


def test_no_tunnelling_means_no_br_tun() -> None:
    state = dataclasses.replace(sample_state(), patch_int_ofport=None)
    assert "br-tun" not in flows.compute_flows(state)
    with pytest.raises(ValueError):
        flows.tun_flows(state)


# br-int behaviour --------------------------------------------------------------------------

def test_canary_and_normal_flows() -> None:
    int_flows = flows.int_flows(AgentState(cookie=1))
    assert [f.actions for f in _table(int_flows, p.CANARY_TABLE)] == [("drop",)]
    assert [f.actions for f in _table(int_flows, p.TRANSIENT_TABLE)] == [("NORMAL",)]


def test_port_security_off_gets_no_spoofing_flows() -> None:
    int_flows = flows.int_flows(sample_state())
    assert not [f for f in int_flows if "in_port=6" in f.match]


def test_spoofing_flows_cover_fixed_ips_pairs_and_dhcp() -> None:
    lines = _lines(flows.int_flows(sample_state()))
    expected = [
        "table=24, priority=2,arp,in_port=5,arp_spa=198.51.100.128/25 actions=goto_table:25",
        "table=24, priority=2,icmp6,in_port=5,icmp_type=136,nd_target=2001:db8::5 "
        "actions=goto_table:25",
        "table=25, priority=3,ip,in_port=5,dl_src=fa:16:3e:00:00:99,nw_src=198.51.100.200 "
        "actions=goto_table:60",
        "table=25, priority=4,udp,in_port=5,dl_src=fa:16:3e:00:00:01,nw_src=0.0.0.0,"
        "tp_src=68,tp_dst=67 actions=goto_table:60",
        "table=25, priority=2,ip,in_port=5 actions=drop",
    ]
    for line in expected:
        assert f"cookie=0x5eed, {line}" in lines


def test_link_local_is_eui64() -> None:
    assert flows.link_local("fa:16:3e:00:00:01") == "fe80::f816:3eff:fe00:1"


def test_physnet_translation_on_both_bridges() -> None:
    computed = flows.compute_flows(sample_state())
    int_lines, phys_lines = _lines(computed["br-int"]), _lines(computed["br-physnet1"])
    assert ("cookie=0x5eed, priority=3,in_port=7,dl_vlan=100 actions=set_field:4098->vlan_vid,"
            "goto_table:60") in int_lines
    assert ("cookie=0x5eed, priority=4,in_port=2,dl_vlan=2 actions=set_field:4196->vlan_vid,"
            "NORMAL") in phys_lines
    assert "cookie=0x5eed, priority=4,in_port=2,dl_vlan=3 actions=pop_vlan,NORMAL" in phys_lines


def test_invalid_ofport_is_ignored() -> None:
    port = LocalPort("p", ofport=-1, mac_address="fa:16:3e:00:00:10", lvid=1,
                     fixed_ips=("198.51.100.9",))
    state = AgentState(cookie=1, ports=(port,))
    assert flows.int_flows(state) == flows.int_flows(AgentState(cookie=1))
