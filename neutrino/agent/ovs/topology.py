"""The agent's bridges and the ports between them: br-int, br-tun, br-<physnet>, tunnels.

:func:`setup_bridges` creates what is missing (it is also what runs again after an
ovs-vswitchd restart) and returns the ofports the flows need; :func:`plan_tunnels` is the
pure rule for which tunnel ports must exist; :class:`TunnelPorts` creates and deletes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from neutrino.agent.ovs import pipeline as p
from neutrino.agent.ovs.bridge import Bridge, tunnel_port_name
from neutrino.agent.ovs.state import BridgeMapping, FdbTable, LocalVlan, TunnelPort

BridgeFactory = Callable[[str, p.Pipeline], Bridge]
IFNAME_MAX = 15
DEFAULT_VXLAN_PORT = 4789


@dataclass(frozen=True)
class TopologyConfig:
    """The bridge-related part of the agent's configuration."""

    integration_bridge: str = "br-int"
    tunnel_bridge: str = "br-tun"
    int_peer_patch_port: str = "patch-tun"
    tun_peer_patch_port: str = "patch-int"
    local_ip: str | None = None
    tunnel_types: tuple[str, ...] = ()
    bridge_mappings: Mapping[str, str] = field(default_factory=dict)
    vxlan_udp_port: int = DEFAULT_VXLAN_PORT

    @property
    def tunnelling(self) -> bool:
        return bool(self.tunnel_types and self.local_ip)


@dataclass
class Bridges:
    """The bridges of one agent and the ofports of the patch ports between them."""

    int_br: Bridge
    tun_br: Bridge | None = None
    phys: dict[str, Bridge] = field(default_factory=dict)
    patch_tun_ofport: int | None = None
    patch_int_ofport: int | None = None
    mappings: tuple[BridgeMapping, ...] = ()

    def all(self) -> dict[str, Bridge]:
        """Bridge name -> bridge, br-int first."""
        result = {self.int_br.name: self.int_br}
        if self.tun_br is not None:
            result[self.tun_br.name] = self.tun_br
        result.update({br.name: br for br in self.phys.values()})
        return result


def _patch_name(prefix: str, bridge: str) -> str:
    return f"{prefix}{bridge}"[:IFNAME_MAX]


def setup_bridges(config: TopologyConfig, factory: BridgeFactory,
                  existing: Bridges | None = None) -> Bridges:
    """Create (or keep) every bridge and patch port; idempotent.

    ``existing`` reuses the bridge objects of a previous call (an OVS restart).
    """
    int_br = existing.int_br if existing else factory(config.integration_bridge, p.BR_INT)
    int_br.ensure()
    bridges = Bridges(int_br=int_br)
    if config.tunnelling:
        tun_br = (existing.tun_br if existing and existing.tun_br
                  else factory(config.tunnel_bridge, p.BR_TUN))
        tun_br.ensure()
        bridges.tun_br = tun_br
        bridges.patch_tun_ofport = int_br.add_patch_port(config.int_peer_patch_port,
                                                         config.tun_peer_patch_port)
        bridges.patch_int_ofport = tun_br.add_patch_port(config.tun_peer_patch_port,
                                                         config.int_peer_patch_port)
    mappings = []
    for physnet, name in sorted(config.bridge_mappings.items()):
        phys_br = (existing.phys.get(physnet) if existing else None) or factory(name,
                                                                             p.BR_PHYS)
        phys_br.ensure()
        bridges.phys[physnet] = phys_br
        int_name, phys_name = _patch_name("int-", name), _patch_name("phy-", name)
        mappings.append(BridgeMapping(physnet, name, int_br.add_patch_port(int_name, phys_name),
                                      phys_br.add_patch_port(phys_name, int_name)))
    bridges.mappings = tuple(mappings)
    return bridges


def plan_tunnels(local_ip: str | None, tunnel_types: Iterable[str],
                 local_vlans: Mapping[str, LocalVlan], fdb: FdbTable,
                 endpoints: Iterable[tuple[str, str]] = (),
                 l2_population: bool = True) -> frozenset[tuple[str, str]]:
    """(tunnel_type, remote_ip) pairs that need a tunnel port.

    With l2pop, only remotes that share a local network (they appear in its FDB); without,
    every known endpoint of every tunnel type this agent serves (``tunnel_sync``).
    """
    types = set(tunnel_types)
    if not l2_population:
        return frozenset((t, ip) for t, ip in endpoints if t in types and ip != local_ip)
    wanted = set()
    for network_id, vlan in local_vlans.items():
        if vlan.network_type not in types:
            continue
        for remote_ip in fdb.get(network_id, {}):
            if remote_ip != local_ip:
                wanted.add((vlan.network_type, remote_ip))
    return frozenset(wanted)


class TunnelPorts:
    """The tunnel ports of br-tun, kept equal to a plan: create first, delete later."""

    def __init__(self, config: TopologyConfig) -> None:
        self.config = config
        self.ports: dict[tuple[str, str], TunnelPort] = {}

    def _options(self, tunnel_type: str) -> dict[str, str]:
        if tunnel_type == "vxlan" and self.config.vxlan_udp_port != DEFAULT_VXLAN_PORT:
            return {"dst_port": str(self.config.vxlan_udp_port)}
        return {}

    def add_missing(self, tun_br: Bridge, wanted: Iterable[tuple[str, str]],
                    refresh: bool = False) -> None:
        """Create the wanted ports that do not exist (all of them again when ``refresh``)."""
        for tunnel_type, remote_ip in sorted(wanted):
            if (tunnel_type, remote_ip) in self.ports and not refresh:
                continue
            ofport = tun_br.add_tunnel_port(tunnel_port_name(tunnel_type, remote_ip),
                                            tunnel_type, remote_ip,
                                            str(self.config.local_ip),
                                            self._options(tunnel_type))
            self.ports[(tunnel_type, remote_ip)] = TunnelPort(remote_ip, tunnel_type, ofport)

    def delete_unwanted(self, tun_br: Bridge, wanted: Iterable[tuple[str, str]]) -> list[str]:
        """Delete ports not in ``wanted`` (after the flows using them are gone)."""
        keep = set(wanted)
        gone = []
        for key in sorted(set(self.ports) - keep):
            name = tunnel_port_name(*key)
            tun_br.delete_port(name)
            del self.ports[key]
            gone.append(name)
        return gone

    def adopt(self, tun_br: Bridge) -> None:
        """Learn tunnel ports left by a previous agent run, so unneeded ones get deleted."""
        for name in tun_br.list_ports():
            prefix = name.split("-", 1)[0]
            if prefix not in p.TUNNEL_TYPES or len(name) != len(prefix) + 9:
                continue
            try:
                remote_ip = _ip_from_hex(name[len(prefix) + 1:])
            except ValueError:
                continue
            ofport = tun_br.get_ofport(name)
            if ofport is not None:
                self.ports.setdefault((prefix, remote_ip), TunnelPort(remote_ip, prefix, ofport))

    @property
    def current(self) -> tuple[TunnelPort, ...]:
        return tuple(self.ports[key] for key in sorted(self.ports))


def _ip_from_hex(text: str) -> str:
    value = int(text, 16)
    return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))
