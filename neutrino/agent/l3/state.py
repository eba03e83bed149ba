"""The desired host state of one router, computed purely from the model.

:func:`desired` turns a router and the agent's settings into everything the device
adapter (``devices``) must make true in ``qrouter-<id>``: the ``qr-``/``qg-`` devices with
MAC, MTU and addresses (floating IPs as /32 on the gateway device), the default routes
through the external subnets' gateways, the extra routes, the iptables tables, the
floating IPs it serves (for statuses and conntrack) and whether a metadata proxy runs.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from neutrino.agent.l3 import nat
from neutrino.agent.l3.iptables import Tables
from neutrino.agent.l3.model import FloatingIp, Router, RouterPort

NAMESPACE_PREFIX = "qrouter-"
INTERNAL_DEV_PREFIX = "qr-"
EXTERNAL_DEV_PREFIX = "qg-"
DEVICE_NAME_LEN = 14  # prefix + 11 characters of the port id, as Neutron names them

FIP_ACTIVE = "ACTIVE"
FIP_DOWN = "DOWN"
FIP_ERROR = "ERROR"


def namespace_name(router_id: str) -> str:
    return NAMESPACE_PREFIX + router_id


def router_id_of(namespace: str) -> str | None:
    return namespace[len(NAMESPACE_PREFIX):] if namespace.startswith(NAMESPACE_PREFIX) \
        else None


def internal_device(port_id: str) -> str:
    return (INTERNAL_DEV_PREFIX + port_id)[:DEVICE_NAME_LEN]


def external_device(port_id: str) -> str:
    return (EXTERNAL_DEV_PREFIX + port_id)[:DEVICE_NAME_LEN]


def is_router_device(name: str) -> bool:
    return name.startswith((INTERNAL_DEV_PREFIX, EXTERNAL_DEV_PREFIX))


@dataclass(frozen=True)
class Device:
    """A ``qr-``/``qg-`` device: an OVS internal port moved into the namespace."""

    name: str
    port_id: str
    mac: str
    mtu: int
    addresses: frozenset[str]  # ip/prefixlen


@dataclass(frozen=True)
class RouterState:
    """What one router needs on the host."""

    router_id: str
    namespace: str
    devices: tuple[Device, ...]  # interfaces (sorted by port id), then the gateway
    gateway_device: str | None
    default_gateways: tuple[tuple[int, str], ...]  # (ip version, gateway ip)
    routes: frozenset[tuple[str, str]]  # extra routes: (destination cidr, nexthop)
    floating_ips: tuple[tuple[str, str], ...]  # (floating ip, fixed ip) served
    tables: Tables = field(hash=False)
    metadata: bool
    gateway_ips: frozenset[str] = frozenset()  # the gateway port's own addresses
    forwarded_ips: frozenset[str] = frozenset()  # floating IPs with port forwardings

    @property
    def announced(self) -> frozenset[str]:
        """Addresses on the gateway device that neighbours must learn (gratuitous ARP):
        a floating IP that was another router's keeps its old MAC in the neighbours'
        caches until announced, whether it serves a port or port forwardings."""
        return frozenset({ip for ip in self.gateway_ips if ":" not in ip}
                         | {fip for fip, _ in self.floating_ips}
                         | {ip for ip in self.forwarded_ips if ":" not in ip})


@dataclass(frozen=True)
class Settings:
    """The agent settings the desired state depends on."""

    metadata: bool = True  # enable_metadata_proxy and a socket to forward to
    metadata_port: int = 9697
    metadata_access_mark: int = 0x1
    external_ingress_mark: int = 0x2


def _addresses(port: RouterPort) -> frozenset[str]:
    return frozenset(str(ipaddress.ip_interface(f.cidr)) for f in port.fixed_ips)


def _device(port: RouterPort, name: str, extra: frozenset[str] = frozenset()) -> Device:
    return Device(name=name, port_id=port.id, mac=port.mac_address, mtu=port.mtu,
                  addresses=_addresses(port) | extra)


def served_floating_ips(router: Router) -> tuple[FloatingIp, ...]:
    """The associated IPv4 floating IPs, when the router has a gateway to serve them."""
    if router.gw_port is None:
        return ()
    return tuple(f for f in router.floating_ips if f.fixed_ip_address
                 and ipaddress.ip_address(f.floating_ip_address).version == 4)


def default_gateways(gw_port: RouterPort) -> tuple[tuple[int, str], ...]:
    """One default route per IP version: the first external subnet with a gateway."""
    found: dict[int, str] = {}
    for fixed in gw_port.fixed_ips:
        subnet = gw_port.subnet(fixed.subnet_id)
        if subnet and subnet.gateway_ip and fixed.version not in found:
            found[fixed.version] = subnet.gateway_ip
    return tuple(sorted(found.items()))


def desired(router: Router, settings: Settings) -> RouterState:
    """The host state of ``router``."""
    fips = served_floating_ips(router)
    forwardings = router.port_forwardings if router.gw_port else ()
    fip_addresses = frozenset(f"{a}/32" for a in {f.floating_ip_address for f in fips}
                              | {pf.floating_ip_address for pf in forwardings})
    devices = [_device(p, internal_device(p.id)) for p in router.interfaces]
    gateway_device = gateway_ip = None
    gateways: tuple[tuple[int, str], ...] = ()
    gateway_ips: frozenset[str] = frozenset()
    if router.gw_port is not None:
        gateway_device = external_device(router.gw_port.id)
        devices.append(_device(router.gw_port, gateway_device, fip_addresses))
        gateways = default_gateways(router.gw_port)
        gateway_ips = frozenset(f.ip_address for f in router.gw_port.fixed_ips)
        gateway_ip = next((f.ip_address for f in router.gw_port.fixed_ips
                           if f.version == 4), None)
    inputs = nat.NatInputs(gateway_device=gateway_device, gateway_ip=gateway_ip,
                           enable_snat=router.enable_snat, floating_ips=fips,
                           port_forwardings=forwardings)
    nat_settings = nat.NatSettings(
        metadata=settings.metadata, metadata_port=settings.metadata_port,
        metadata_access_mark=settings.metadata_access_mark,
        external_ingress_mark=settings.external_ingress_mark)
    return RouterState(
        router_id=router.id, namespace=namespace_name(router.id), devices=tuple(devices),
        gateway_device=gateway_device, default_gateways=gateways,
        routes=frozenset((r.destination, r.nexthop) for r in router.routes),
        floating_ips=tuple(sorted((f.floating_ip_address, str(f.fixed_ip_address))
                                  for f in fips)),
        tables=nat.compile_rules(inputs, nat_settings), metadata=settings.metadata,
        gateway_ips=gateway_ips,
        forwarded_ips=frozenset(pf.floating_ip_address for pf in forwardings))


def fip_statuses(router: Router) -> dict[str, str]:
    """The status each of the router's floating IPs has once ``desired`` is applied."""
    served = {f.id for f in served_floating_ips(router)}
    return {f.id: FIP_ACTIVE if f.id in served else FIP_DOWN for f in router.floating_ips}
