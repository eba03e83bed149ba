"""A fake of the server side of the DHCP agent's RPC: networks in memory, IPAM by counting."""

from __future__ import annotations

import copy
import ipaddress
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any


class FakeRpcError(RuntimeError):
    """The fake server was told to fail."""


def subnet(cidr: str, **extra: Any) -> dict[str, Any]:
    """A subnet dict as Neutron returns it (DHCP on, gateway .1)."""
    net = ipaddress.ip_network(cidr)
    body = {"id": str(uuid.uuid4()), "cidr": cidr, "ip_version": net.version,
            "enable_dhcp": True, "gateway_ip": str(net.network_address + 1),
            "dns_nameservers": [], "host_routes": [], "ipv6_address_mode": None,
            "ipv6_ra_mode": None,
            "allocation_pools": [{"start": str(net.network_address + 2),
                                  "end": str(net.broadcast_address - 1)}]}
    body.update(extra)
    return body


def port(network_id: str, mac: str, fixed_ips: list[tuple[str, str]],
         **extra: Any) -> dict[str, Any]:
    """A compute port dict on ``network_id`` with ``(subnet_id, ip)`` fixed IPs."""
    body = {"id": str(uuid.uuid4()), "network_id": network_id, "mac_address": mac,
            "fixed_ips": [{"subnet_id": s, "ip_address": ip} for s, ip in fixed_ips],
            "device_owner": "compute:nova", "device_id": str(uuid.uuid4()),
            "extra_dhcp_opts": [], "admin_state_up": True}
    body.update(extra)
    return body


@dataclass
class FakeDhcpServer:
    """``DhcpPluginApi`` over in-memory networks; records what the agent reported."""

    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    ready: list[str] = field(default_factory=list)
    released: list[tuple[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail: bool = False
    _macs: Any = field(default_factory=lambda: itertools.count(0x100))
    _lock: Any = field(default_factory=threading.Lock)

    def add_network(self, subnets: list[dict[str, Any]], mtu: int = 1450,
                    network_id: str | None = None) -> dict[str, Any]:
        network = {"id": network_id or str(uuid.uuid4()), "name": "net",
                   "project_id": "p1", "admin_state_up": True, "mtu": mtu,
                   "subnets": subnets, "ports": [], "non_local_subnets": []}
        for sub in subnets:
            sub["network_id"] = network["id"]
        self.networks[network["id"]] = network
        return network

    def _check(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)
        if self.fail:
            raise FakeRpcError(f"{name}: server unreachable")

    def get_active_networks_info(self, enable_dhcp_filter: bool = True
                                 ) -> list[dict[str, Any]]:
        self._check("get_active_networks_info")
        return copy.deepcopy(list(self.networks.values()))

    def get_network_info(self, network_id: str) -> dict[str, Any] | None:
        self._check("get_network_info")
        return copy.deepcopy(self.networks.get(network_id))

    def _next_ip(self, network: dict[str, Any], subnet_id: str) -> str:
        sub = next(s for s in network["subnets"] if s["id"] == subnet_id)
        used = {ip["ip_address"] for p in network["ports"] for ip in p["fixed_ips"]}
        hosts = ipaddress.ip_network(sub["cidr"]).hosts()
        return next(str(ip) for ip in hosts if str(ip) not in used | {sub["gateway_ip"]})

    def _fixed_ips(self, network: dict[str, Any], wanted: list[dict[str, Any]]
                   ) -> list[dict[str, Any]]:
        return [{"subnet_id": ip["subnet_id"],
                 "ip_address": ip.get("ip_address") or self._next_ip(network, ip["subnet_id"])}
                for ip in wanted]

    def create_dhcp_port(self, port: dict[str, Any]) -> dict[str, Any]:
        self._check("create_dhcp_port")
        body = port["port"]
        network = self.networks[body["network_id"]]
        with self._lock:
            n = next(self._macs)
            mac = f"fa:16:3e:00:{n >> 8 & 0xff:02x}:{n & 0xff:02x}"
            created = {"id": str(uuid.uuid4()), "network_id": network["id"],
                       "mac_address": mac, "device_owner": "network:dhcp",
                       "device_id": body["device_id"], "extra_dhcp_opts": [],
                       "fixed_ips": self._fixed_ips(network, body["fixed_ips"])}
            network["ports"].append(created)
        return copy.deepcopy(created)

    def update_dhcp_port(self, port_id: str, port: dict[str, Any]) -> dict[str, Any]:
        self._check("update_dhcp_port")
        network = self.networks[port["port"]["network_id"]]
        found = next(p for p in network["ports"] if p["id"] == port_id)
        found["fixed_ips"] = self._fixed_ips(network, port["port"]["fixed_ips"])
        return copy.deepcopy(found)

    def release_dhcp_port(self, network_id: str, device_id: str) -> None:
        self._check("release_dhcp_port")
        self.released.append((network_id, device_id))
        network = self.networks.get(network_id)
        if network is not None:
            network["ports"] = [p for p in network["ports"] if p["device_id"] != device_id]

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None:
        self._check("dhcp_ready_on_ports")
        with self._lock:
            self.ready.extend(port_ids)
