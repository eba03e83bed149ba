"""Desired state of one OVS agent, as plain immutable values (input of ``flows.py``).

The agent loop fills these from device details, l2pop ``add_fdb_entries`` /
``remove_fdb_entries`` / ``update_fdb_entries`` messages and the tunnel ports it created;
``flows.compute_flows`` turns them into the flows every bridge must hold. The l2pop helpers
here are pure: they return a new FDB and never mutate their input, so replaying a message
twice leaves the same state.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from neutrino.agent.ovs.firewall import FirewallState


class PortInfo(NamedTuple):
    """One l2pop FDB entry: a MAC and an IP behind a remote tunnel endpoint."""

    mac_address: str
    ip_address: str


FLOODING_ENTRY = PortInfo("00:00:00:00:00:00", "0.0.0.0")

FLAT = "flat"
VLAN = "vlan"
LOCAL = "local"


@dataclass(frozen=True)
class LocalVlan:
    """A network as this agent wired it: its segment and its local VLAN id (lvid) on br-int."""

    network_id: str
    network_type: str
    lvid: int
    segmentation_id: int | None = None
    physical_network: str | None = None


@dataclass(frozen=True)
class AddressPair:
    """An allowed address pair; ``ip_address`` may be a CIDR, ``mac_address`` None = port MAC."""

    ip_address: str
    mac_address: str | None = None


@dataclass(frozen=True)
class LocalPort:
    """A VIF bound on this host: its br-int ofport, addresses and local VLAN."""

    port_id: str
    ofport: int
    mac_address: str
    lvid: int
    fixed_ips: tuple[str, ...] = ()
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    port_security_enabled: bool = True


@dataclass(frozen=True)
class TunnelPort:
    """A br-tun tunnel port towards ``remote_ip`` of ``tunnel_type`` (vxlan, gre, geneve)."""

    remote_ip: str
    tunnel_type: str
    ofport: int


@dataclass(frozen=True)
class BridgeMapping:
    """A physnet's bridge and the two ends of its patch: int-br-X on br-int, phy-br-X on it."""

    physical_network: str
    bridge: str
    int_ofport: int
    phys_ofport: int


FdbTable = Mapping[str, Mapping[str, frozenset[PortInfo]]]
"""network_id -> remote tunnel ip -> entries (FLOODING_ENTRY included)."""


@dataclass(frozen=True)
class AgentState:
    """Everything the flows of one agent depend on."""

    cookie: int
    local_ip: str | None = None
    arp_responder: bool = False
    l2_population: bool = True
    patch_int_ofport: int | None = None  # patch-int, on br-tun
    patch_tun_ofport: int | None = None  # patch-tun, on br-int
    local_vlans: Mapping[str, LocalVlan] = field(default_factory=dict)
    ports: tuple[LocalPort, ...] = ()
    fdb: FdbTable = field(default_factory=dict)
    tunnels: tuple[TunnelPort, ...] = ()
    bridge_mappings: tuple[BridgeMapping, ...] = ()
    # None: firewall off (firewall_driver noop or enable_security_group False), br-int's
    # TRANSIENT_TABLE is plain NORMAL; otherwise the security groups of the local ports.
    firewall: FirewallState | None = None

    def tunnel_ofport(self, tunnel_type: str, remote_ip: str) -> int | None:
        """The ofport of the tunnel of ``tunnel_type`` towards ``remote_ip``, if one exists."""
        for tunnel in self.tunnels:
            if tunnel.tunnel_type == tunnel_type and tunnel.remote_ip == remote_ip:
                return tunnel.ofport
        return None

    def mapping(self, physical_network: str | None) -> BridgeMapping | None:
        """The bridge mapping of ``physical_network``, if this agent has one."""
        for mapping in self.bridge_mappings:
            if mapping.physical_network == physical_network:
                return mapping
        return None


def is_ipv4(address: str) -> bool:
    """True for an IPv4 address or CIDR."""
    return ipaddress.ip_network(address, strict=False).version == 4


# l2pop FDB messages (neutron-facts §2.7) -------------------------------------------------

def _entries(raw: Iterable[Any]) -> frozenset[PortInfo]:
    return frozenset(PortInfo(str(mac), str(ip)) for mac, ip in raw)


def _freeze(fdb: Mapping[str, Mapping[str, Iterable[PortInfo]]]) -> FdbTable:
    return MappingProxyType({
        net: MappingProxyType({ip: frozenset(e) for ip, e in sorted(remotes.items()) if e})
        for net, remotes in sorted(fdb.items()) if any(remotes.values())
    })


def _thaw(fdb: FdbTable) -> dict[str, dict[str, set[PortInfo]]]:
    return {net: {ip: set(e) for ip, e in remotes.items()} for net, remotes in fdb.items()}


def add_fdb_entries(fdb: FdbTable, fdb_entries: Mapping[str, Any],
                    local_ip: str | None = None) -> FdbTable:
    """Return ``fdb`` plus an ``add_fdb_entries`` message; entries of ``local_ip`` are ignored.

    ``fdb_entries`` is ``{network_id: {'segment_id', 'network_type', 'ports':
    {tunnel_ip: [[mac, ip], ...]}}}`` as the l2population driver sends it.
    """
    table = _thaw(fdb)
    for network_id, values in fdb_entries.items():
        for remote_ip, raw in values.get("ports", {}).items():
            if remote_ip != local_ip:
                table.setdefault(network_id, {}).setdefault(remote_ip, set()).update(
                    _entries(raw))
    return _freeze(table)


def remove_fdb_entries(fdb: FdbTable, fdb_entries: Mapping[str, Any],
                       local_ip: str | None = None) -> FdbTable:
    """Return ``fdb`` minus a ``remove_fdb_entries`` message (same format as add)."""
    table = _thaw(fdb)
    for network_id, values in fdb_entries.items():
        for remote_ip, raw in values.get("ports", {}).items():
            if remote_ip != local_ip:
                table.get(network_id, {}).get(remote_ip, set()).difference_update(
                    _entries(raw))
    return _freeze(table)


def update_fdb_entries(fdb: FdbTable, fdb_entries: Mapping[str, Any],
                       local_ip: str | None = None) -> FdbTable:
    """Return ``fdb`` after an ``update_fdb_entries`` message's ``chg_ip`` part.

    ``{'chg_ip': {network_id: {tunnel_ip: {'before': [[mac, ip]], 'after': [[mac, ip]]}}}}``
    """
    table = _thaw(fdb)
    for network_id, remotes in fdb_entries.get("chg_ip", {}).items():
        for remote_ip, change in remotes.items():
            if remote_ip == local_ip:
                continue
            entries = table.setdefault(network_id, {}).setdefault(remote_ip, set())
            entries.difference_update(_entries(change.get("before") or ()))
            entries.update(_entries(change.get("after") or ()))
    return _freeze(table)


def remove_network(fdb: FdbTable, network_id: str) -> FdbTable:
    """Return ``fdb`` without anything of ``network_id`` (its last local port went away)."""
    return _freeze({net: remotes for net, remotes in fdb.items() if net != network_id})
