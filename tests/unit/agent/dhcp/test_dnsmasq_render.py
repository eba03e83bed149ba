"""Rendering of dnsmasq's command line and files: golden text in Neutron's format."""

from __future__ import annotations

import uuid
from pathlib import Path

from neutrino.agent.dhcp import dnsmasq
from neutrino.agent.dhcp.model import network_from_dict
from neutrino.agent.dhcp.state import dhcp_device_id

NET = "11111111-2222-4333-8444-555555555555"
S4 = "aaaaaaaa-0000-4000-8000-000000000004"
S6 = "aaaaaaaa-0000-4000-8000-000000000006"
DHCP = "dddddddd-0000-4000-8000-000000000001"
VM = "cccccccc-0000-4000-8000-000000000001"
ROUTER = "eeeeeeee-0000-4000-8000-000000000001"
CONF = Path("/var/lib/neutron/dhcp") / NET


def _network(router: bool = False, v6_mode: str | None = "dhcpv6-stateful") -> dict:
    ports = [
        {"id": DHCP, "mac_address": "fa:16:3e:00:00:02", "device_owner": "network:dhcp",
         "device_id": dhcp_device_id(NET, "node1"),
         "fixed_ips": [{"subnet_id": S4, "ip_address": "10.0.0.2"},
                       {"subnet_id": S6, "ip_address": "2001:db8::2"}]},
        {"id": VM, "mac_address": "FA:16:3E:00:00:05", "device_owner": "compute:nova",
         "fixed_ips": [{"subnet_id": S4, "ip_address": "10.0.0.5"},
                       {"subnet_id": S6, "ip_address": "2001:db8::5"}],
         "extra_dhcp_opts": [{"opt_name": "bootfile-name", "opt_value": "pxelinux.0",
                              "ip_version": 4}]},
    ]
    if router:
        ports.append({"id": ROUTER, "mac_address": "fa:16:3e:00:00:01",
                      "device_owner": "network:router_interface",
                      "fixed_ips": [{"subnet_id": S4, "ip_address": "10.0.0.1"}]})
    return {"id": NET, "mtu": 1450, "admin_state_up": True, "ports": ports, "subnets": [
        {"id": S4, "cidr": "10.0.0.0/24", "ip_version": 4, "enable_dhcp": True,
         "gateway_ip": "10.0.0.1", "dns_nameservers": ["8.8.8.8", "8.8.4.4"],
         "host_routes": [{"destination": "192.168.7.0/24", "nexthop": "10.0.0.9"}]},
        {"id": S6, "cidr": "2001:db8::/64", "ip_version": 6, "enable_dhcp": True,
         "gateway_ip": "2001:db8::1", "dns_nameservers": [], "host_routes": [],
         "ipv6_address_mode": v6_mode, "ipv6_ra_mode": v6_mode},
    ]}


def test_command_line() -> None:
    network = network_from_dict(_network())
    settings = dnsmasq.Settings(dns_servers=("9.9.9.9",))
    assert dnsmasq.command_line(network, settings, CONF, "tapdddddddd-00") == [
        "dnsmasq", "--no-hosts", "--no-resolv",
        f"--pid-file={CONF}/pid", f"--dhcp-hostsfile={CONF}/host",
        f"--addn-hosts={CONF}/addn_hosts", f"--dhcp-optsfile={CONF}/opts",
        f"--dhcp-leasefile={CONF}/leases", "--dhcp-match=set:ipxe,175",
        "--dhcp-userclass=set:ipxe6,iPXE", "--interface=tapdddddddd-00",
        "--local-service", "--bind-dynamic",
        f"--dhcp-range=set:subnet-{S4},10.0.0.0,static,255.255.255.0,86400s",
        f"--dhcp-range=set:subnet-{S6},2001:db8::,static,64,86400s",
        "--dhcp-option-force=option:mtu,1450", f"--dhcp-lease-max={2 ** 24}",
        "--conf-file=/dev/null", "--server=9.9.9.9", "--domain=openstacklocal"]


def test_slaac_subnet_gets_no_range_and_infinite_lease() -> None:
    network = network_from_dict(_network(v6_mode="slaac"))
    cmd = dnsmasq.command_line(network, dnsmasq.Settings(lease_duration=-1), CONF, "tap0")
    assert [a for a in cmd if a.startswith("--dhcp-range")] == [
        f"--dhcp-range=set:subnet-{S4},10.0.0.0,static,255.255.255.0,infinite"]
    assert "--dhcp-lease-max=256" in cmd


def test_host_and_addn_hosts_files() -> None:
    network = network_from_dict(_network())
    settings = dnsmasq.Settings()
    assert dnsmasq.host_file(network, settings) == (
        "fa:16:3e:00:00:05,set:port-" + VM + ",host-10-0-0-5.openstacklocal,10.0.0.5\n"
        "fa:16:3e:00:00:05,set:port-" + VM + ",host-2001-db8--5.openstacklocal,"
        "[2001:db8::5]\n"
        "fa:16:3e:00:00:02,host-10-0-0-2.openstacklocal,10.0.0.2\n"
        "fa:16:3e:00:00:02,host-2001-db8--2.openstacklocal,[2001:db8::2]\n")
    assert dnsmasq.addn_hosts_file(network, settings).splitlines()[0] == (
        "10.0.0.5\thost-10-0-0-5.openstacklocal host-10-0-0-5")


def test_opts_isolated_subnet_with_metadata() -> None:
    network = network_from_dict(_network())
    dhcp_port = next(p for p in network.ports if p.id == DHCP)
    settings = dnsmasq.Settings(enable_isolated_metadata=True)
    routes = "192.168.7.0/24,10.0.0.9,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1"
    assert dnsmasq.opts_file(network, settings, dhcp_port) == (
        f"tag:subnet-{S4},option:dns-server,8.8.8.8,8.8.4.4\n"
        f"tag:subnet-{S4},option:classless-static-route,{routes}\n"
        f"tag:subnet-{S4},249,{routes}\n"
        f"tag:subnet-{S4},option:router,10.0.0.1\n"
        f"tag:subnet-{S6},option6:domain-search,openstacklocal\n"
        f"tag:port-{VM},option:bootfile-name,pxelinux.0\n")


def test_opts_routed_subnet_sends_metadata_to_the_router() -> None:
    network = network_from_dict(_network(router=True))
    dhcp_port = next(p for p in network.ports if p.id == DHCP)
    settings = dnsmasq.Settings(enable_isolated_metadata=True)
    opts = dnsmasq.opts_file(network, settings, dhcp_port).splitlines()
    assert (f"tag:subnet-{S4},option:classless-static-route,192.168.7.0/24,10.0.0.9,"
            "169.254.169.254/32,10.0.0.1,0.0.0.0/0,10.0.0.1") in opts


def test_no_dns_servers_means_dnsmasq_announces_itself() -> None:
    data = _network()
    data["subnets"][0]["dns_nameservers"] = []
    data["subnets"][0]["host_routes"] = []
    data["subnets"][0]["gateway_ip"] = None
    network = network_from_dict(data)
    opts = dnsmasq.opts_file(network, dnsmasq.Settings(), None)
    # no dns-server option (dnsmasq then gives its own address), an empty router option
    assert opts.splitlines()[0] == f"tag:subnet-{S4},option:router"
    assert "dns-server" not in opts


def test_leases_file_and_hostname() -> None:
    network = network_from_dict(_network())
    text = dnsmasq.leases_file(network, dnsmasq.Settings(), now=1000)
    assert text == "87400 fa:16:3e:00:00:05 10.0.0.5 * *\n87400 fa:16:3e:00:00:02 10.0.0.2 * *\n"
    assert dnsmasq.hostname("10.0.0.5") == "host-10-0-0-5"


def test_device_id_is_neutrons() -> None:
    host_uuid = uuid.uuid5(uuid.NAMESPACE_DNS, "node1")
    assert dhcp_device_id(NET, "node1.example.org") == f"dhcp{host_uuid}-{NET}"
