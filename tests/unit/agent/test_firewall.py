"""Unit tests of the pure security-group compiler (firewall.py) and its br-int flows."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.ovs import firewall as fw
from neutrino.agent.ovs import flows
from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.flowtable import Flow, apply_diff, diff_flows
from neutrino.agent.ovs.state import AddressPair, AgentState, LocalPort, LocalVlan

COOKIE = 0x5EED


def _rule(direction: str = "ingress", ethertype: str = "IPv4", protocol: Any = None,
          low: int | None = None, high: int | None = None, prefix: str | None = None,
          remote: str | None = None) -> dict[str, Any]:
    return {"id": f"r-{direction}-{protocol}-{low}-{remote}", "direction": direction,
            "ethertype": ethertype, "protocol": protocol, "port_range_min": low,
            "port_range_max": high, "remote_ip_prefix": prefix, "remote_group_id": remote}


EGRESS_ANY = [_rule("egress"), _rule("egress", "IPv6")]


def _info(devices: Mapping[str, list[str]], groups: Mapping[str, list[dict[str, Any]]],
          members: Mapping[str, list[str]], stateless: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "devices": {port: {"security_groups": sgs, "port_security_enabled": True}
                    for port, sgs in devices.items()},
        "security_groups": {sg: {"stateful": sg not in stateless, "rules": rules}
                            for sg, rules in groups.items()},
        "sg_member_ips": {sg: {"IPv4": [a for a in addrs if ":" not in a],
                               "IPv6": [a for a in addrs if ":" in a]}
                          for sg, addrs in members.items()},
    }


def _port(n: int, lvid: int = 1, **kwargs: Any) -> LocalPort:
    return LocalPort(f"port-{n}", ofport=n, mac_address=f"fa:16:3e:00:{n >> 8:02x}:{n & 255:02x}",
                     lvid=lvid, fixed_ips=(f"10.{lvid}.{n >> 8}.{n & 255}",), **kwargs)


def _state(ports: tuple[LocalPort, ...], info: Mapping[str, Any]) -> AgentState:
    vlans = {f"net-{port.lvid}": LocalVlan(f"net-{port.lvid}", "vxlan", port.lvid, port.lvid)
             for port in ports}
    return AgentState(cookie=COOKIE, local_vlans=vlans, ports=ports,
                      firewall=fw.firewall_state(info))


def _fw_flows(state: AgentState) -> list[Flow]:
    assert state.firewall is not None
    return fw.firewall_flows(state.cookie, state.ports, state.firewall, flows.allowed_pairs)


def _in(flow_set: frozenset[Flow] | list[Flow], table: str) -> list[Flow]:
    number = p.BR_INT.table(table).number
    return sorted(f for f in flow_set if f.table_id == number)


# port ranges, protocols, rule matches -----------------------------------------------------

def _covered(pairs: tuple[tuple[int, int], ...]) -> set[int]:
    return {port for value, mask in pairs for port in range(65536) if port & mask == value}


@pytest.mark.parametrize("low,high", [(1000, 1999), (22, 22), (0, 65535), (1, 65535),
                                      (8080, 8090), (32768, 61000)])
def test_port_range_masks_cover_exactly_the_range(low: int, high: int) -> None:
    pairs = fw.port_range_masks(low, high)
    assert _covered(pairs) == set(range(low, high + 1))
    values = [value for value, _ in pairs]
    assert len(values) == len(set(values))


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_port_range_masks_are_disjoint_and_few(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    pairs = fw.port_range_masks(low, high)
    sizes = [0x10000 - mask if mask else 0x10000 for _, mask in pairs]
    assert sum(sizes) == high - low + 1  # disjoint blocks exactly filling the range
    assert len(pairs) <= 30  # at most two blocks per bit


def test_port_range_matches_as_ovs_prints_them() -> None:
    assert fw.port_range_masks(1000, 1999)[:2] == ((1000, 0xFFF8), (1008, 0xFFF0))
    rule = fw.rule_from_dict(_rule(protocol="tcp", low=1000, high=1999))
    matches = fw.rule_matches(rule)
    assert matches[0] == ("tcp", "tp_dst=0x3e8/0xfff8")
    assert len(matches) == len(fw.port_range_masks(1000, 1999)) < 20
    assert fw.rule_matches(fw.rule_from_dict(_rule(protocol="udp", low=53, high=53))) == (
        ("udp", "tp_dst=53"),)
    everything = fw.rule_from_dict(_rule(protocol="tcp", low=0, high=65535))
    assert fw.rule_matches(everything) == (("tcp",),)


@pytest.mark.parametrize("protocol,ethertype,number", [
    ("tcp", "IPv4", 6), ("udp", "IPv6", 17), ("icmp", "IPv4", 1), ("icmp", "IPv6", 58),
    ("ipv6-icmp", "IPv6", 58), ("icmpv6", "IPv6", 58), ("sctp", "IPv4", 132),
    ("6", "IPv4", 6), ("1", "IPv6", 58), ("47", "IPv4", 47), ("gre", "IPv4", 47),
    ("any", "IPv4", None), (None, "IPv6", None), ("TCP", "IPv4", 6),
])
def test_protocol_normalisation(protocol: Any, ethertype: str, number: int | None) -> None:
    assert fw.normalise_protocol(protocol, ethertype) == number


@pytest.mark.parametrize("ethertype,protocol,match", [
    ("IPv4", None, ("ip",)), ("IPv6", None, ("ipv6",)), ("IPv4", 6, ("tcp",)),
    ("IPv6", 6, ("tcp6",)), ("IPv4", 17, ("udp",)), ("IPv6", 17, ("udp6",)),
    ("IPv4", 1, ("icmp",)), ("IPv6", 58, ("icmp6",)), ("IPv4", 132, ("sctp",)),
    ("IPv6", 132, ("sctp6",)), ("IPv4", 47, ("ip", "nw_proto=47")),
    ("IPv6", 47, ("ipv6", "nw_proto=47")),
])
def test_protocol_match(ethertype: str, protocol: int | None, match: tuple[str, ...]) -> None:
    assert fw.protocol_match(ethertype, protocol) == match


def test_rule_matches_prefix_icmp_and_direction() -> None:
    icmp = fw.rule_from_dict(_rule(protocol="icmp", low=8, high=0, prefix="192.0.2.0/24"))
    assert fw.rule_matches(icmp) == (("icmp", "nw_src=192.0.2.0/24", "icmp_type=8",
                                      "icmp_code=0"),)
    out6 = fw.rule_from_dict(_rule("egress", "IPv6", "tcp", 22, 22, "2001:db8::1/128"))
    assert fw.rule_matches(out6) == (("tcp6", "ipv6_dst=2001:db8::1", "tp_dst=22"),)
    for prefix, ethertype in (("0.0.0.0/0", "IPv4"), ("::/0", "IPv6")):
        anywhere = fw.rule_from_dict(_rule(ethertype=ethertype, protocol="udp", prefix=prefix))
        assert fw.rule_matches(anywhere) == ((fw.protocol_match(ethertype, 17)[0],),)
    type_only = fw.rule_from_dict(_rule(ethertype="IPv6", protocol="icmp", low=128))
    assert fw.rule_matches(type_only) == (("icmp6", "icmp_type=128"),)


# conjunction ids ---------------------------------------------------------------------------

KEYS = [("sg-a", "sg-r", "ingress", "IPv4", v) for v in ("new", "est")] + [
    ("sg-b", "sg-r", "egress", "IPv6", "stateless")]


def test_conj_ids_are_deterministic_and_stable_under_other_changes() -> None:
    ids = fw.conj_ids(KEYS)
    assert fw.conj_ids(reversed(KEYS)) == ids
    assert len(set(ids.values())) == len(KEYS)
    grown = fw.conj_ids([*KEYS, ("sg-z", "sg-y", "ingress", "IPv4", "new")])
    assert {k: grown[k] for k in KEYS} == ids  # unrelated keys never renumber others
    assert all(0 <= i < fw.CONJ_ID_SPACE for i in grown.values())


def test_conj_id_collisions_are_resolved_deterministically(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fw, "_conj_hash", lambda key: fw.CONJ_ID_SPACE - 1)
    ids = fw.conj_ids(KEYS)
    assert sorted(ids.values()) == [0, 1, fw.CONJ_ID_SPACE - 1]
    assert fw.conj_ids(reversed(KEYS)) == ids


# state from RPC replies --------------------------------------------------------------------

def test_firewall_state_merge_and_forget() -> None:
    info = _info({"p1": ["web"], "p2": ["db"]},
                 {"web": [_rule(protocol="tcp", low=80, high=80), _rule(remote="db")],
                  "db": [_rule(protocol="6", low=5432, high=5432, remote="web")]},
                 {"web": ["10.0.0.1", "2001:db8::1"], "db": ["10.0.0.2/32"]})
    state = fw.firewall_state(info)
    assert state.port_groups == {"p1": ("web",), "p2": ("db",)}
    assert state.groups["db"].rules[0].protocol == 6
    assert state.members["web"] == {"IPv4": {"10.0.0.1"}, "IPv6": {"2001:db8::1"}}
    assert state.members["db"]["IPv4"] == {"10.0.0.2"}
    assert fw.merge_info(state, info) == state  # replaying a reply changes nothing
    newer = fw.merge_info(state, _info({"p2": ["web"]}, {"web": EGRESS_ANY}, {}))
    assert newer.port_groups["p2"] == ("web",)
    assert "db" not in newer.groups
    assert set(newer.groups["web"].rules) == {fw.rule_from_dict(r) for r in EGRESS_ANY}
    assert newer.members == {}  # nobody names a remote group any more
    left = fw.forget_ports(state, ["p2"])
    assert set(left.groups) == {"web"} and set(left.members) == {"db"}
    assert fw.forget_ports(left, ["p1"]) == fw.FirewallState()


# the flows ---------------------------------------------------------------------------------

WEB = _info({"port-1": ["web"], "port-2": ["web", "ssh"], "port-3": ["closed"]},
            {"web": [*EGRESS_ANY, _rule(protocol="icmp", remote="web"),
                     _rule(ethertype="IPv6", remote="web")],
             "ssh": [_rule(protocol="tcp", low=22, high=22)],
             "closed": EGRESS_ANY},
            {"web": ["10.1.0.1", "10.1.0.2", "198.51.100.7", "2001:db8::1"]})


def _web_state() -> AgentState:
    ports = (_port(1), _port(2), _port(3), _port(4, port_security_enabled=False),
             _port(5, lvid=2))
    return _state(ports, WEB)


def test_firewall_off_leaves_br_int_as_before() -> None:
    state = _web_state()
    off = flows.int_flows(dataclasses.replace(state, firewall=None))
    assert not [f for f in off if f.table_id > p.BR_INT.table(p.TRANSIENT_TABLE).number]
    assert _in(off, p.TRANSIENT_TABLE) == [
        flows._table(p.BR_INT, COOKIE, p.TRANSIENT_TABLE)("normal", (), ["NORMAL"])]
    on = flows.int_flows(state)
    assert off < on  # the firewall only adds flows
    assert {f.table for f in on - off} >= {p.TRANSIENT_TABLE, p.BASE_EGRESS, p.RULES_INGRESS}


def test_every_firewall_flow_is_in_an_allowed_table_and_unique() -> None:
    computed = _fw_flows(_web_state())
    assert len({f.key for f in computed}) == len(computed)  # nothing silently overwritten
    for flow in computed:
        table = p.BR_INT.by_number(flow.table_id)
        assert table.name == flow.table
        for action in flow.actions:
            if action.startswith(("goto_table:", "ct(table=")):
                number = int(action.split(":")[1] if "goto" in action
                              else action[len("ct(table="):].split(",")[0])
                assert p.BR_INT.by_number(number).name in table.next_tables, flow.to_dump()


def test_flows_are_deterministic_and_order_independent() -> None:
    state = _web_state()
    shuffled = dataclasses.replace(state, ports=tuple(reversed(state.ports)))
    assert flows.int_flows(state) == flows.int_flows(_web_state())
    assert flows.int_flows(shuffled) == flows.int_flows(state)


def test_change_apply_again_and_revert_converge() -> None:
    before = flows.int_flows(_web_state())
    changed_info = _info({"port-1": ["web", "ssh"], "port-2": ["web"], "port-3": ["closed"]},
                         {"web": [*EGRESS_ANY, _rule(protocol="icmp", remote="web")],
                          "ssh": [_rule(protocol="tcp", low=22, high=23)],
                          "closed": EGRESS_ANY},
                         {"web": ["10.1.0.1", "10.1.0.9"]})
    state = _web_state()
    assert state.firewall is not None
    after_state = dataclasses.replace(
        state, firewall=fw.merge_info(state.firewall, changed_info))
    after = flows.int_flows(after_state)
    assert after != before
    assert after == flows.int_flows(_state(state.ports, changed_info))  # merge == fresh
    table = apply_diff(before, diff_flows(after, before))
    assert table == after
    assert diff_flows(after, table).empty
    assert apply_diff(table, diff_flows(before, table)) == before


def test_port_security_off_is_not_filtered() -> None:
    computed = _fw_flows(_web_state())
    port4 = [f for f in computed if "reg5=0x4" in f.match or "in_port=4" in f.match
             or "set_field:0x4->reg5" in f.actions]
    assert [f.table for f in port4] == [p.TRANSIENT_TABLE]
    assert port4[0].actions[-1] == f"goto_table:{p.BR_INT.table(p.ACCEPT_OR_INGRESS).number}"


def test_port_without_known_groups_gets_base_flows_only() -> None:
    state = _state((_port(1), _port(9)), WEB)  # port-9 is not in the reply
    computed = _fw_flows(state)
    port9 = [f for f in computed if "reg5=0x9" in f.match]
    assert {f.table for f in port9} == {p.BASE_EGRESS, p.BASE_INGRESS}
    ingress_ip = [f for f in port9 if f.table == p.BASE_INGRESS and f.match[0] == "ip"]
    assert ingress_ip[0].actions == ("ct(table=82,zone=NXM_NX_REG6[0..15])",)


def test_rule_flows_per_variant_and_dhcp_protection() -> None:
    computed = _fw_flows(_web_state())
    ssh = [f for f in _in(computed, p.RULES_INGRESS) if "tp_dst=22" in f.match]
    assert {(f.match, f.actions) for f in ssh} == {
        (("ct_state=+new-est", "tcp", "reg5=0x2", "tp_dst=22"),
         ("ct(commit,zone=NXM_NX_REG6[0..15])", "output:NXM_NX_REG5[]")),
        (("ct_state=+est-rel-rpl", "tcp", "reg5=0x2", "tp_dst=22"),
         ("output:NXM_NX_REG5[]",))}
    base_egress = _in(computed, p.BASE_EGRESS)
    server = [f for f in base_egress if "reg5=0x1" in f.match and "tp_src=67" in f.match]
    assert server and server[0].actions == ("goto_table:93",)


def test_stateless_group_rules_have_no_conntrack() -> None:
    info = _info({"port-1": ["open"]}, {"open": [_rule(protocol="udp", low=53, high=53),
                                                 _rule("egress")]}, {}, stateless=("open",))
    computed = _fw_flows(_state((_port(1),), info))
    mine = [f for f in computed if "reg5=0x1" in f.match]
    assert not [f for f in mine if any("ct(" in a for a in f.actions)]
    assert not [f for f in mine if any(m.startswith("ct_") for m in f.match)]
    dns = [f for f in mine if "tp_dst=53" in f.match]
    assert [f.actions for f in dns] == [("output:NXM_NX_REG5[]",)]


def test_conjunction_flows_grow_as_members_plus_rules() -> None:
    members = [f"10.{200 + i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(2000)]
    info = _info({f"port-{n}": ["app"] for n in range(1, 201)},
                 {"app": [*EGRESS_ANY, _rule(protocol="tcp", low=8000, high=8080,
                                             remote="clients")]},
                 {"clients": members})
    ports = tuple(_port(n) for n in range(1, 201))
    computed = _fw_flows(_state(ports, info))
    member_flows = [f for f in computed if any(m.startswith("nw_src=10.2") for m in f.match)]
    assert len(member_flows) == 2000  # each member once, carrying both ct variants
    assert member_flows[0].actions[0].startswith("conjunction(")
    assert len(member_flows[0].actions) == 2
    assert len(computed) < 2000 + 200 * 50 < 200 * 2000 // 30


def _member_flow(computed: list[Flow], address: str) -> Flow:
    (flow,) = [f for f in computed if f"nw_src={address}" in f.match]
    return flow


def test_address_in_two_remote_groups_keeps_the_other_group_when_leaving_one() -> None:
    """Neutron bug (29): leaving one group must not remove access through the other."""
    shared = "10.1.0.50"
    groups = {"a": [_rule(protocol="tcp", low=22, high=22, remote="ra")],
              "b": [_rule(protocol="tcp", low=80, high=80, remote="rb")]}
    ports = (_port(1), _port(2))
    both = _info({"port-1": ["a"], "port-2": ["b"]}, groups,
                 {"ra": [shared, "10.1.0.51"], "rb": [shared]})
    before = _fw_flows(_state(ports, both))
    flow = _member_flow(before, shared)
    assert len(flow.actions) == 4  # (ra, rb) x (new, est) on one flow
    left = _info({}, {}, {"ra": ["10.1.0.51"], "rb": [shared]})
    state = _state(ports, both)
    assert state.firewall is not None
    merged = dataclasses.replace(state, firewall=fw.merge_info(state.firewall, left))
    after = _fw_flows(merged)
    fresh = _fw_flows(_state(ports, _info({"port-1": ["a"], "port-2": ["b"]}, groups,
                                          {"ra": ["10.1.0.51"], "rb": [shared]})))
    assert frozenset(after) == frozenset(fresh)
    ids = fw.conj_ids([("b", "rb", "ingress", "IPv4", v) for v in ("est", "new")])
    assert set(_member_flow(after, shared).actions) == {
        f"conjunction({i},1/2)" for i in ids.values()}
    # the other group's dimension-2 and conj_id flows (port-2's tcp/80 via rb) are untouched
    kept = {f for f in before if "tp_dst=80" in f.match
            or any(m.startswith("conj_id=") and int(m[8:]) in ids.values() for m in f.match)}
    assert len(kept) == 4 and kept <= set(after)
    table = apply_diff(frozenset(before), diff_flows(after, before))
    assert table == frozenset(fresh)


def test_remote_group_without_members_accepts_nothing() -> None:
    info = _info({"port-1": ["a"]}, {"a": [_rule(protocol="icmp", remote="empty")]},
                 {"empty": []})
    computed = _fw_flows(_state((_port(1),), info))
    assert not [f for f in computed if any("conj" in x for x in (*f.match, *f.actions))]


def test_allowed_pair_mac_is_classified_for_ingress() -> None:
    port = _port(1, allowed_address_pairs=(AddressPair("10.1.0.99", "fa:16:3e:99:99:99"),))
    computed = _fw_flows(_state((port,), _info({"port-1": ["closed"]},
                                               {"closed": EGRESS_ANY}, {})))
    ingress = [f for f in _in(computed, p.TRANSIENT_TABLE) if f.priority == 90]
    assert {m for f in ingress for m in f.match if m.startswith("dl_dst")} == {
        "dl_dst=fa:16:3e:00:00:01", "dl_dst=fa:16:3e:99:99:99"}
    egress_ip = [f for f in _in(computed, p.BASE_EGRESS) if "dl_src=fa:16:3e:99:99:99" in f.match]
    assert [m for f in egress_ip for m in f.match if m.startswith("nw_src")] == [
        "nw_src=10.1.0.99"]
