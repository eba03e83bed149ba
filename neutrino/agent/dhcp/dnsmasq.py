"""Pure rendering of a network's dnsmasq: its command line and its files, as Neutron writes them.

Model in (``model.Network`` plus :class:`Settings`), text out; nothing here touches the
host. The process adapter (``process``) writes the files and runs dnsmasq. File names are
Neutron's (``<state_path>/dhcp/<network id>/{host,addn_hosts,opts,leases,pid,interface}``)
and so are the tags: ``subnet-<id>`` on each DHCP range, ``port-<id>`` for ports with
``extra_dhcp_opts``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from neutrino.agent.dhcp.model import Network, Port, Subnet

METADATA_CIDR = "169.254.169.254/32"
IPV4_ANY = "0.0.0.0/0"
# Microsoft's pre-RFC 3442 classless static routes option; Neutron sends both.
MS_CLASSLESS_STATIC_ROUTE = "249"
FILES = ("host", "addn_hosts", "opts")


@dataclass(frozen=True)
class Settings:
    """The dhcp_agent.ini / neutron.conf options rendering depends on."""

    lease_duration: int = 86400  # -1: infinite
    dns_domain: str = "openstacklocal"
    dns_servers: tuple[str, ...] = ()  # dnsmasq_dns_servers: dnsmasq's upstream resolvers
    lease_max: int = 2 ** 24
    enable_isolated_metadata: bool = False
    force_metadata: bool = False
    local_resolv: bool = False
    config_file: str = ""
    renewal_time: int = 0
    rebinding_time: int = 0
    broadcast_reply: bool = False


def conf_file(conf_dir: Path, kind: str) -> Path:
    return conf_dir / kind


# command line --------------------------------------------------------------------------------

def command_line(network: Network, settings: Settings, conf_dir: Path,
                 interface: str) -> list[str]:
    """dnsmasq's argv for ``network`` served on ``interface`` (Neutron's options)."""
    cmd = ["dnsmasq", "--no-hosts"]
    if not settings.local_resolv:
        cmd.append("--no-resolv")
    cmd += [f"--pid-file={conf_dir / 'pid'}",
            f"--dhcp-hostsfile={conf_dir / 'host'}",
            f"--addn-hosts={conf_dir / 'addn_hosts'}",
            f"--dhcp-optsfile={conf_dir / 'opts'}",
            f"--dhcp-leasefile={conf_dir / 'leases'}",
            "--dhcp-match=set:ipxe,175", "--dhcp-userclass=set:ipxe6,iPXE",
            f"--interface={interface}", "--local-service", "--bind-dynamic"]
    ranges, possible = dhcp_ranges(network, settings)
    cmd += ranges
    if network.mtu > 0:  # an unknown MTU is not advertised
        cmd.append(f"--dhcp-option-force=option:mtu,{network.mtu}")
    cmd.append(f"--dhcp-lease-max={min(possible, settings.lease_max)}")
    cmd += _timers(settings)
    cmd.append(f"--conf-file={settings.config_file.strip() or '/dev/null'}")
    cmd += [f"--server={server}" for server in settings.dns_servers]
    if settings.dns_domain:
        cmd.append(f"--domain={settings.dns_domain}")
    if settings.broadcast_reply:
        cmd.append("--dhcp-broadcast")
    return cmd


def dhcp_ranges(network: Network, settings: Settings) -> tuple[list[str], int]:
    """One ``--dhcp-range`` per served subnet, and how many leases they could hold."""
    lease = "infinite" if settings.lease_duration == -1 else f"{settings.lease_duration}s"
    ranges, possible = [], 0
    for subnet in network.dhcp_subnets:
        cidr = ipaddress.ip_network(subnet.cidr)
        if subnet.ip_version == 4:
            mask = str(cidr.netmask)
        elif cidr.prefixlen < 64:  # dnsmasq cannot serve DHCPv6 on a prefix shorter than /64
            continue
        else:
            mask = str(cidr.prefixlen)
        ranges.append(f"--dhcp-range=set:subnet-{subnet.id},{cidr.network_address},static,"
                      f"{mask},{lease}")
        possible += cidr.num_addresses
    return ranges, possible


def _timers(settings: Settings) -> list[str]:
    timers = []
    if settings.renewal_time > 0:
        timers.append(f"--dhcp-option-force=option:T1,{settings.renewal_time}s")
    if settings.rebinding_time > 0:
        timers.append(f"--dhcp-option-force=option:T2,{settings.rebinding_time}s")
    return timers


# host and addn_hosts -------------------------------------------------------------------------

def allocations(network: Network) -> list[tuple[Port, Subnet, str]]:
    """(port, subnet, address) for every address dnsmasq hands out, in a stable order."""
    found = []
    for port in network.ports:
        for fixed in port.fixed_ips:
            subnet = network.subnet(fixed.subnet_id)
            if subnet is not None and subnet.served and subnet.stateful:
                found.append((port, subnet, fixed.ip_address))
    return found


def hostname(address: str) -> str:
    """``host-10-0-0-5`` — Neutron's name for a port without a DNS name."""
    return "host-" + address.replace(".", "-").replace(":", "-")


def fqdn(name: str, settings: Settings) -> str:
    return f"{name}.{settings.dns_domain}" if settings.dns_domain else name


def _port_name(port: Port, address: str) -> str:
    return port.dns_name or hostname(address)


def host_file(network: Network, settings: Settings) -> str:
    """``<mac>,[set:port-<id>,]<fqdn>,<ip>`` per address (IPv6 addresses in brackets)."""
    lines = []
    for port, subnet, address in allocations(network):
        ip = f"[{address}]" if subnet.ip_version == 6 else address
        tag = f"set:port-{port.id}," if port.extra_dhcp_opts else ""
        lines.append(f"{port.mac_address},{tag}{fqdn(_port_name(port, address), settings)},"
                     f"{ip}\n")
    return "".join(lines)


def addn_hosts_file(network: Network, settings: Settings) -> str:
    """``<ip>\\t<fqdn> <hostname>`` per address: what dnsmasq's DNS answers for the ports."""
    lines = []
    for port, _subnet, address in allocations(network):
        name = _port_name(port, address)
        lines.append(f"{address}\t{fqdn(name, settings)} {name}\n")
    return "".join(lines)


def leases_file(network: Network, settings: Settings, now: int) -> str:
    """The leases dnsmasq starts with, so a restart keeps answering known clients at once."""
    expiry = 0 if settings.lease_duration == -1 else now + settings.lease_duration
    return "".join(f"{expiry} {port.mac_address} {address} * *\n"
                   for port, subnet, address in allocations(network) if subnet.ip_version == 4)


# opts ----------------------------------------------------------------------------------------

def format_option(ip_version: int, tag: str, option: str, *values: str) -> str:
    """``tag:<tag>[,tag:<extra>],option[6]:<name>[,value…]``; numeric options stay bare."""
    extra, _, name = option.rpartition(",") if option.startswith("tag:") else ("", "", option)
    if not name.isdigit():
        name = f"{'option' if ip_version == 4 else 'option6'}:{name}"
    return ",".join([f"tag:{tag}", *([extra] if extra else []), name, *values])


def opts_file(network: Network, settings: Settings, dhcp_port: Port | None) -> str:
    """Per-subnet options (router, DNS, static routes), then per-port ``extra_dhcp_opts``."""
    lines: list[str] = []
    for subnet in network.dhcp_subnets:
        lines += subnet_options(network, subnet, settings, dhcp_port)
    for port in network.ports:
        lines += [format_option(opt.ip_version, f"port-{port.id}", opt.opt_name, opt.opt_value)
                  for opt in port.extra_dhcp_opts]
    return "".join(f"{line}\n" for line in lines)


def subnet_options(network: Network, subnet: Subnet, settings: Settings,
                   dhcp_port: Port | None) -> list[str]:
    """The options of one subnet (IPv6 only for DHCPv6 stateful/stateless subnets)."""
    if subnet.ip_version == 6 and subnet.ipv6_address_mode is None:
        return []
    tag = f"subnet-{subnet.id}"
    lines = _dns_options(subnet, tag)
    if subnet.ip_version == 6:
        if settings.dns_domain:
            lines.append(format_option(6, tag, "domain-search", settings.dns_domain))
        return lines
    gateway, routes = _routes(network, subnet, settings, dhcp_port)
    if routes:
        if gateway:
            routes.append(f"{IPV4_ANY},{gateway}")
        lines.append(format_option(4, tag, "classless-static-route", ",".join(routes)))
        lines.append(format_option(4, tag, MS_CLASSLESS_STATIC_ROUTE, ",".join(routes)))
    # an empty router option tells clients there is no gateway
    lines.append(format_option(4, tag, "router", *([gateway] if gateway else [])))
    return lines


def _dns_options(subnet: Subnet, tag: str) -> list[str]:
    """The subnet's DNS servers; none given: dnsmasq announces itself (it serves DNS)."""
    servers = subnet.dns_nameservers
    if not servers:
        return []
    if servers in (("0.0.0.0",), ("::",)):  # Neutron's way to announce no DNS server
        return [format_option(subnet.ip_version, tag, "dns-server")]
    if subnet.ip_version == 6:
        servers = tuple(f"[{s}]" for s in servers)
    return [format_option(subnet.ip_version, tag, "dns-server", ",".join(servers))]


def _routes(network: Network, subnet: Subnet, settings: Settings,
            dhcp_port: Port | None) -> tuple[str | None, list[str]]:
    """The gateway and the classless static routes (``dest,nexthop``) of an IPv4 subnet."""
    gateway = subnet.gateway_ip
    routes = []
    for route in subnet.host_routes:
        if route.destination == IPV4_ANY:
            gateway = gateway or route.nexthop
        else:
            routes.append(f"{route.destination},{route.nexthop}")
    isolated = network.isolated(subnet)
    if settings.force_metadata or (isolated and settings.enable_isolated_metadata):
        # the metadata proxy in the DHCP namespace listens on the DHCP port's address
        own = _address_on(dhcp_port, subnet.id)
        if own:
            routes.append(f"{METADATA_CIDR},{own}")
    elif not isolated and gateway:
        routes.append(f"{METADATA_CIDR},{gateway}")
    # the network's other IPv4 subnets are on-link
    on_link = [f"{s.cidr},0.0.0.0" for s in network.subnets
               if s.ip_version == 4 and s.cidr != subnet.cidr]
    return gateway, on_link + routes


def _address_on(port: Port | None, subnet_id: str) -> str | None:
    if port is None:
        return None
    return next((ip.ip_address for ip in port.fixed_ips if ip.subnet_id == subnet_id), None)
