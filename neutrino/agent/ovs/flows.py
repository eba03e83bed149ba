"""Pure flow computation: :class:`AgentState` -> the exact flows of br-int, br-tun, br-<physnet>.

Follows Neutron's OVS agent pipeline (neutron-facts §2.1-2.3, §2.7): br-tun dispatch,
PATCH_LV_TO_TUN, <type>_TUN_TO_LV, LEARN_FROM_TUN, UCAST_TO_TUN, ARP_RESPONDER, FLOOD_TO_TUN;
br-int local VLAN translation, canary, ARP/ND/MAC/IP anti-spoofing, NORMAL; physical bridge
VLAN translation. Nothing here touches OVS; ``bridge.sync_flows`` applies the result.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType

from neutrino.agent.ovs import firewall
from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.flowtable import (
    Flow,
    dedupe,
    ip,
    mac,
    make_flow,
    set_tun_id,
    tun_id,
    vlan_vid,
)
from neutrino.agent.ovs.state import (
    FLAT,
    FLOODING_ENTRY,
    VLAN,
    AgentState,
    BridgeMapping,
    LocalPort,
    LocalVlan,
    PortInfo,
    is_ipv4,
)

UNICAST = "dl_dst=00:00:00:00:00:00/01:00:00:00:00:00"
MULTICAST = "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"
BROADCAST = "dl_dst=ff:ff:ff:ff:ff:ff"
UNTAGGED = "vlan_tci=0x0000/0x1fff"
PUSH_VLAN = "push_vlan:0x8100"
ICMPV6_NA = 136
DHCP_CLIENT = ("udp", "nw_src=0.0.0.0", "tp_src=68", "tp_dst=67")

# learn() as Neutron's br_tun writes it: the learnt flow matches the VLAN and the sender's
# MAC as destination, strips the VLAN, sets the tunnel key and outputs to the tunnel port
# it came in on. Learnt flows carry cookie 0 so a resync (by agent cookie) leaves them be.
LEARN_ACTION = (
    f"learn(table={p.BR_TUN.table(p.UCAST_TO_TUN).number},"
    f"hard_timeout={p.LEARN_HARD_TIMEOUT},"
    f"priority={p.BR_TUN.table(p.UCAST_TO_TUN).priority('learned')},"
    "NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],"
    "load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[])"
)


def compute_flows(state: AgentState, integration_bridge: str = "br-int",
                  tunnel_bridge: str = "br-tun") -> Mapping[str, frozenset[Flow]]:
    """Every flow each bridge must hold, keyed by bridge name.

    br-tun is included only when tunnelling is on (``state.patch_int_ofport`` set); each
    bridge mapping adds its physical bridge.
    """
    result = {integration_bridge: int_flows(state)}
    if state.patch_int_ofport is not None:
        result[tunnel_bridge] = tun_flows(state)
    for mapping in state.bridge_mappings:
        result[mapping.bridge] = phys_flows(state, mapping)
    return MappingProxyType(result)


def _table(pipeline: p.Pipeline, cookie: int, table: str) -> Callable[..., Flow]:
    """A flow factory bound to one table of one pipeline."""
    def flow(band: str, match: Iterable[str] = (), actions: Iterable[str] = (),
             goto: str | None = None) -> Flow:
        return make_flow(pipeline, table, band, match, actions, cookie, goto)
    return flow


# br-int ---------------------------------------------------------------------------------

def int_flows(state: AgentState) -> frozenset[Flow]:
    """br-int: LOCAL_SWITCHING, CANARY_TABLE, ARP_SPOOF_TABLE, MAC_SPOOF_TABLE, TRANSIENT;
    the firewall's tables too when ``state.firewall`` is set."""
    flows: list[Flow] = [*_int_defaults(state.cookie)]
    flows += _int_physnet_flows(state)
    for port in sorted(state.ports, key=lambda port: port.ofport):
        if port.port_security_enabled and port.ofport > 0:
            flows += _spoofing_flows(state.cookie, port)
    if state.firewall is not None:
        flows += firewall.firewall_flows(state.cookie, state.ports, state.firewall,
                                         allowed_pairs)
    return frozenset(dedupe(flows))


def _int_defaults(cookie: int) -> Iterator[Flow]:
    t0 = _table(p.BR_INT, cookie, p.LOCAL_SWITCHING)
    yield t0("dead_vlan", [f"dl_vlan={p.DEAD_VLAN_TAG}"], ["drop"])
    yield t0("default", goto=p.TRANSIENT_TABLE)
    yield _table(p.BR_INT, cookie, p.CANARY_TABLE)("canary", (), ["drop"])
    yield _table(p.BR_INT, cookie, p.ARP_SPOOF_TABLE)("default", (), ["drop"])
    yield _table(p.BR_INT, cookie, p.MAC_SPOOF_TABLE)("default", (), ["drop"])
    yield _table(p.BR_INT, cookie, p.TRANSIENT_TABLE)("normal", (), ["NORMAL"])


def _physnet_vlans(state: AgentState) -> Iterator[tuple[LocalVlan, BridgeMapping]]:
    for vlan in sorted(state.local_vlans.values(), key=lambda v: v.lvid):
        mapping = state.mapping(vlan.physical_network)
        if vlan.network_type in (FLAT, VLAN) and mapping is not None:
            yield vlan, mapping


def _int_physnet_flows(state: AgentState) -> Iterator[Flow]:
    """Frames from int-br-<physnet> get their local VLAN; anything else from it is dropped."""
    t0 = _table(p.BR_INT, state.cookie, p.LOCAL_SWITCHING)
    for mapping in state.bridge_mappings:
        yield t0("drop_port", [f"in_port={mapping.int_ofport}"], ["drop"])
    for vlan, mapping in _physnet_vlans(state):
        in_port = f"in_port={mapping.int_ofport}"
        if vlan.network_type == VLAN:
            yield t0("physnet_vlan", [in_port, f"dl_vlan={vlan.segmentation_id}"],
                     [vlan_vid(vlan.lvid)], goto=p.TRANSIENT_TABLE)
        else:
            yield t0("physnet_vlan", [in_port, UNTAGGED], [PUSH_VLAN, vlan_vid(vlan.lvid)],
                     goto=p.TRANSIENT_TABLE)


def link_local(mac_address: str) -> str:
    """The EUI-64 IPv6 link-local address a VM derives from ``mac_address``."""
    octets = [int(x, 16) for x in mac_address.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    suffix = int.from_bytes(bytes(eui), "big")
    return str(ipaddress.IPv6Address((0xFE80 << 112) | suffix))


def allowed_pairs(port: LocalPort) -> tuple[tuple[str, str], ...]:
    """(mac, ip) pairs a port may send from: fixed IPs, allowed address pairs, link-locals."""
    port_mac = mac(port.mac_address)
    pairs = {(port_mac, ip(a)) for a in port.fixed_ips}
    pairs |= {(mac(pair.mac_address or port_mac), ip(pair.ip_address))
              for pair in port.allowed_address_pairs}
    macs = {port_mac} | {m for m, _ in pairs}
    pairs |= {(m, link_local(m)) for m in macs}
    return tuple(sorted(pairs))


def _spoofing_flows(cookie: int, port: LocalPort) -> Iterator[Flow]:
    """Neutron's ARP/NA/MAC anti-spoofing, plus a source-IP check per allowed MAC."""
    in_port = f"in_port={port.ofport}"
    pairs = allowed_pairs(port)
    t0 = _table(p.BR_INT, cookie, p.LOCAL_SWITCHING)
    yield t0("spoof_arp", ["arp", in_port], goto=p.ARP_SPOOF_TABLE)
    yield t0("spoof_arp", ["icmp6", in_port, f"icmp_type={ICMPV6_NA}"],
             goto=p.ARP_SPOOF_TABLE)
    yield t0("spoof_mac", [in_port], goto=p.MAC_SPOOF_TABLE)
    yield from _arp_spoof_table(cookie, in_port, {address for _, address in pairs})
    yield from _mac_spoof_table(cookie, in_port, pairs)


def _arp_spoof_table(cookie: int, in_port: str, addresses: set[str]) -> Iterator[Flow]:
    t24 = _table(p.BR_INT, cookie, p.ARP_SPOOF_TABLE)
    for address in sorted(addresses):
        if is_ipv4(address):
            match = ["arp", in_port, f"arp_spa={address}"]
        else:
            match = ["icmp6", in_port, f"icmp_type={ICMPV6_NA}", f"nd_target={address}"]
        yield t24("allowed", match, goto=p.MAC_SPOOF_TABLE)


def _mac_spoof_table(cookie: int, in_port: str,
                     pairs: tuple[tuple[str, str], ...]) -> Iterator[Flow]:
    t25 = _table(p.BR_INT, cookie, p.MAC_SPOOF_TABLE)
    for port_mac in sorted({m for m, _ in pairs}):
        dl_src = f"dl_src={port_mac}"
        yield t25("dhcp_client", [in_port, dl_src, *DHCP_CLIENT], goto=p.TRANSIENT_TABLE)
        # IPv6 DAD and MLD reports are sent from the unspecified address
        yield t25("allowed_ip", ["icmp6", in_port, dl_src, "ipv6_src=::"],
                  goto=p.TRANSIENT_TABLE)
        yield t25("allowed_mac", [in_port, dl_src], goto=p.TRANSIENT_TABLE)
    for port_mac, address in pairs:
        src = f"nw_src={address}" if is_ipv4(address) else f"ipv6_src={address}"
        proto = "ip" if is_ipv4(address) else "ipv6"
        yield t25("allowed_ip", [proto, in_port, f"dl_src={port_mac}", src],
                  goto=p.TRANSIENT_TABLE)
    # IP from an allowed MAC but no allowed address must not reach the allowed_mac band
    yield t25("drop_ip", ["ip", in_port], ["drop"])
    yield t25("drop_ip", ["ipv6", in_port], ["drop"])


# br-tun ---------------------------------------------------------------------------------

def tun_flows(state: AgentState) -> frozenset[Flow]:
    """br-tun: dispatch, PATCH_LV_TO_TUN, *_TUN_TO_LV, LEARN_FROM_TUN, UCAST/ARP/FLOOD."""
    if state.patch_int_ofport is None:
        raise ValueError("br-tun flows need patch_int_ofport")
    flows: list[Flow] = []
    flows += _tun_dispatch(state)
    flows += _patch_lv_to_tun(state)
    flows += _tun_to_lv(state)
    flows.append(_table(p.BR_TUN, state.cookie, p.LEARN_FROM_TUN)(
        "learn", (), [LEARN_ACTION, f"output:{state.patch_int_ofport}"]))
    flows += _ucast_to_tun(state)
    flows += _arp_responder(state)
    flows += _flood_to_tun(state)
    return frozenset(dedupe(flows))


def _tun_dispatch(state: AgentState) -> Iterator[Flow]:
    t0 = _table(p.BR_TUN, state.cookie, p.LOCAL_SWITCHING)
    yield t0("default", (), ["drop"])
    yield t0("in_port", [f"in_port={state.patch_int_ofport}"], goto=p.PATCH_LV_TO_TUN)
    for tunnel in sorted(state.tunnels, key=lambda t: t.ofport):
        if tunnel.tunnel_type in p.TUN_TABLE and tunnel.ofport > 0:
            yield t0("in_port", [f"in_port={tunnel.ofport}"],
                     goto=p.TUN_TABLE[tunnel.tunnel_type])


def _patch_lv_to_tun(state: AgentState) -> Iterator[Flow]:
    t2 = _table(p.BR_TUN, state.cookie, p.PATCH_LV_TO_TUN)
    if state.arp_responder:
        yield t2("arp_bcast", ["arp", BROADCAST], goto=p.ARP_RESPONDER)
    yield t2("by_dst", [UNICAST], goto=p.UCAST_TO_TUN)
    yield t2("by_dst", [MULTICAST], goto=p.FLOOD_TO_TUN)


def _tunnel_vlans(state: AgentState) -> Iterator[LocalVlan]:
    for vlan in sorted(state.local_vlans.values(), key=lambda v: v.lvid):
        if vlan.network_type in p.TUNNEL_TYPES and vlan.segmentation_id is not None:
            yield vlan


def _tun_to_lv(state: AgentState) -> Iterator[Flow]:
    for name in sorted(set(p.TUN_TABLE.values())):
        yield _table(p.BR_TUN, state.cookie, name)("default", (), ["drop"])
    for vlan in _tunnel_vlans(state):
        seg = vlan.segmentation_id or 0
        flow = _table(p.BR_TUN, state.cookie, p.TUN_TABLE[vlan.network_type])
        yield flow("segment", [tun_id(seg)], [PUSH_VLAN, vlan_vid(vlan.lvid)],
                   goto=p.LEARN_FROM_TUN)


def remote_entries(state: AgentState,
                   vlan: LocalVlan) -> Iterator[tuple[int, PortInfo]]:
    """(tunnel ofport, entry) for each l2pop entry of ``vlan``'s network we can reach."""
    remotes = state.fdb.get(vlan.network_id, {})
    for remote_ip in sorted(remotes):
        ofport = state.tunnel_ofport(vlan.network_type, remote_ip)
        if ofport is None or remote_ip == state.local_ip:
            continue
        for entry in sorted(remotes[remote_ip]):
            yield ofport, entry


def _ucast_to_tun(state: AgentState) -> Iterator[Flow]:
    t20 = _table(p.BR_TUN, state.cookie, p.UCAST_TO_TUN)
    yield t20("default", goto=p.FLOOD_TO_TUN)
    for vlan in _tunnel_vlans(state):
        for ofport, entry in remote_entries(state, vlan):
            if entry != FLOODING_ENTRY:
                yield t20("l2pop", [f"dl_vlan={vlan.lvid}", f"dl_dst={mac(entry.mac_address)}"],
                          ["pop_vlan", set_tun_id(vlan.segmentation_id or 0),
                           f"output:{ofport}"])


def arp_reply_actions(mac_address: str, ip_address: str) -> tuple[str, ...]:
    """Turn an ARP request for ``ip_address`` into the reply from ``mac_address``, to IN_PORT."""
    return (
        "set_field:2->arp_op",
        "move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]",
        "move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[]",
        f"set_field:{mac(mac_address)}->arp_sha",
        f"set_field:{ip(ip_address)}->arp_spa",
        "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]",
        f"set_field:{mac(mac_address)}->eth_src",
        "IN_PORT",
    )


def _arp_responder(state: AgentState) -> Iterator[Flow]:
    t21 = _table(p.BR_TUN, state.cookie, p.ARP_RESPONDER)
    yield t21("default", goto=p.FLOOD_TO_TUN)
    if not state.arp_responder:
        return
    for vlan in _tunnel_vlans(state):
        for _, entry in remote_entries(state, vlan):
            if entry != FLOODING_ENTRY and is_ipv4(entry.ip_address):
                match = ["arp", f"dl_vlan={vlan.lvid}", f"arp_tpa={ip(entry.ip_address)}"]
                yield t21("responder", match,
                          arp_reply_actions(entry.mac_address, entry.ip_address))


def flood_ofports(state: AgentState, vlan: LocalVlan) -> tuple[int, ...]:
    """Tunnel ofports that get ``vlan``'s broadcast/unknown traffic.

    With l2pop, only remotes that sent a FLOODING_ENTRY; without it, every tunnel port of
    the network's type.
    """
    if state.l2_population:
        ports = {ofport for ofport, entry in remote_entries(state, vlan)
                 if entry == FLOODING_ENTRY}
    else:
        ports = {t.ofport for t in state.tunnels
                 if t.tunnel_type == vlan.network_type and t.remote_ip != state.local_ip}
    return tuple(sorted(ports))


def _flood_to_tun(state: AgentState) -> Iterator[Flow]:
    t22 = _table(p.BR_TUN, state.cookie, p.FLOOD_TO_TUN)
    yield t22("default", (), ["drop"])
    for vlan in _tunnel_vlans(state):
        ofports = flood_ofports(state, vlan)
        if ofports:
            yield t22("flood", [f"dl_vlan={vlan.lvid}"],
                      ["pop_vlan", set_tun_id(vlan.segmentation_id or 0),
                       *(f"output:{ofport}" for ofport in ofports)])


# physical bridges -------------------------------------------------------------------------

def phys_flows(state: AgentState, mapping: BridgeMapping) -> frozenset[Flow]:
    """br-<physnet>: local VLAN -> provider VLAN (or untagged for flat) towards the wire."""
    t0 = _table(p.BR_PHYS, state.cookie, p.LOCAL_SWITCHING)
    in_port = f"in_port={mapping.phys_ofport}"
    flows = [t0("normal", (), ["NORMAL"]), t0("drop_port", [in_port], ["drop"])]
    for vlan, vlan_mapping in _physnet_vlans(state):
        if vlan_mapping != mapping:
            continue
        if vlan.network_type == VLAN:
            actions = [vlan_vid(vlan.segmentation_id or 0), "NORMAL"]
        else:
            actions = ["pop_vlan", "NORMAL"]
        flows.append(t0("provision", [in_port, f"dl_vlan={vlan.lvid}"], actions))
    return frozenset(dedupe(flows))
