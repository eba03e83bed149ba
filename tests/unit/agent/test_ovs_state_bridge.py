"""Unit tests of l2pop FDB handling (state.py), the in-memory bridge, sync and the canary."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.ovs import flows
from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.bridge import (
    InMemoryBridge,
    OvsBridge,
    OvsStatus,
    VifPort,
    check_canary,
    tunnel_port_name,
)
from neutrino.agent.ovs.flowtable import make_flow
from neutrino.agent.ovs.monitor import VifChange, bridge_vifs, diff_vifs
from neutrino.agent.ovs.state import (
    FLOODING_ENTRY,
    PortInfo,
    add_fdb_entries,
    remove_fdb_entries,
    remove_network,
    update_fdb_entries,
)
from tests.unit.agent.ovs_samples import (
    ADD_FDB,
    COOKIE,
    LOCAL_IP,
    NET_VXLAN,
    REMOTE_A,
    REMOTE_B,
    sample_state,
)

# l2pop FDB ---------------------------------------------------------------------------------


def test_add_fdb_entries_is_idempotent_and_ignores_local_ip() -> None:
    once = add_fdb_entries({}, ADD_FDB, local_ip=LOCAL_IP)
    assert add_fdb_entries(once, ADD_FDB, local_ip=LOCAL_IP) == once
    assert LOCAL_IP not in once[NET_VXLAN]
    assert FLOODING_ENTRY in once[NET_VXLAN][REMOTE_A]


def test_remove_fdb_entries_reverts_add() -> None:
    fdb = add_fdb_entries({}, ADD_FDB, local_ip=LOCAL_IP)
    assert remove_fdb_entries(fdb, ADD_FDB, local_ip=LOCAL_IP) == {}
    assert remove_fdb_entries(remove_fdb_entries(fdb, ADD_FDB), ADD_FDB) == {}


def test_update_fdb_entries_chg_ip() -> None:
    fdb = add_fdb_entries({}, ADD_FDB, local_ip=LOCAL_IP)
    msg = {"chg_ip": {NET_VXLAN: {REMOTE_B: {
        "before": [["fa:16:3e:bb:00:01", "198.51.100.21"]],
        "after": [["fa:16:3e:bb:00:01", "198.51.100.29"]]}}}}
    changed = update_fdb_entries(fdb, msg, local_ip=LOCAL_IP)
    entries = changed[NET_VXLAN][REMOTE_B]
    assert PortInfo("fa:16:3e:bb:00:01", "198.51.100.29") in entries
    assert PortInfo("fa:16:3e:bb:00:01", "198.51.100.21") not in entries
    assert update_fdb_entries(changed, msg, local_ip=LOCAL_IP) == changed


def test_remove_network_drops_only_that_network() -> None:
    fdb = add_fdb_entries({}, ADD_FDB, local_ip=LOCAL_IP)
    assert set(remove_network(fdb, NET_VXLAN)) == set(fdb) - {NET_VXLAN}


_macs = st.sampled_from([f"fa:16:3e:00:00:{i:02x}" for i in range(6)])
_ips = st.sampled_from([f"198.51.100.{i}" for i in range(1, 6)])
_remotes = st.sampled_from(["192.0.2.2", "192.0.2.3", LOCAL_IP])
_entries = st.lists(st.tuples(_macs, _ips), max_size=4)
_msg = st.dictionaries(_remotes, _entries, max_size=3).map(
    lambda ports: {NET_VXLAN: {"segment_id": 5001, "network_type": "vxlan",
                               "ports": {r: [list(e) for e in es] for r, es in ports.items()}}})


@given(first=_msg, second=_msg)
def test_fdb_add_remove_properties(first: dict, second: dict) -> None:
    base = add_fdb_entries({}, first, LOCAL_IP)
    both = add_fdb_entries(base, second, LOCAL_IP)
    assert add_fdb_entries(both, second, LOCAL_IP) == both
    assert remove_fdb_entries(add_fdb_entries({}, second, LOCAL_IP), second, LOCAL_IP) == {}
    assert all(LOCAL_IP not in remotes for remotes in both.values())


# in-memory bridge and sync_flows -------------------------------------------------------------

def _tun_bridge() -> InMemoryBridge:
    bridge = InMemoryBridge("br-tun", p.BR_TUN)
    bridge.ensure()
    return bridge


def test_sync_flows_apply_again_revert_converges() -> None:
    bridge = _tun_bridge()
    desired = flows.tun_flows(sample_state())
    first = bridge.sync_flows(desired, COOKIE)
    assert len(first.add) == len(desired) and not first.delete
    assert bridge.sync_flows(desired, COOKIE).empty
    other = flows.tun_flows(dataclasses.replace(sample_state(), fdb={}))
    bridge.sync_flows(other, COOKIE)
    assert bridge.dump_flows(cookie=COOKIE) == other
    bridge.sync_flows(desired, COOKIE)
    assert bridge.dump_flows(cookie=COOKIE) == desired
    assert bridge.bundles_applied == 3


def test_sync_flows_leaves_other_cookies_alone() -> None:
    bridge = _tun_bridge()
    learned = make_flow(p.BR_TUN, p.UCAST_TO_TUN, "learned",
                        ["dl_vlan=1", "dl_dst=fa:16:3e:12:34:56"], ["output:2"], cookie=0)
    bridge.add_foreign_flow(learned)
    bridge.sync_flows(flows.tun_flows(sample_state()), COOKIE)
    bridge.sync_flows(frozenset(), COOKIE)
    assert bridge.dump_flows() == {learned}


def test_sync_flows_refuses_flows_of_another_cookie() -> None:
    bridge = _tun_bridge()
    try:
        bridge.sync_flows(flows.tun_flows(sample_state()), COOKIE + 1)
    except ValueError:
        return
    raise AssertionError("foreign cookie accepted")


def test_canary_normal_restarted_dead() -> None:
    int_br = InMemoryBridge("br-int", p.BR_INT)
    int_br.ensure()
    int_br.sync_flows(flows.int_flows(sample_state()), COOKIE)
    assert check_canary(int_br) is OvsStatus.NORMAL
    int_br.restart()
    assert check_canary(int_br) is OvsStatus.RESTARTED
    int_br.destroy()
    assert check_canary(int_br) is OvsStatus.DEAD


def test_in_memory_ports_are_idempotent() -> None:
    bridge = _tun_bridge()
    name = tunnel_port_name("vxlan", REMOTE_A)
    first = bridge.add_tunnel_port(name, "vxlan", REMOTE_A, LOCAL_IP)
    assert bridge.add_tunnel_port(name, "vxlan", REMOTE_A, LOCAL_IP) == first
    bridge.add_vif("tap1", "port-1", "fa:16:3e:00:00:01")
    assert bridge.get_vif_ports() == [VifPort("tap1", "port-1", 2, "fa:16:3e:00:00:01",
                                              "active")]
    bridge.delete_port(name)
    bridge.delete_port(name)
    assert bridge.list_ports() == ["tap1"]


def test_tunnel_port_name_is_neutrons() -> None:
    assert tunnel_port_name("vxlan", "192.0.2.2") == "vxlan-c0000202"
    assert len(tunnel_port_name("geneve", "2001:db8::1")) <= 15


# the real adapter through an injected runner ---------------------------------------------------

class _FakeOfctl:
    """Stands in for ovs-ofctl: keeps a dump text and records the bundles it is sent."""

    def __init__(self, dump: str) -> None:
        self.dump = dump
        self.bundles: list[str] = []

    def __call__(self, argv: Sequence[str], stdin: str | None) -> str:
        if "dump-flows" in argv:
            return self.dump
        self.bundles.append(stdin or "")
        return ""


def test_ovs_bridge_sends_one_bundle_adds_first() -> None:
    stale = make_flow(p.BR_TUN, p.FLOOD_TO_TUN, "flood", ["dl_vlan=9"], ["output:9"], COOKIE)
    ofctl = _FakeOfctl(f" {stale.to_dump()}\n")
    bridge = OvsBridge("br-tun", api=None, pipeline=p.BR_TUN, runner=ofctl)
    desired = flows.tun_flows(sample_state())
    bridge.sync_flows(desired, COOKIE)
    (bundle,) = ofctl.bundles
    lines = bundle.splitlines()
    assert len(lines) == len(desired) + 1
    assert all(line.startswith("add ") for line in lines[:-1])
    assert lines[-1] == "delete_strict table=22,priority=1,cookie=0x5eed/-1,dl_vlan=9"


# VIF monitor snapshots ---------------------------------------------------------------------

def _bridge_row(name: str, *interfaces: SimpleNamespace) -> SimpleNamespace:
    ports = [SimpleNamespace(name=i.name, interfaces=[i]) for i in interfaces]
    return SimpleNamespace(name=name, ports=ports)


def _iface(name: str, port_id: str | None, ofport: int | None = None) -> SimpleNamespace:
    ids = {"iface-id": port_id, "attached-mac": "fa:16:3e:00:00:01"} if port_id else {}
    return SimpleNamespace(name=name, ofport=[ofport] if ofport else [], external_ids=ids)


def test_bridge_vifs_only_counts_vifs_on_the_integration_bridge() -> None:
    tables = [_bridge_row("br-int", _iface("tap1", "port-1", 7), _iface("patch-tun", None)),
              _bridge_row("br-tun", _iface("vxlan-c0000202", None)),
              _bridge_row("br-other", _iface("tap2", "port-2", 3))]
    vifs = bridge_vifs(tables, "br-int")
    assert list(vifs) == ["tap1"]
    assert (vifs["tap1"].port_id, vifs["tap1"].ofport) == ("port-1", 7)


def test_diff_vifs_added_updated_deleted_and_replayed() -> None:
    plugged = bridge_vifs([_bridge_row("br-int", _iface("tap1", "port-1"))], "br-int")
    with_ofport = bridge_vifs([_bridge_row("br-int", _iface("tap1", "port-1", 7))], "br-int")
    assert diff_vifs({}, plugged) == [(VifChange.ADDED, plugged["tap1"])]
    assert diff_vifs(plugged, with_ofport) == [(VifChange.UPDATED, with_ofport["tap1"])]
    assert diff_vifs(with_ofport, with_ofport) == []  # a replayed snapshot is no news
    assert diff_vifs(with_ofport, {}) == [(VifChange.DELETED, with_ofport["tap1"])]
    # the same interface now names another port: the old one went, a new one came
    other = bridge_vifs([_bridge_row("br-int", _iface("tap1", "port-9", 7))], "br-int")
    assert diff_vifs(with_ofport, other) == [(VifChange.DELETED, with_ofport["tap1"]),
                                             (VifChange.ADDED, other["tap1"])]
    # moved to another bridge: gone from br-int
    moved = bridge_vifs([_bridge_row("br-int"), _bridge_row("br-x", _iface("tap1", "port-1"))],
                        "br-int")
    assert diff_vifs(with_ofport, moved) == [(VifChange.DELETED, with_ofport["tap1"])]
