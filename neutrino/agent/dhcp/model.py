"""The DHCP agent's model of a network: Neutron's network dict as immutable values.

``network_from_dict`` reads the reply of ``get_network_info`` (and the network dicts of
``get_active_networks_info``); everything downstream (rendering, the desired device
state) works on these values, so equal models render equal files.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

DEVICE_OWNER_DHCP = "network:dhcp"
# Ports whose address on a subnet makes that subnet routed (not isolated), as Neutron's.
ROUTER_INTERFACE_OWNERS = frozenset({
    "network:router_interface", "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
})
DHCPV6_STATEFUL = "dhcpv6-stateful"
DHCPV6_STATELESS = "dhcpv6-stateless"
IPV6_SLAAC = "slaac"


@dataclass(frozen=True)
class HostRoute:
    destination: str
    nexthop: str


@dataclass(frozen=True)
class Subnet:
    id: str
    cidr: str
    ip_version: int
    enable_dhcp: bool = True
    gateway_ip: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    ipv6_address_mode: str | None = None
    ipv6_ra_mode: str | None = None

    @property
    def served(self) -> bool:
        """True when dnsmasq gets a DHCP range for this subnet (not for SLAAC-only IPv6)."""
        if not self.enable_dhcp:
            return False
        return self.ip_version == 4 or self.ipv6_address_mode in (
            DHCPV6_STATEFUL, DHCPV6_STATELESS) or self._modes_unset

    @property
    def stateful(self) -> bool:
        """True when dnsmasq hands out addresses (IPv4, DHCPv6 stateful, or unset modes)."""
        return (self.ip_version == 4 or self.ipv6_address_mode == DHCPV6_STATEFUL
                or self._modes_unset)

    @property
    def _modes_unset(self) -> bool:
        # Neutron serves such IPv6 subnets statically, as it did before the modes existed
        return self.ipv6_address_mode is None and self.ipv6_ra_mode is None


@dataclass(frozen=True)
class FixedIp:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True)
class DhcpOpt:
    opt_name: str
    opt_value: str
    ip_version: int = 4


@dataclass(frozen=True)
class Port:
    id: str
    mac_address: str
    fixed_ips: tuple[FixedIp, ...]
    device_owner: str = ""
    device_id: str = ""
    extra_dhcp_opts: tuple[DhcpOpt, ...] = ()
    dns_name: str = ""


@dataclass(frozen=True)
class Network:
    id: str
    mtu: int = 0
    admin_state_up: bool = True
    subnets: tuple[Subnet, ...] = ()
    ports: tuple[Port, ...] = ()

    @property
    def dhcp_subnets(self) -> tuple[Subnet, ...]:
        return tuple(s for s in self.subnets if s.served)

    def subnet(self, subnet_id: str) -> Subnet | None:
        return next((s for s in self.subnets if s.id == subnet_id), None)

    def isolated(self, subnet: Subnet) -> bool:
        """No router interface holds the subnet's gateway address (Neutron's test)."""
        return not any(p.device_owner in ROUTER_INTERFACE_OWNERS and ip.subnet_id == subnet.id
                       and ip.ip_address == subnet.gateway_ip
                       for p in self.ports for ip in p.fixed_ips)


def network_from_dict(data: dict[str, Any]) -> Network:
    """The model of a network dict (``get_network_info``'s reply)."""
    return Network(id=data["id"], mtu=int(data.get("mtu") or 0),
                   admin_state_up=bool(data.get("admin_state_up", True)),
                   subnets=tuple(sorted((subnet_from_dict(s) for s in data.get("subnets", [])),
                                        key=lambda s: s.id)),
                   ports=tuple(sorted((port_from_dict(p) for p in data.get("ports", [])),
                                      key=lambda p: p.id)))


def subnet_from_dict(data: dict[str, Any]) -> Subnet:
    return Subnet(
        id=data["id"], cidr=str(ipaddress.ip_network(data["cidr"], strict=False)),
        ip_version=int(data.get("ip_version") or ipaddress.ip_network(
            data["cidr"], strict=False).version),
        enable_dhcp=bool(data.get("enable_dhcp", True)), gateway_ip=data.get("gateway_ip"),
        dns_nameservers=tuple(data.get("dns_nameservers") or ()),
        host_routes=tuple(HostRoute(r["destination"], r["nexthop"])
                          for r in data.get("host_routes") or ()),
        ipv6_address_mode=data.get("ipv6_address_mode"),
        ipv6_ra_mode=data.get("ipv6_ra_mode"))


def port_from_dict(data: dict[str, Any]) -> Port:
    return Port(
        id=data["id"], mac_address=str(data["mac_address"]).lower(),
        fixed_ips=tuple(FixedIp(ip["subnet_id"], ip["ip_address"])
                        for ip in data.get("fixed_ips") or ()),
        device_owner=data.get("device_owner") or "", device_id=data.get("device_id") or "",
        extra_dhcp_opts=tuple(DhcpOpt(o["opt_name"], str(o["opt_value"]),
                                      int(o.get("ip_version") or 4))
                              for o in data.get("extra_dhcp_opts") or ()),
        dns_name=data.get("dns_name") or "")
