"""Two namespaced hosts, one VM each, VXLAN between them: the computed flows carry traffic.

The l2pop FDB is given by hand (as ``add_fdb_entries`` would deliver it); the flows are
computed by ``flows.compute_flows`` and installed by ``OvsBridge.sync_flows``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neutrino.agent.ovs import flows
from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.bridge import OvsBridge, close_ovsdb_api, ovsdb_api, tunnel_port_name
from neutrino.agent.ovs.state import (
    AgentState,
    LocalPort,
    LocalVlan,
    TunnelPort,
    add_fdb_entries,
)
from tests.fixtures import hosts

pytestmark = [
    pytest.mark.functional,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces and OVS"),
]

NET = "9d2f6c1e-0000-4000-8000-00000000beef"
VNI = 5001
COOKIE = 0xC0FFEE
PHANTOM = ("fa:16:3e:99:99:99", "198.51.100.99")  # an FDB entry with no VM behind it


@dataclass
class Side:
    """One host of the rig with its bridges, VM and ofports."""

    host: hosts.OvsHost
    ip: str
    lvid: int
    int_br: OvsBridge
    tun_br: OvsBridge
    vm: hosts.Vm
    patch_int: int = 0
    patch_tun: int = 0
    tunnel: int = 0


@pytest.fixture
def cleanup() -> Iterator[hosts.Cleanup]:
    with hosts.Cleanup() as stack:
        yield stack


def _side(cleanup: hosts.Cleanup, host: hosts.OvsHost, ip: str, lvid: int, n: int) -> Side:
    api = ovsdb_api(host.db)
    cleanup.add(close_ovsdb_api, api)
    kwargs: dict[str, Any] = {"datapath_type": "netdev", "rundir": str(host.rundir)}
    int_br = OvsBridge("br-int", api, p.BR_INT, **kwargs)
    tun_br = OvsBridge("br-tun", api, p.BR_TUN, **kwargs)
    int_br.ensure()
    tun_br.ensure()
    vm = hosts.create_vm(cleanup, host, f"port-{n}", f"fa:16:3e:00:00:0{n}",
                         f"198.51.100.{n}/24")
    side = Side(host=host, ip=ip, lvid=lvid, int_br=int_br, tun_br=tun_br, vm=vm)
    side.patch_tun = int_br.add_patch_port("patch-tun", "patch-int")
    side.patch_int = tun_br.add_patch_port("patch-int", "patch-tun")
    int_br.set_port_tag(vm.tap, lvid)
    return side


def _fdb_message(sides: list[Side], phantom_on: Side) -> dict[str, Any]:
    ports: dict[str, list[list[str]]] = {
        side.ip: [["00:00:00:00:00:00", "0.0.0.0"], [side.vm.mac, side.vm.ip]] for side in sides}
    ports[phantom_on.ip].append(list(PHANTOM))
    return {NET: {"segment_id": VNI, "network_type": "vxlan", "ports": ports}}


def _program(side: Side, peer: Side, fdb_message: dict[str, Any]) -> AgentState:
    ofport = hosts.ofport(side.host, side.vm.tap)
    state = AgentState(
        cookie=COOKIE, local_ip=side.ip, arp_responder=True,
        patch_int_ofport=side.patch_int, patch_tun_ofport=side.patch_tun,
        local_vlans={NET: LocalVlan(NET, "vxlan", side.lvid, VNI)},
        ports=(LocalPort(side.vm.port_id, ofport, side.vm.mac, side.lvid, (side.vm.ip,)),),
        fdb=add_fdb_entries({}, fdb_message, local_ip=side.ip),
        tunnels=(TunnelPort(peer.ip, "vxlan", side.tunnel),),
    )
    desired = flows.compute_flows(state)
    side.int_br.sync_flows(desired["br-int"], COOKIE)
    side.tun_br.sync_flows(desired["br-tun"], COOKIE)
    return state


@pytest.fixture
def rig(cleanup: hosts.Cleanup, tmp_path: Path) -> tuple[Side, Side]:
    host_a, host_b = hosts.create_host(cleanup, tmp_path), hosts.create_host(cleanup, tmp_path)
    underlay = hosts.create_underlay(cleanup, host_a, host_b)
    a = _side(cleanup, host_a, underlay.ip_a, lvid=1, n=1)
    b = _side(cleanup, host_b, underlay.ip_b, lvid=3, n=2)  # local VLANs differ per host
    for side, peer in ((a, b), (b, a)):
        side.tunnel = side.tun_br.add_tunnel_port(tunnel_port_name("vxlan", peer.ip), "vxlan",
                                                  peer.ip, side.ip)
    message = _fdb_message([a, b], phantom_on=b)
    _program(a, b, message)
    _program(b, a, message)
    return a, b


def _pings(vm: hosts.Vm, ip: str) -> bool:
    return vm.ping(ip, count=1, timeout_s=1)


def _responder_packets(side: Side, ip: str) -> int:
    out = side.host.ofctl("dump-flows", "br-tun", f"table=21,arp,arp_tpa={ip}")
    counts = [int(part.split("=")[1]) for line in out.splitlines()
              for part in line.replace(",", " ").split() if part.startswith("n_packets=")]
    return sum(counts)


def test_vms_on_two_hosts_ping_over_vxlan(rig: tuple[Side, Side]) -> None:
    a, b = rig
    hosts.wait_for(lambda: _pings(a.vm, b.vm.ip), timeout=30, what="VM ping over VXLAN")
    assert _pings(b.vm, a.vm.ip)
    # VM A's ARP for VM B was answered by host A's ARP_RESPONDER, not by VM B
    assert a.vm.neighbour(b.vm.ip) == b.vm.mac
    assert _responder_packets(a, b.vm.ip) >= 1
    # the l2pop unicast flow (table 20, priority 2, our cookie; learnt ones have 0) was used
    ucast = a.host.ofctl("dump-flows", "br-tun",
                         f"table=20,cookie={COOKIE:#x}/-1,dl_dst={b.vm.mac}")
    assert "priority=2" in ucast and "n_packets=0," not in ucast


def test_arp_responder_answers_for_an_entry_without_vm(rig: tuple[Side, Side]) -> None:
    a, _ = rig
    phantom_mac, phantom_ip = PHANTOM
    # nothing answers pings at that address, but its ARP request gets a local reply
    hosts.wait_for(lambda: (_pings(a.vm, phantom_ip) or True)
                   and a.vm.neighbour(phantom_ip) == phantom_mac,
                   timeout=20, what="ARP reply from the responder")
    assert _responder_packets(a, phantom_ip) >= 1


def test_ofproto_trace_shows_arp_reply_to_in_port(rig: tuple[Side, Side]) -> None:
    a, b = rig
    packet = (f"in_port={a.patch_int},dl_vlan={a.lvid},dl_src={a.vm.mac},"
              f"dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,arp_sha={a.vm.mac},"
              f"arp_spa={a.vm.ip},arp_tpa={b.vm.ip}")
    trace = a.host.appctl("ofproto/trace", "br-tun", packet)
    assert "\n21. arp,dl_vlan=1,arp_tpa=198.51.100.2, priority 1, cookie 0xc0ffee" in trace
    assert "IN_PORT" in trace
    final = trace.split("Final flow:")[1].splitlines()[0]
    assert "arp_op=2" in final and f"arp_sha={b.vm.mac}" in final


def test_spoofed_source_address_is_dropped(rig: tuple[Side, Side]) -> None:
    a, b = rig
    hosts.wait_for(lambda: _pings(a.vm, b.vm.ip), timeout=30, what="VM ping over VXLAN")
    b.vm.exec("ip", "addr", "add", "198.51.100.77/24", "dev", "eth0")
    # B's ARP reply for .77 leaves with arp_spa=.77, which ARP_SPOOF_TABLE drops
    assert not a.vm.ping("198.51.100.77", count=2, timeout_s=1)
    assert a.vm.neighbour("198.51.100.77") != b.vm.mac
