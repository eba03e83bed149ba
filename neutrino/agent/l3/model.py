"""The L3 agent's view of a router: immutable values parsed from ``sync_routers`` dicts.

The server sends Neutron's router dict (``gw_port``, ``_interfaces``, ``_floatingips``,
``_port_forwardings``; see the L3 RPC contract); everything else in the agent works on
these frozen values, so the desired-state compiler is pure and comparable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEVICE_OWNER_ROUTER_INTF = "network:router_interface"
DEVICE_OWNER_ROUTER_GW = "network:router_gateway"


@dataclass(frozen=True)
class Subnet:
    id: str
    cidr: str
    gateway_ip: str | None
    ip_version: int


@dataclass(frozen=True)
class FixedIp:
    subnet_id: str
    ip_address: str
    prefixlen: int

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.ip_address).version

    @property
    def cidr(self) -> str:
        """``ip/prefixlen`` as the device carries it."""
        return f"{self.ip_address}/{self.prefixlen}"


@dataclass(frozen=True)
class RouterPort:
    """A router's interface or gateway port, with its network's MTU and its subnets."""

    id: str
    network_id: str
    mac_address: str
    mtu: int
    fixed_ips: tuple[FixedIp, ...]
    subnets: tuple[Subnet, ...]

    def subnet(self, subnet_id: str) -> Subnet | None:
        return next((s for s in self.subnets if s.id == subnet_id), None)


@dataclass(frozen=True)
class FloatingIp:
    id: str
    floating_ip_address: str
    fixed_ip_address: str | None
    port_id: str | None
    status: str


@dataclass(frozen=True)
class PortForwarding:
    id: str
    floatingip_id: str
    floating_ip_address: str
    internal_ip_address: str
    internal_port: int
    external_port: int
    protocol: str


@dataclass(frozen=True)
class Route:
    destination: str
    nexthop: str


@dataclass(frozen=True)
class Router:
    id: str
    admin_state_up: bool
    enable_snat: bool
    gw_port: RouterPort | None
    interfaces: tuple[RouterPort, ...]
    floating_ips: tuple[FloatingIp, ...]
    port_forwardings: tuple[PortForwarding, ...]
    routes: tuple[Route, ...]


def _subnet(body: Mapping[str, Any]) -> Subnet:
    return Subnet(id=body["id"], cidr=body["cidr"], gateway_ip=body.get("gateway_ip"),
                  ip_version=int(body.get("ip_version")
                                 or ipaddress.ip_network(body["cidr"]).version))


def _fixed_ip(body: Mapping[str, Any], subnets: Mapping[str, Subnet]) -> FixedIp:
    prefixlen = body.get("prefixlen")
    if prefixlen is None:
        subnet = subnets.get(body["subnet_id"])
        # no subnet to take the prefix from: a host address, as Neutron falls back to
        prefixlen = ipaddress.ip_network(subnet.cidr).prefixlen if subnet else \
            ipaddress.ip_address(body["ip_address"]).max_prefixlen
    return FixedIp(subnet_id=body["subnet_id"], ip_address=body["ip_address"],
                   prefixlen=int(prefixlen))


def port_from_dict(body: Mapping[str, Any]) -> RouterPort:
    subnets = tuple(sorted((_subnet(s) for s in body.get("subnets") or ()),
                           key=lambda s: s.id))
    by_id = {s.id: s for s in subnets}
    return RouterPort(
        id=body["id"], network_id=body.get("network_id", ""),
        mac_address=body["mac_address"], mtu=int(body.get("mtu") or 0),
        fixed_ips=tuple(_fixed_ip(f, by_id) for f in body.get("fixed_ips") or ()),
        subnets=subnets)


def _floating_ip(body: Mapping[str, Any]) -> FloatingIp:
    return FloatingIp(id=body["id"], floating_ip_address=body["floating_ip_address"],
                      fixed_ip_address=body.get("fixed_ip_address"),
                      port_id=body.get("port_id"), status=body.get("status") or "DOWN")


def _port_forwarding(body: Mapping[str, Any]) -> PortForwarding:
    return PortForwarding(
        id=body["id"], floatingip_id=body.get("floatingip_id", ""),
        floating_ip_address=body["floating_ip_address"],
        internal_ip_address=body["internal_ip_address"],
        internal_port=int(body["internal_port"]), external_port=int(body["external_port"]),
        protocol=str(body.get("protocol") or "tcp").lower())


def router_from_dict(body: Mapping[str, Any]) -> Router:
    """A router of ``sync_routers``; lists sorted so equal routers compare equal."""
    gw = body.get("gw_port")
    gw_info = body.get("external_gateway_info") or {}
    enable_snat = body.get("enable_snat", gw_info.get("enable_snat", True))
    return Router(
        id=body["id"], admin_state_up=bool(body.get("admin_state_up", True)),
        enable_snat=bool(True if enable_snat is None else enable_snat),
        gw_port=port_from_dict(gw) if gw else None,
        interfaces=tuple(sorted((port_from_dict(p) for p in body.get("_interfaces") or ()),
                                key=lambda p: p.id)),
        floating_ips=tuple(sorted((_floating_ip(f) for f in body.get("_floatingips") or ()),
                                  key=lambda f: f.id)),
        port_forwardings=tuple(sorted(
            (_port_forwarding(p) for p in body.get("_port_forwardings") or ()),
            key=lambda p: p.id)),
        routes=tuple(sorted({Route(r["destination"], r["nexthop"])
                             for r in body.get("routes") or ()},
                            key=lambda r: (r.destination, r.nexthop))))
