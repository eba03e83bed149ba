"""A fake of the server side of the agent RPC, for agent unit tests (no broker, no DB)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neutrino.agent.ovs.server_api import AGENT_ALIVE, AGENT_NEW, RpcError


@dataclass
class FakePlugin:
    """Device details by port id; records device up/down reports; can be made to fail."""

    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    port_status: dict[str, str] = field(default_factory=dict)
    reports: list[dict[str, Any]] = field(default_factory=list)
    tunnel_syncs: list[tuple[str, str]] = field(default_factory=list)
    endpoints: list[dict[str, str]] = field(default_factory=list)
    host_ports: dict[str, list[str]] = field(default_factory=dict)
    # security groups: every port's groups (on any host), the groups, IPs of remote ports
    port_groups: dict[str, list[str]] = field(default_factory=dict)
    security_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    port_ips: dict[str, list[str]] = field(default_factory=dict)
    sg_calls: list[list[str]] = field(default_factory=list)
    fail: bool = False

    def _check(self) -> None:
        if self.fail:
            raise RpcError("server unreachable")

    def get_devices_details_list_and_failed_devices(
            self, devices: list[str], agent_id: str, host: str) -> dict[str, Any]:
        self._check()
        return {"devices": [self.details.get(d, {"device": d}) for d in devices],
                "failed_devices": []}

    def update_device_list(self, devices_up: list[str], devices_down: list[str],
                           agent_id: str, host: str,
                           refresh_tunnels: bool = False) -> dict[str, Any]:
        self._check()
        self.reports.append({"up": list(devices_up), "down": list(devices_down),
                             "refresh_tunnels": refresh_tunnels})
        for device in devices_up:
            self.port_status[device] = "ACTIVE"
        for device in devices_down:
            self.port_status[device] = "DOWN"
        return {"devices_up": devices_up, "failed_devices_up": [],
                "devices_down": devices_down, "failed_devices_down": []}

    def tunnel_sync(self, tunnel_ip: str, tunnel_type: str, host: str) -> dict[str, Any]:
        self._check()
        self.tunnel_syncs.append((tunnel_ip, tunnel_type))
        return {"tunnels": list(self.endpoints)}

    def get_ports_by_vnic_type_and_host(self, vnic_type: str, host: str
                                        ) -> list[dict[str, Any]]:
        self._check()
        return [{"id": p, "status": self.port_status.get(p, "DOWN")}
                for p in self.host_ports.get(host, [])]

    def security_group_info_for_devices(self, devices: list[str]) -> dict[str, Any]:
        """The reply of the contract: each remote group's members once."""
        self._check()
        self.sg_calls.append(list(devices))
        known = [d for d in devices if d in self.port_groups]
        groups = {sg for d in known for sg in self.port_groups[d]}
        remotes = {rule["remote_group_id"] for sg in groups
                   for rule in self.security_groups[sg]["rules"] if rule.get("remote_group_id")}
        return {
            "devices": {d: {"security_groups": list(self.port_groups[d]),
                            "port_security_enabled": bool(self.details.get(d, {}).get(
                                "port_security_enabled", True))} for d in known},
            "security_groups": {sg: self.security_groups[sg] for sg in sorted(groups)},
            "sg_member_ips": {sg: self._members(sg) for sg in sorted(remotes)}}

    def _members(self, sg_id: str) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {"IPv4": [], "IPv6": []}
        for port, groups in self.port_groups.items():
            if sg_id in groups:
                for ip in self._ips(port):
                    members["IPv6" if ":" in ip else "IPv4"].append(ip)
        return members

    def _ips(self, port_id: str) -> list[str]:
        if port_id in self.port_ips:
            return self.port_ips[port_id]
        details = self.details.get(port_id, {})
        return [ip["ip_address"] for ip in details.get("fixed_ips") or ()] + \
            [pair["ip_address"] for pair in details.get("allowed_address_pairs") or ()]

    @property
    def up(self) -> set[str]:
        return {p for p, s in self.port_status.items() if s == "ACTIVE"}


@dataclass
class FakeReports:
    """report_state: 'new' first, then 'alive' unless ``next_result`` says otherwise."""

    states: list[dict[str, Any]] = field(default_factory=list)
    next_result: str | None = None
    fail: bool = False

    def report_state(self, agent_state: dict[str, Any], use_call: bool = True) -> Any:
        if self.fail:
            raise RpcError("broker down")
        self.states.append(agent_state)
        if self.next_result is not None:
            result, self.next_result = self.next_result, None
            return result
        return AGENT_NEW if len(self.states) == 1 else AGENT_ALIVE


def vxlan_details(port_id: str, network_id: str, mac: str, ip: str, vni: int = 5001,
                  **extra: Any) -> dict[str, Any]:
    """Device details as ML2's RPC callback returns them for a bound VXLAN port."""
    return {"device": port_id, "port_id": port_id, "network_id": network_id,
            "mac_address": mac, "admin_state_up": True, "network_type": "vxlan",
            "segmentation_id": vni, "physical_network": None, "mtu": 1450,
            "fixed_ips": [{"subnet_id": "s", "ip_address": ip}], "device_owner": "compute:nova",
            "allowed_address_pairs": [], "port_security_enabled": True, **extra}


def sg_rule(direction: str = "ingress", ethertype: str = "IPv4", protocol: str | None = None,
            port_range_min: int | None = None, port_range_max: int | None = None,
            remote_ip_prefix: str | None = None, remote_group_id: str | None = None,
            rule_id: str = "") -> dict[str, Any]:
    """A rule as the server's ``security_group_info_for_devices`` sends it."""
    return {"id": rule_id or f"{direction}-{ethertype}-{protocol}-{port_range_min}-"
                             f"{remote_ip_prefix}-{remote_group_id}",
            "direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": port_range_min, "port_range_max": port_range_max,
            "remote_ip_prefix": remote_ip_prefix, "remote_group_id": remote_group_id}
