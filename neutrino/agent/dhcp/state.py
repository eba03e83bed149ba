"""The desired host state of one network, computed purely from the model.

:func:`desired` turns a network, its DHCP port and the settings into everything the
device adapter (``devices``) must make true: the namespace, the device and its addresses,
the default route, dnsmasq's command line and files, and the addresses dnsmasq hands out
(whose disappearance means a lease to release), and whether the namespace runs a
metadata proxy.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from pathlib import Path

from neutrino.agent.dhcp import dnsmasq
from neutrino.agent.dhcp.interface import device_name
from neutrino.agent.dhcp.model import DEVICE_OWNER_DHCP, Network, Port

NAMESPACE_PREFIX = "qdhcp-"
METADATA_ADDRESS = "169.254.169.254/32"


def namespace_name(network_id: str) -> str:
    return NAMESPACE_PREFIX + network_id


def dhcp_device_id(network_id: str, host: str) -> str:
    """``dhcp<uuid5 of the short host name>-<network id>``: stable across agent restarts."""
    host_uuid = uuid.uuid5(uuid.NAMESPACE_DNS, host.split(".")[0])
    return f"dhcp{host_uuid}-{network_id}"


def find_dhcp_port(network: Network, device_id: str) -> Port | None:
    return next((p for p in network.ports if p.device_id == device_id
                 and p.device_owner == DEVICE_OWNER_DHCP), None)


def wants_dhcp(network: Network) -> bool:
    """Neutron runs DHCP for an administratively up network with a DHCP-enabled subnet."""
    return network.admin_state_up and bool(network.dhcp_subnets)


@dataclass(frozen=True)
class NetworkState:
    """What one network needs on the host."""

    network_id: str
    namespace: str
    port_id: str
    mac: str
    interface: str
    mtu: int
    addresses: frozenset[str]  # ip/prefixlen on the device
    gateway: str | None  # IPv4 default route of the namespace
    conf_dir: Path
    cmdline: tuple[str, ...]
    files: tuple[tuple[str, str], ...]  # (name, text): host, addn_hosts, opts
    allocations: frozenset[tuple[str, str]]  # (ip, mac) in the host file
    ports: frozenset[str]  # ids of the ports in the host file
    leases: str  # the lease file a fresh dnsmasq starts from
    metadata: bool = False  # a metadata proxy listens on 169.254.169.254:80 in the namespace


def desired(network: Network, port: Port, settings: dnsmasq.Settings,
            confs_dir: Path, now: int) -> NetworkState:
    """The host state of ``network`` served through its DHCP ``port``."""
    interface = device_name(port.id)
    conf_dir = confs_dir / network.id
    allocations = dnsmasq.allocations(network)
    return NetworkState(
        network_id=network.id, namespace=namespace_name(network.id), port_id=port.id,
        mac=port.mac_address, interface=interface, mtu=network.mtu,
        addresses=device_addresses(network, port, settings), gateway=gateway(network),
        conf_dir=conf_dir,
        cmdline=tuple(dnsmasq.command_line(network, settings, conf_dir, interface)),
        files=(("host", dnsmasq.host_file(network, settings)),
               ("addn_hosts", dnsmasq.addn_hosts_file(network, settings)),
               ("opts", dnsmasq.opts_file(network, settings, port))),
        allocations=frozenset((ip, p.mac_address) for p, _s, ip in allocations),
        ports=frozenset(p.id for p, _s, _ip in allocations),
        leases=dnsmasq.leases_file(network, settings, now),
        metadata=serves_metadata(network, settings))


def device_addresses(network: Network, port: Port, settings: dnsmasq.Settings
                     ) -> frozenset[str]:
    """The DHCP port's addresses with their prefix, plus the metadata address if served."""
    found = set()
    for fixed in port.fixed_ips:
        subnet = network.subnet(fixed.subnet_id)
        if subnet is not None and subnet.served:
            prefixlen = ipaddress.ip_network(subnet.cidr).prefixlen
            found.add(f"{fixed.ip_address}/{prefixlen}")
    if serves_metadata(network, settings):
        found.add(METADATA_ADDRESS)  # where the metadata proxy of the namespace listens
    return frozenset(found)


def serves_metadata(network: Network, settings: dnsmasq.Settings) -> bool:
    """True when this namespace answers 169.254.169.254 (isolated or forced metadata)."""
    if settings.force_metadata:
        return True
    return settings.enable_isolated_metadata and any(
        s.ip_version == 4 and network.isolated(s) for s in network.dhcp_subnets)


def gateway(network: Network) -> str | None:
    """The first IPv4 DHCP subnet's gateway: the namespace's default route."""
    return next((s.gateway_ip for s in network.dhcp_subnets
                 if s.ip_version == 4 and s.gateway_ip), None)
